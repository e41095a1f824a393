// `node dist/bench/hit-cost.js [rounds]`: the JavaScript cost of one cache hit,
// without the network. A dnscache-ts service in this process (in-process.ts)
// caches 1,000 names through a real UDP socket, then the engine's handle()
// runs on those queries - parse, lookup, reply bytes, log lines into a real
// sink - in rounds of 500,000; prints the minimum and median per hit. The
// minimum is the figure to compare between versions: this 2-core machine's
// noise only ever adds time. Profile it with `node --cpu-prof`.

import { rawQuery } from '../test/unit/helpers';
import { zoneName } from './backend';
import { withInProcessService } from './in-process';

const PER_ROUND = 500_000;
const NAMES = 1000;

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 16);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`rounds: expected a positive integer, got ${process.argv[2]}`);
  await withInProcessService(async ({ service, sink, ask }) => {
    const queries = Array.from({ length: NAMES }, (_, i) => rawQuery(zoneName(i), 1, { id: i }));
    await ask(queries, 100);
    const engine = service.engine;
    const perHit: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < PER_ROUND; i++) {
        const reply = engine.handle(queries[i % NAMES]!, '127.0.0.1', 40000 + (i & 1023), 'u');
        if (!Buffer.isBuffer(reply)) throw new Error('a warmed-up name was not a cache hit');
        if ((i & 4095) === 0) sink.flush();
      }
      perHit.push(Number(process.hrtime.bigint() - t0) / PER_ROUND);
      await new Promise((r) => setTimeout(r, 20));
    }
    perHit.sort((a, b) => a - b);
    process.stdout.write(
      `hit cost (JS, in process): min ${perHit[0]!.toFixed(0)} ns, median ${perHit[Math.floor(rounds / 2)]!.toFixed(0)} ns over ${rounds} rounds of ${PER_ROUND.toLocaleString('en-US')}\n`,
    );
  });
}

main().catch((err: Error) => {
  process.stderr.write(`hit-cost: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
