// The servers under test (dnscache-ts forward-only and iterative, Unbound,
// the bare Node responder) and the process plumbing shared with backend.ts.
//
// Every child is registered in `live` the moment it is spawned, so run.ts can
// stop everything at the end, on Ctrl-C or on an error, whatever state the
// run is in. CPU and RSS are read from /proc by PID because that is what the
// kernel charges the process with, independent of how each server counts.

import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_FLAGS } from '../src/service-dir/plan';

/** Where the compiled checkout is (dist/bench/ → checkout root). */
export const CHECKOUT = join(__dirname, '..', '..');

export interface Daemon {
  name: string;
  pid: number;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

const live = new Set<Daemon>();

/** Which CPU runs the load generator and which the server under test (`--pin`); null: the scheduler decides. */
type Role = 'load' | 'server';
let pinning: Record<Role, number> | null = null;

/** Pins every server under test to one CPU and dnsperf to another (taskset), from now on. */
export function pinRoles(cpus: Record<Role, number>): void {
  pinning = cpus;
}

/**
 * Spawns and registers a child; `output` keeps the first few KB of stderr for
 * error messages. stdout goes to `stdout` (a file descriptor) or nowhere.
 */
export function spawnDaemon(
  name: string,
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; stdout?: number; role?: Role } = {},
): Daemon & { output(): string } {
  // taskset execs the command: the pid, and so /proc/PID/stat, are the command's.
  if (pinning !== null && opts.role !== undefined)
    [cmd, args] = ['taskset', ['-c', String(pinning[opts.role]), cmd, ...args]];
  // stderr is a pipe that we drain and discard (after a short head kept for
  // diagnostics): the process logs exactly as it would into multilog, and a
  // full pipe can never block it.
  const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'] });
  let head = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    if (head.length < 4096) head += chunk.toString('utf8', 0, Math.min(chunk.length, 4096));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => undefined); // reported through the readiness probe
  const d = {
    name,
    pid: child.pid ?? -1,
    child,
    output: () => head,
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      live.delete(d);
    },
  };
  live.add(d);
  void exited.then(() => live.delete(d));
  return d;
}

/** Stops every registered child (end of run, Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((d) => d.stop()));
}

/** Last resort from an 'exit' handler, where nothing asynchronous runs any more. */
export function killAllSync(): void {
  for (const d of live) d.child.kill('SIGKILL');
}

// --- readiness ---------------------------------------------------------------

/** A query for `localhost. A` with ID 0x4242: every server here answers it somehow (even NSD, with REFUSED). */
const PROBE = Buffer.from('424201000001000000000000096c6f63616c686f73740000010001', 'hex');

function probeOnce(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 200);
    s.on('message', (m) => done(m.length >= 12 && m.readUInt16BE(0) === 0x4242));
    s.on('error', () => done(false));
    s.send(PROBE, port, address);
  });
}

/** Waits until the daemon answers on UDP; fails early, with its stderr, if it exits. */
export async function waitReady(
  d: Daemon & { output(): string },
  address: string,
  port: number,
  timeoutMs = 15000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (d.child.exitCode !== null || d.child.signalCode !== null) break;
    if (await probeOnce(address, port)) return;
  }
  const why =
    d.child.exitCode !== null
      ? `exited with status ${d.child.exitCode}`
      : `no answer on ${address}:${port} within ${timeoutMs} ms`;
  await d.stop();
  throw new Error(`${d.name}: ${why}\n${d.output().trim()}`);
}

// --- /proc ---------------------------------------------------------------------

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** The process and its descendants (a dnscache-ts with WORKERS is a primary and its workers). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const task of readdirSync(`/proc/${out[i]}/task`)) {
      const kids = readFileSync(`/proc/${out[i]}/task/${task}/children`, 'utf8').trim();
      if (kids !== '') out.push(...kids.split(' ').map(Number));
    }
  }
  return out;
}

/** User+system CPU of the process and its descendants (all their threads), in microseconds. */
export function cpuMicros(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    // Fields after the command name, which may itself contain spaces and ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK; // utime, stime
  }
  return total;
}

/** Resident set size in bytes (VmRSS), summed over the process and its descendants. */
export function rssBytes(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
    total += m ? Number(m[1]) * 1024 : NaN;
  }
  return total;
}

// --- the servers under test -----------------------------------------------------

export interface Endpoint {
  address: string;
  port: number;
}

export interface Running extends Endpoint {
  daemon: Daemon;
}

/** Cache budget for both resolvers: ample for 100k names, so nothing is evicted. */
export const DNSCACHE_CACHESIZE = 100_000_000;
export const UNBOUND_MSG_CACHE = '50m';
export const UNBOUND_RRSET_CACHE = '100m';

/** Node flags for dnscache-ts: those its run scripts give (NODE_FLAGS), then any extra for profiling: BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/p" (or --perf-basic-prof, for perf). */
function nodeFlags(): string[] {
  return [...NODE_FLAGS, ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '')];
}

/**
 * dnscache-ts as in production: its own CLI, logging ON (every query line),
 * ACL via ip/, CACHESIZE 100 MB. `servers` is the servers/@ content;
 * forward-only toward NSD, or iterative from the lab's roots on `serverPort`.
 * IPSEND pins upstream sockets to loopback, so even a bug cannot reach a real network.
 * `workers` > 1 sets WORKERS: a primary and that many worker processes.
 */
export async function startDnscache(
  dir: string,
  listen: Endpoint,
  servers: string[],
  mode: { forward: true } | { forward: false; serverPort: number },
  workers = 1,
  /** More environment, empty ip/ entries, other files in ROOT (e.g. routes: name → text), and rules/ files (suffix → action). */
  extra: {
    env?: Record<string, string>;
    ipFiles?: string[];
    files?: Record<string, string>;
    rules?: Record<string, string>;
  } = {},
): Promise<Running> {
  mkdirSync(join(dir, 'servers'), { recursive: true });
  const rules = extra.rules ?? {};
  if (Object.keys(rules).length > 0) mkdirSync(join(dir, 'rules'), { recursive: true });
  for (const [suffix, action] of Object.entries(rules)) writeFileSync(join(dir, 'rules', suffix), action + '\n');
  mkdirSync(join(dir, 'ip'), { recursive: true });
  for (const [name, text] of Object.entries(extra.files ?? {})) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'servers', '@'), servers.join('\n') + '\n');
  writeFileSync(join(dir, 'ip', '127'), ''); // dnsperf sends from 127.0.0.1
  for (const f of extra.ipFiles ?? []) writeFileSync(join(dir, 'ip', f), '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    IP: listen.address,
    PORT: String(listen.port),
    IPSEND: '127.0.0.1',
    ROOT: dir,
    CACHESIZE: String(DNSCACHE_CACHESIZE),
    WORKERS: String(workers),
    ...(mode.forward ? { FORWARDONLY: '1' } : { SERVERPORT: String(mode.serverPort) }),
    ...extra.env,
  };
  const d = spawnDaemon(
    mode.forward ? 'dnscache-ts' : 'dnscache-ts iterative',
    process.execPath,
    [...nodeFlags(), join(CHECKOUT, 'dist', 'src', 'cli', 'dnscache.js')],
    { env, role: 'server' },
  );
  await waitReady(d, listen.address, listen.port);
  // One worker answering is not all of them serving yet: wait for each to log its start.
  if (workers > 1)
    await waitFor(
      () => (d.output().match(/^starting/gm) ?? []).length >= workers,
      15000,
      `${workers} workers of dnscache-ts to start`,
    );
  return { ...listen, daemon: d };
}

async function waitFor(ok: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Unbound as the issue specifies: one thread, comparable cache, plain forwarder to NSD, nothing else. */
export async function startUnbound(dir: string, listen: Endpoint, backend: Endpoint): Promise<Running> {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    [
      'server:',
      `  interface: ${listen.address}@${listen.port}`,
      `  port: ${listen.port}`,
      '  do-ip6: no',
      '  num-threads: 1',
      '  so-reuseport: no',
      `  msg-cache-size: ${UNBOUND_MSG_CACHE}`,
      `  rrset-cache-size: ${UNBOUND_RRSET_CACHE}`,
      '  do-not-query-localhost: no',
      '  module-config: "iterator"',
      '  outgoing-interface: 127.0.0.1', // upstream traffic can only leave on loopback
      '  access-control: 127.0.0.0/8 allow',
      '  chroot: ""',
      '  username: ""',
      `  directory: "${dir}"`,
      `  pidfile: "${join(dir, 'unbound.pid')}"`,
      '  use-syslog: no',
      '  logfile: ""',
      '  verbosity: 0',
      // Unbound answers the RFC 6761 name test. itself (NXDOMAIN) unless told otherwise.
      '  local-zone: "test." nodefault',
      'remote-control:',
      '  control-enable: no',
      // "." rather than just the zone: no name may ever be looked up from the real root hints.
      'forward-zone:',
      '  name: "."',
      `  forward-addr: ${backend.address}@${backend.port}`,
      '',
    ].join('\n'),
  );
  execFileSync('unbound-checkconf', [conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  const d = spawnDaemon('unbound', 'unbound', ['-d', '-c', conf], { role: 'server' });
  await waitReady(d, listen.address, listen.port);
  return { ...listen, daemon: d };
}

/** The floor for a Node resolver on node:dgram: bench/bare-responder.ts, one canned reply per query. */
export async function startBare(listen: Endpoint): Promise<Running> {
  const d = spawnDaemon(
    'bare responder',
    process.execPath,
    [join(__dirname, 'bare-responder.js'), listen.address, String(listen.port)],
    { role: 'server' },
  );
  await waitReady(d, listen.address, listen.port);
  return { ...listen, daemon: d };
}

export async function startBareForwarder(listen: Endpoint, backend: Endpoint): Promise<Running> {
  const args = [
    join(__dirname, 'bare-forwarder.js'),
    listen.address,
    String(listen.port),
    backend.address,
    String(backend.port),
  ];
  const d = spawnDaemon('bare forwarder', process.execPath, args, { role: 'server' });
  await waitReady(d, listen.address, listen.port);
  return { ...listen, daemon: d };
}

/** One dnsdist backend: where it listens and its newServer() options. */
export interface DnsdistBackend extends Endpoint {
  readonly order?: number;
  readonly weight?: number;
  readonly qps?: number;
}

/**
 * Debian's dnsdist on loopback: the given backends and policy, a packet
 * cache when `cache` (dnsdist's way of answering hits), its default health
 * checks (but of `. SOA`). Security polling is off (it would ask a name of powerdns.com
 * through the system resolver): nothing leaves loopback.
 */
export async function startDnsdist(
  dir: string,
  listen: Endpoint,
  backends: readonly DnsdistBackend[],
  policy: string,
  cache: boolean,
): Promise<Running> {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'dnsdist.conf');
  // Its health check asks `. SOA`, as ours does (responder.ts counts those apart from queries).
  const server = (b: DnsdistBackend): string =>
    `newServer({address="${b.address}:${b.port}", checkName=".", checkType="SOA"${b.order !== undefined ? `, order=${b.order}` : ''}${b.weight !== undefined ? `, weight=${b.weight}` : ''}${b.qps !== undefined ? `, qps=${b.qps}` : ''}})`;
  writeFileSync(
    conf,
    [
      'setSecurityPollSuffix("")',
      `setLocal("${listen.address}:${listen.port}")`,
      'setACL({"127.0.0.0/8"})',
      ...backends.map(server),
      `setServerPolicy(${policy})`,
      ...(cache ? ['pc = newPacketCache(200000, {maxTTL=86400})', 'getPool(""):setCache(pc)'] : []),
      '',
    ].join('\n'),
  );
  const d = spawnDaemon('dnsdist', 'dnsdist', ['--supervised', '--disable-syslog', '-C', conf], { role: 'server' });
  await waitReady(d, listen.address, listen.port);
  return { ...listen, daemon: d };
}

/** Runs a benchmark script's main: its error (stack) on stderr and status 1; every daemon stopped at the end. */
export function runScript(main: () => Promise<void>): void {
  main()
    .catch((err) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exitCode = 1;
    })
    .finally(() => void stopAll());
}
