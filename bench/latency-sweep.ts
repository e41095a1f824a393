// `node dist/bench/latency-sweep.js [--pin] [rate ...]`: p50/p99/p99.9 of
// cache hits (the hot workload) at several fixed open-loop rates, Unbound and
// dnscache-ts side by side, both forwarding to NSD on loopback. The
// benchmark measures latency at half the saturated rate only; this shows
// whether a tail comes from load or is there at any rate - on a 2-core
// machine shared with the load generator, it is there even at a tenth of
// the load, for Unbound too. Default rates: 2,000, 10,000, 25,000, 50,000/s.

import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { freeLoopback } from '../test/lab/addresses';
import { startNsd } from './backend';
import { dnsperf, hotFile, percentile } from './load';
import { pinRoles, Running, startDnscache, startUnbound, stopAll } from './resolvers';

const PORT = 5354;
const SECONDS = 6;
/** As the benchmark's latency runs (run.ts LAT_WINDOW). */
const WINDOW = 250;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const pin = args.includes('--pin');
  const rates = args.filter((a) => a !== '--pin').map(Number);
  for (const r of rates)
    if (!Number.isInteger(r) || r < 1) throw new Error(`rate: expected a positive integer (queries/s), got ${r}`);
  if (rates.length === 0) rates.push(2000, 10000, 25000, 50000);
  // --pin: dnsperf on CPU 0, the servers on CPU 1 (the benchmark's --pin checks the affinity list; this assumes two CPUs).
  if (pin) pinRoles({ load: 0, server: 1 });
  const work = mkdtempSync(join(os.tmpdir(), 'dnscache-latency-'));
  try {
    const nsd = await startNsd(join(work, 'nsd'), { address: await freeLoopback(PORT), port: PORT });
    const hot = hotFile(join(work, 'hot.txt'));
    const servers: Array<[string, Running]> = [
      ['Unbound', await startUnbound(join(work, 'unbound'), { address: await freeLoopback(PORT), port: PORT }, nsd)],
      [
        'dnscache-ts',
        await startDnscache(
          join(work, 'dnscache'),
          { address: await freeLoopback(PORT), port: PORT },
          [`${nsd.address}:${nsd.port}`],
          { forward: true },
        ),
      ],
    ];
    for (const [, s] of servers)
      await dnsperf({ address: s.address, port: s.port, file: hot, seconds: 3, window: 100 }, join(work, 'warm.out'));
    process.stdout.write(
      `hot workload, ${SECONDS} s per run, window ${WINDOW}${pin ? ', pinned' : ''}; latencies in µs\n`,
    );
    for (const rate of rates) {
      for (const [name, s] of servers) {
        const r = await dnsperf(
          { address: s.address, port: s.port, file: hot, seconds: SECONDS, rate, window: WINDOW },
          join(work, 'run.out'),
        );
        const l = r.latencies ?? new Float64Array(0);
        process.stdout.write(
          `${rate} q/s ${name}: p50 ${percentile(l, 0.5)} p99 ${percentile(l, 0.99)} p99.9 ${percentile(l, 0.999)}, lost ${r.lost} of ${r.sent}\n`,
        );
      }
    }
  } finally {
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`latency-sweep: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
