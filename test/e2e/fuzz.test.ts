// A quick seeded fuzz pass on every `npm test`: mutated queries over UDP and
// TCP, mutated and poisoned upstream replies, the process checked alive and
// answering after each batch, and the poisoned names unchanged at the end.
// `npm run fuzz -- --count N` runs a long one (test/fuzz/run.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFuzz } from '../fuzz/fuzz';
import { suiteScope } from './fixtures';

describe('fuzz (quick, seeded)', () => {
  const scope = suiteScope();

  it('3,000 mutated queries and 1,000 hostile replies: never down, never poisoned', async (t) => {
    const report = await runFuzz({ queries: 3000, replies: 1000, seed: 20261203 }, scope);
    t.diagnostic(JSON.stringify(report));
    assert.deepEqual(report.failures, []);
    assert.deepEqual(report.poisoned, []);
    assert.ok(report.queries >= 3000 && report.replies >= 1000, JSON.stringify(report));
    assert.ok(report.tcpQueries > 0);
  });
});
