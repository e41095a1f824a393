// Imports in src/ form no cycle: each module can be understood (and
// changed) from the ones below it. Reads every src/**/*.ts, follows its
// relative imports and re-exports (type-only ones too: a cycle of types is
// a cycle of meaning), and fails naming the first cycle found.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.join(__dirname, '..', '..', '..', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The src files `file` imports (relative specifiers only: packages are not ours). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s+'(\.[^']+)'|require\('(\.[^']+)'\)/g),
  ].map((m) => m[1] ?? m[2]!);
  return specs.flatMap((spec) => {
    const base = path.resolve(path.dirname(file), spec);
    for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')])
      if (fs.existsSync(candidate)) return [candidate];
    return []; // e.g. package.json
  });
}

/** A cycle in the graph as a list of files (first = last), or null. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

describe('imports in src/', () => {
  it('the checker finds a cycle, and its path', () => {
    assert.deepEqual(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['b']],
        ]),
      ),
      ['b', 'c', 'b'],
    );
    assert.equal(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
      null,
    );
  });

  it('form no cycle', () => {
    const files = sources(SRC);
    assert.ok(files.length > 50, `${files.length} files read`);
    const graph = new Map(files.map((f) => [f, importsOf(f)]));
    const edges = [...graph.values()].reduce((n, list) => n + list.length, 0);
    assert.ok(edges > 100, `${edges} imports followed`);
    const cycle = findCycle(graph);
    assert.equal(cycle, null, `a cycle: ${cycle?.map((f) => path.relative(SRC, f)).join(' -> ')}`);
  });
});
