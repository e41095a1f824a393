// `node dist/bench/dnsdist.js [--seconds N] [--window W]`: dnscache-ts against
// Debian's dnsdist as a forwarding load balancer, on loopback, both in front
// of the same three upstream processes (test/lab/responder.ts):
// 1. leastOutstanding with the third upstream 50 ms late: each one's share;
// 2. firstAvailable with qps caps (order 1 qps 1000, order 2 qps 2000,
//    order 3 no cap): each one's queries/s against its cap;
// 3. leastOutstanding, the first upstream killed after a third of the run:
//    questions lost (no answer within 2 s) and the tail latency.
// A closed loop of W questions in flight, each a new name (a miss in both:
// dnsdist runs without a packet cache here). CPU per answer is in
// `npm run bench -- --only dnscache,dnsdist`.

import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { freeLoopback } from '../test/lab/addresses';
import { Responder } from '../test/lab/responders';
import { closedLoop, LoadResult } from './policies';
import { Running, startDnscache, startDnsdist, runScript } from './resolvers';

const PORT = 5357;
const UPSTREAM_PORT = 5358;

interface Scenario {
  readonly title: string;
  readonly delays: readonly number[];
  readonly policy: 'leastOutstanding' | 'firstAvailable';
  /** servers/ options and dnsdist newServer() options per upstream. */
  readonly options: readonly { order?: number; qps?: number }[];
  /** Kill the first upstream this far into the run (fraction), or never. */
  readonly killAt?: number;
}

const SCENARIOS: readonly Scenario[] = [
  {
    title: 'leastOutstanding, third upstream +50 ms',
    delays: [0, 0, 50],
    policy: 'leastOutstanding',
    options: [{}, {}, {}],
  },
  {
    title: 'firstAvailable, caps 1000 / 2000 / none',
    delays: [0, 0, 0],
    policy: 'firstAvailable',
    options: [{ order: 1, qps: 1000 }, { order: 2, qps: 2000 }, { order: 3 }],
  },
  {
    title: 'leastOutstanding, first upstream killed at 1/3',
    delays: [0, 0, 0],
    policy: 'leastOutstanding',
    options: [{}, {}, {}],
    killAt: 1 / 3,
  },
];

function serversLine(u: Responder, o: { order?: number; qps?: number }): string {
  return [u.serverLine, o.order !== undefined ? `order=${o.order}` : '', o.qps !== undefined ? `qps=${o.qps}` : '']
    .filter((w) => w !== '')
    .join(' ');
}

async function runOne(s: Scenario, who: 'dnscache-ts' | 'dnsdist', seconds: number, window: number): Promise<string> {
  const ups = await Promise.all(
    s.delays.map(async (d) => new Responder(await freeLoopback(UPSTREAM_PORT), UPSTREAM_PORT, d)),
  );
  await Promise.all(ups.map((u) => u.start()));
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-dnsdist-'));
  const listen = { address: await freeLoopback(PORT), port: PORT };
  let server: Running | null = null;
  try {
    server =
      who === 'dnscache-ts'
        ? await startDnscache(
            dir,
            listen,
            [`policy ${s.policy}`, ...ups.map((u, i) => serversLine(u, s.options[i]!))],
            { forward: true },
          )
        : await startDnsdist(
            dir,
            listen,
            ups.map((u, i) => ({ address: u.address, port: u.port, ...s.options[i] })),
            s.policy,
            false,
          );
    // Both have checked their upstreams at least once before the run.
    await new Promise((r) => setTimeout(r, 1500));
    const killer = s.killAt === undefined ? null : setTimeout(() => void ups[0]!.kill(), s.killAt * seconds * 1000);
    const r: LoadResult = await closedLoop(listen, seconds, window, `${who === 'dnsdist' ? 'dd' : 'dc'}${Date.now()}`);
    if (killer) clearTimeout(killer);
    const counts = await Promise.all(
      ups.map((u, i) => (s.killAt !== undefined && i === 0 ? Promise.resolve(NaN) : u.queries())),
    );
    const shares = counts.map((c) => (Number.isNaN(c) ? 'killed' : `${Math.round(c / seconds)}/s`)).join(' / ');
    return `| ${s.title} | ${who} | ${r.qps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.lost} | ${shares} |`;
  } finally {
    await server?.daemon.stop();
    await Promise.all(ups.map((u) => u.kill()));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: number): number =>
    args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt;
  const seconds = opt('--seconds', 9);
  const window = opt('--window', 50);
  const lines = [
    '| scenario | server | answers/s | p50 ms | p99 ms | lost | queries/s per upstream (1 / 2 / 3) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const s of SCENARIOS)
    for (const who of ['dnscache-ts', 'dnsdist'] as const) lines.push(await runOne(s, who, seconds, window));
  process.stdout.write(lines.join('\n') + '\n');
}

if (require.main === module) runScript(main);
