// Load generation: the query files of each workload, and dnsperf runs.
//
// Saturation runs are closed-loop dnsperf (a fixed window of outstanding
// queries, as fast as answers come back). Latency runs are open-loop: dnsperf
// -Q paces sends on a schedule counted from the start time, whatever the
// answers do, and -v prints each answer's latency (µs resolution), from
// which the percentiles are taken; dnsperf 2.10 has no latency histogram
// option, and -v is precise enough, so no separate load generator is needed.
// The window (-q) of a latency run is kept near what a server's default
// socket buffer holds (212992 B, about 256 datagrams): when dnsperf's sender
// has been descheduled it catches up in one burst as large as the window, and
// a burst beyond the buffer is simply dropped by the kernel (measured against
// the bare responder at 40k q/s: 8% lost with -q 10000, 0.01% with -q 200, the
// same p99). The achieved rate is reported, to show the schedule was kept.

import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { NAMES, WILD, ZONE, zoneName } from './backend';
import { spawnDaemon } from './resolvers';

// --- query files ----------------------------------------------------------------

/** Deterministic PRNG (mulberry32), so every run asks the same names. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled(n: number, rand: () => number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

function writeNames(path: string, names: Iterable<string>): string {
  const lines: string[] = [];
  for (const n of names) lines.push(`${n} A`);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** hot: the first 1,000 names of the zone (A records and CNAMEs), all cache hits after one round. */
export function hotFile(path: string, suffix = ZONE): string {
  return writeNames(
    path,
    Array.from({ length: 1000 }, (_, i) => (suffix === ZONE ? zoneName(i) : `h${i}.${suffix}`)),
  );
}

/** large: all NAMES names in a fixed random order (a uniform sweep of the whole cache). */
export function largeFile(path: string): string {
  const order = shuffled(NAMES, prng(1));
  return writeNames(
    path,
    Array.from(order, (i) => zoneName(i)),
  );
}

/** Zipf (s = 1) over the zone's names, popularity ranks assigned in a fixed random order. */
function zipfSampler(rand: () => number): () => number {
  const cdf = new Float64Array(NAMES);
  let sum = 0;
  for (let k = 0; k < NAMES; k++) cdf[k] = sum += 1 / (k + 1);
  const byRank = shuffled(NAMES, prng(2));
  return () => {
    const x = rand() * sum;
    let lo = 0;
    let hi = NAMES - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return byRank[lo]!;
  };
}

/**
 * mixed: `lines` queries, 95% Zipf over the zone's names, 5% names never
 * asked before (NXDOMAIN; `tag` makes them unique to this run).
 */
export function mixedFile(path: string, lines: number, tag: string, seed: number): string {
  const rand = prng(seed);
  const zipf = zipfSampler(rand);
  let nx = 0;
  return writeNames(
    path,
    (function* () {
      for (let i = 0; i < lines; i++) yield rand() < 0.05 ? `nx${nx++}-${tag}.${ZONE}` : zoneName(zipf());
    })(),
  );
}

/** cold: every query a name never asked before: alternately under the wildcard (NOERROR) and NXDOMAIN. */
export function coldFile(path: string, lines: number, tag: string, wild = WILD, zone = ZONE): string {
  return writeNames(
    path,
    (function* () {
      for (let i = 0; i < lines; i++) yield i % 2 === 0 ? `c${i}-${tag}.${wild}` : `x${i}-${tag}.${zone}`;
    })(),
  );
}

// --- dnsperf -------------------------------------------------------------------------

export interface PerfOptions {
  address: string;
  port: number;
  file: string;
  /** Time limit in seconds. */
  seconds: number;
  /** Send each line at most once (unique-name files must never wrap around). */
  once?: boolean;
  /** Open-loop rate in queries/s; per-query latencies are then collected. */
  rate?: number;
  /** Outstanding-query window. */
  window: number;
}

export interface PerfResult {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  /** dnsperf's own elapsed time (s). */
  runTime: number;
  /** Response codes, e.g. { NOERROR: 95, NXDOMAIN: 5 }. */
  rcodes: Record<string, number>;
  /** The run ended because the file ran out (only with `once`). */
  endOfFile: boolean;
  /** Sorted per-query latencies in µs (latency runs only). */
  latencies?: Float64Array;
}

/** Clients (source ports) per run; one dnsperf thread (-T 1) leaves the other core to the server. */
export const CLIENTS = 10;

export function dnsperfArgs(o: PerfOptions): string[] {
  const args = [
    '-s',
    o.address,
    '-p',
    String(o.port),
    '-d',
    o.file,
    '-l',
    String(o.seconds),
    '-c',
    String(CLIENTS),
    '-T',
    '1',
    '-q',
    String(o.window),
  ];
  if (o.once) args.push('-n', '1');
  // Closed loop: a lost query holds its window slot until the timeout, so keep it short.
  args.push('-t', o.rate ? '2' : '1');
  if (o.rate) args.push('-Q', String(Math.round(o.rate)), '-v');
  return args;
}

function stat(text: string, label: string): number {
  const m = new RegExp(`${label}:\\s+([0-9.]+)`).exec(text);
  if (!m) throw new Error(`dnsperf: no "${label}" in its output:\n${text}`);
  return Number(m[1]);
}

/** Percentile (nearest rank) of sorted values. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Runs dnsperf to completion and parses its statistics (and, with a rate, the per-query latencies). */
export async function dnsperf(o: PerfOptions, outPath: string): Promise<PerfResult> {
  // All output goes straight to a file, parsed afterwards: reading verbose
  // lines during the run would take CPU from the server and from dnsperf.
  const fd = openSync(outPath, 'w');
  const d = spawnDaemon('dnsperf', 'dnsperf', dnsperfArgs(o), { stdout: fd, role: 'load' });
  closeSync(fd);
  const code = await new Promise<number | null>((resolve) => {
    if (d.child.exitCode !== null) resolve(d.child.exitCode);
    else d.child.once('exit', (c) => resolve(c));
  });
  const text = readFileSync(outPath, 'utf8');
  if (code !== 0)
    throw new Error(`dnsperf ${dnsperfArgs(o).join(' ')}: exit status ${code}\n${d.output()}${text.slice(-2000)}`);
  const statsAt = text.lastIndexOf('Statistics:');
  const stats = text.slice(statsAt);
  const rcodes: Record<string, number> = {};
  for (const m of (/Response codes:\s+(.*)/.exec(stats)?.[1] ?? '').matchAll(/([A-Z]+) (\d+)/g))
    rcodes[m[1]!] = Number(m[2]);
  const result: PerfResult = {
    sent: stat(stats, 'Queries sent'),
    completed: stat(stats, 'Queries completed'),
    lost: stat(stats, 'Queries lost'),
    qps: stat(stats, 'Queries per second'),
    runTime: stat(stats, 'Run time \\(s\\)'),
    rcodes,
    endOfFile: text.includes('Testing complete (end of file)'),
  };
  if (o.rate) {
    // Lines "> NOERROR h1.bench.test A 0.000123"; timeouts are "> T ..." and count as lost instead.
    const lat: number[] = [];
    for (const line of text.slice(0, statsAt).split('\n')) {
      if (!line.startsWith('> ') || line.startsWith('> T ')) continue;
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(v)) lat.push(v * 1e6);
    }
    result.latencies = Float64Array.from(lat).sort();
  }
  return result;
}
