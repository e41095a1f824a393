// `node dist/bench/miss-alloc.js [misses]`: bytes allocated per cache miss,
// by V8's sampling heap profiler (objects collected by GC included). A
// dnscache-ts service in this process (in-process.ts) forwards to NSD;
// after a warm-up, every question is new (half under the zone's wildcard,
// half NXDOMAIN), asked over real UDP with 50 in flight. Unlike CPU time
// on this machine, the figure is stable from run to run, and allocation is
// what feeds the GC a miss pays for. The client's own sends run in this
// process too and are counted (a few hundred bytes per query, the same in
// every version). Writes the profile to miss-alloc.heapprofile
// (open it in Chrome DevTools' Memory tab) when given --profile.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { rawQuery } from '../test/unit/helpers';
import { WILD, ZONE } from './backend';
import { withInProcessService } from './in-process';

interface SamplingNode {
  selfSize: number;
  children: SamplingNode[];
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) =>
    session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))),
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const profile = args.includes('--profile');
  const misses = Number(args.find((a) => a !== '--profile') ?? 20000);
  if (!Number.isInteger(misses) || misses < 1) throw new Error(`misses: expected a positive integer, got ${args[0]}`);
  const questions = (tag: string, n: number): Buffer[] =>
    Array.from({ length: n }, (_, i) =>
      rawQuery(i % 2 === 0 ? `${tag}${i}.${WILD}` : `${tag}nx${i}.${ZONE}`, 1, { id: i & 0xffff }),
    );
  await withInProcessService(async ({ ask }) => {
    await ask(questions('warm', 5000), 50);
    const measured = questions('miss', misses);
    const session = new Session();
    session.connect();
    await post(session, 'HeapProfiler.startSampling', {
      samplingInterval: 512,
      includeObjectsCollectedByMinorGC: true,
      includeObjectsCollectedByMajorGC: true,
    });
    await ask(measured, 50);
    const { profile: sampled } = await post<{ profile: { head: SamplingNode } }>(session, 'HeapProfiler.stopSampling');
    session.disconnect();
    let total = 0;
    const walk = (n: SamplingNode): void => {
      total += n.selfSize;
      n.children.forEach(walk);
    };
    walk(sampled.head);
    process.stdout.write(
      `allocated per miss: ${Math.round(total / misses).toLocaleString('en-US')} bytes (${misses.toLocaleString('en-US')} misses)\n`,
    );
    if (profile) writeFileSync('miss-alloc.heapprofile', JSON.stringify(sampled));
  });
}

main().catch((err: Error) => {
  process.stderr.write(`miss-alloc: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
