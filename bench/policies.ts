// `node dist/bench/policies.js [--seconds N] [--window W]`: how forwarding
// policies share queries among upstreams, and what answers cost the client,
// with three responder processes on loopback (test/lab/responder.ts), the
// third answering 50 ms late. Every query is a fresh name (a cache miss).
// Per policy: answers/s, latency percentiles, each upstream's share.
// Used to choose the default FORWARDONLY policy (docs/benchmarks.md).

import * as dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { freeLoopback } from '../test/lab/addresses';
import { Responder } from '../test/lab/responders';
import { percentile } from './load';
import { startDnscache, runScript } from './resolvers';

const PORT = 5355;
const UPSTREAM_PORT = 5356;

export interface LoadResult {
  answered: number;
  lost: number;
  qps: number;
  p50: number;
  p99: number;
}

/** A closed loop of `window` queries in flight, each a fresh name under `tag`, for `seconds`. */
export async function closedLoop(
  target: { address: string; port: number },
  seconds: number,
  window: number,
  tag: string,
): Promise<LoadResult> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let n = 0;
  let nextId = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const send = (): void => {
    if (performance.now() >= end) return;
    const id = nextId++ & 0xffff;
    const name = `q${n++}.${tag}.bench.test`;
    const labels = name.split('.');
    const q = Buffer.concat([
      Buffer.from([id >> 8, id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
      ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
      Buffer.from([0, 0, 1, 0, 1]),
    ]);
    sentAt.set(id, performance.now());
    socket.send(q, target.port, target.address);
  };
  socket.on('message', (m) => {
    const id = m.readUInt16BE(0);
    const t = sentAt.get(id);
    if (t === undefined) return;
    sentAt.delete(id);
    latencies.push(performance.now() - t);
    send();
  });
  for (let i = 0; i < window; i++) send();
  // Queries lost (no answer within 2 s) are replaced, so the loop keeps its window.
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const [id, t] of sentAt)
      if (now - t > 2000) {
        sentAt.delete(id);
        send();
      }
  }, 200);
  await new Promise((r) => setTimeout(r, seconds * 1000 + 2200));
  clearInterval(sweeper);
  socket.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    answered: latencies.length,
    lost: n - latencies.length - sentAt.size,
    qps: latencies.length / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: number): number =>
    args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt;
  const seconds = opt('--seconds', 10);
  const window = opt('--window', 50);
  const policies = ['rtt', 'leastOutstanding', 'firstAvailable', 'wrandom', 'roundrobin'];
  process.stdout.write(
    `| policy | answers/s | p50 ms | p99 ms | lost | share fast 1 / fast 2 / +50 ms |\n|---|---|---|---|---|---|\n`,
  );
  for (const policy of policies) {
    const upstreams = [
      new Responder(await freeLoopback(UPSTREAM_PORT), UPSTREAM_PORT),
      new Responder(await freeLoopback(UPSTREAM_PORT), UPSTREAM_PORT),
      new Responder(await freeLoopback(UPSTREAM_PORT), UPSTREAM_PORT, 50),
    ];
    await Promise.all(upstreams.map((u) => u.start()));
    const dir = mkdtempSync(join(os.tmpdir(), 'bench-policies-'));
    const listen = { address: await freeLoopback(PORT), port: PORT };
    const dns = await startDnscache(dir, listen, [`policy ${policy}`, ...upstreams.map((u) => u.serverLine)], {
      forward: true,
    });
    try {
      const r = await closedLoop(dns, seconds, window, policy.toLowerCase());
      const counts = await Promise.all(upstreams.map((u) => u.queries()));
      const total = counts.reduce((a, b) => a + b, 0) || 1;
      const share = counts.map((c) => `${((100 * c) / total).toFixed(1)}%`).join(' / ');
      process.stdout.write(
        `| ${policy} | ${r.qps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.lost} | ${share} |\n`,
      );
    } finally {
      await dns.daemon.stop();
      await Promise.all(upstreams.map((u) => u.kill()));
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

if (require.main === module) runScript(main);
