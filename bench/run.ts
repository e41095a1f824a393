// `npm run bench [-- --quick | --passes N | --seconds N | --only T,T | --workloads W,W | --pin]`:
// the benchmark (--only and --workloads make spot checks: a subset of the
// servers - bare, forwarder, dnscache, rules (with 1,000 rules/ files), workers, routed
// (1,000 routes), unbound, dnsdist, iterative, curve, curve-plain - and of the
// workloads; --pin puts dnsperf and the server under test on two CPUs of their own).
//
// Starts NSD with the generated zone and the TypeScript lab hierarchy, then,
// per pass, each server under test in turn (a fresh process each pass, so
// passes are independent): warm-up, then for each workload a closed-loop
// saturation run (queries/s, CPU per answer) followed by an open-loop run at
// half that rate (latency percentiles). Writes
// bench/results/<date>-<sha>[-dirty][-pinned][-partial].md and prints it. Everything runs on loopback addresses only; every process
// started is stopped at the end, on error and on Ctrl-C.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { freeLoopback } from '../test/lab/addresses';
import { Hierarchy, startFreeHierarchy } from '../test/lab/hierarchy';
import { CURVE_WILD, CURVE_ZONE, NAMES, startNsd, ZONE } from './backend';
import { benchRoutes } from './routes';
import { CurveDnsProcess, curvednsKeygen, curvednsMissing, startCurveDns } from '../test/lab/curvedns';
import { a, ns } from '../test/lab/zone';
import { actionText } from '../src/rules/action';
import { THOUSAND_RULE_NAMES } from './rule-set';
import { coldFile, dnsperf, hotFile, largeFile, mixedFile, percentile, PerfResult } from './load';
import { Memory, renderReport, Sample, TargetResult, Workload } from './report';
import {
  CHECKOUT,
  cpuMicros,
  DNSCACHE_CACHESIZE,
  Endpoint,
  killAllSync,
  pinRoles,
  rssBytes,
  Running,
  startBare,
  startBareForwarder,
  startDnscache,
  startDnsdist,
  startUnbound,
  stopAll,
  UNBOUND_MSG_CACHE,
  UNBOUND_RRSET_CACHE,
} from './resolvers';

const PORT = 5354;
/** Saturation window: enough queued queries to keep one server core busy, few enough to fit a default socket buffer. */
const SAT_WINDOW = 100;
/** Latency window: about what a default socket buffer queues (see load.ts); larger only turns sender catch-up bursts into drops. */
const LAT_WINDOW = 250;
/** Iterative mode asks names under the lab's wildcard *.wild.example.test. */
const LAB_WILD = 'wild.example.test';

interface Options {
  quick: boolean;
  passes: number;
  seconds: number;
  only: string[] | null;
  workloads: Workload[] | null;
  /** dnsperf on CPU 0, the server under test on CPU 1 (taskset). */
  pin: boolean;
}

const TARGET_KEYS = [
  'bare',
  'forwarder',
  'dnscache',
  'rules',
  'workers',
  'routed',
  'unbound',
  'dnsdist',
  'iterative',
  'curve',
  'curve-plain',
];

/** rules/ files of the `rules` target: suffix → action as a file writes it. */
const THOUSAND_RULES: Record<string, string> = Object.fromEntries(
  THOUSAND_RULE_NAMES.map(([suffix, action]) => [suffix, actionText(action)]),
);
const WORKLOADS: Workload[] = ['hot', 'large', 'mixed', 'cold'];

function list(option: string, text: string | undefined, allowed: readonly string[]): string[] {
  const items = (text ?? '').split(',').filter((x) => x !== '');
  const bad = items.find((x) => !allowed.includes(x));
  if (items.length === 0 || bad !== undefined)
    throw new Error(`${option}: expected a comma-separated list of ${allowed.join(', ')}, got ${text ?? 'nothing'}`);
  return items;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, passes: 3, seconds: 10, only: null, workloads: null, pin: false };
  let passes: number | undefined;
  let seconds: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a}: expected a positive integer, got ${argv[i]}`);
      return n;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--passes') passes = num();
    else if (a === '--seconds') seconds = num();
    else if (a === '--only') o.only = list(a, argv[++i], TARGET_KEYS);
    else if (a === '--workloads') o.workloads = list(a, argv[++i], WORKLOADS) as Workload[];
    else if (a === '--pin') o.pin = true;
    else
      throw new Error(
        `unknown option ${a} (expected --quick, --passes N, --seconds N, --only T,T, --workloads W,W, --pin)`,
      );
  }
  if (o.quick) Object.assign(o, { passes: 1, seconds: 3 });
  return { ...o, passes: passes ?? o.passes, seconds: seconds ?? o.seconds };
}

/** Set on Ctrl-C: the runs it cut short fail, and that is not worth reporting. */
let interrupted = false;
const say = (line: string): void => void process.stderr.write(line + '\n');
const k = (x: number): string => Math.round(x).toLocaleString('en-US');

function firstLine(cmd: string, args: string[], match: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return (
    `${r.stdout}\n${r.stderr}`
      .split('\n')
      .find((l) => match.test(l))
      ?.trim() ?? 'unknown'
  );
}

function gitDescribe(): { sha: string; dirty: boolean } {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: CHECKOUT, encoding: 'utf8' }).trim();
    // GIT_OPTIONAL_LOCKS=0: a read-only look, no index refresh written back.
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: CHECKOUT,
      encoding: 'utf8',
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
    });
    return { sha, dirty: status.trim() !== '' };
  } catch {
    return { sha: 'nogit', dirty: false };
  }
}

interface Target {
  key: TargetResult['key'];
  label: string;
  workloads: Workload[];
  /** Measure RSS growth over the 100k-name warm-up. */
  memory: boolean;
  /** The hot workload's query file. */
  hot: string;
  /** The cold workload's names: under this wildcard, and NXDOMAIN names under this zone (default: the NSD zone's). */
  cold?: { wild: string; zone: string };
  start(dir: string, listen: Endpoint): Promise<Running>;
}

/** For --pin: the first two CPUs this process may run on (its affinity list), and taskset to put processes there. */
function pinnedCpus(): { load: number; server: number } {
  if (spawnSync('taskset', ['--version']).status !== 0) throw new Error('--pin: needs taskset (util-linux)');
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
  const cpus = list.split(',').flatMap((range) => {
    const [a, b = a] = range.split('-').map(Number);
    return Number.isInteger(a) && Number.isInteger(b) ? Array.from({ length: b! - a! + 1 }, (_, i) => a! + i) : [];
  });
  if (cpus.length < 2) throw new Error(`--pin: needs 2 CPUs to run on, this process may use ${list || 'unknown'}`);
  return { load: cpus[0]!, server: cpus[1]! };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const pinned = opts.pin ? pinnedCpus() : null;
  if (pinned) pinRoles(pinned);
  const started = Date.now();
  const work = mkdtempSync(join(os.tmpdir(), 'dnscache-bench-'));
  let lab: Hierarchy | undefined;
  let curvedns: CurveDnsProcess | null = null;
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await stopAll();
    await curvedns?.stop();
    await lab?.stop();
    rmSync(work, { recursive: true, force: true });
  };
  // Ctrl-C: the children in our process group get SIGINT too, but NSD and
  // Unbound are stopped (and waited for) explicitly all the same.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      interrupted = true;
      say(`\nbench: ${sig}, stopping everything`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  process.on('exit', () => {
    killAllSync();
    rmSync(work, { recursive: true, force: true });
  });

  try {
    // The tree as built now is what is measured: a file changed during the run must not name the report.
    const git = gitDescribe();
    const loadBefore = os.loadavg();
    say(`bench: ${opts.passes} pass(es), ${opts.seconds} s per run, work dir ${work}`);
    lab = await startFreeHierarchy(0, { ipv6: false });
    say(`bench: lab hierarchy on 127.${lab.net}.x.y port ${lab.port}`);
    // DNSCurve: CurveDNS on the lab's port (dnscache asks learned servers there)
    // in front of NSD, which also serves CURVE_ZONE; the lab's `test` delegates
    // it to CurveDNS under its uz5 name.
    const curveMissing = curvednsMissing();
    const curveKeys = curveMissing === null ? curvednsKeygen() : null;
    const curveAt = curveKeys
      ? { nsName: `uz5${curveKeys.dnsPublic}.ns.${CURVE_ZONE}`, address: await freeLoopback(lab.port) }
      : undefined;
    const nsd = await startNsd(join(work, 'nsd'), { address: await freeLoopback(PORT), port: PORT }, curveAt);
    say(
      `bench: NSD on ${nsd.address}:${nsd.port} serving ${ZONE} (${k(NAMES)} names)${curveAt ? ` and ${CURVE_ZONE}` : ''}`,
    );
    if (curveKeys && curveAt) {
      curvedns = await startCurveDns(curveAt.address, lab.port, nsd.address, nsd.port, curveKeys);
      for (const role of ['tld1', 'tld2'])
        lab
          .server(role)
          .zones.find((z) => z.origin === 'test')!
          .records.push(ns(CURVE_ZONE, curveAt.nsName), a(curveAt.nsName, curveAt.address));
      say(`bench: CurveDNS on ${curveAt.address}:${lab.port} in front of NSD, for ${CURVE_ZONE}`);
    } else say(`bench: no DNSCurve comparison: ${curveMissing}`);
    const labRoots = lab.rootHints;
    const labPort = lab.port;

    const files = {
      hot: hotFile(join(work, 'hot.txt')),
      large: largeFile(join(work, 'large.txt')),
      labHot: hotFile(join(work, 'lab-hot.txt'), LAB_WILD),
      curveHot: hotFile(join(work, 'curve-hot.txt'), CURVE_WILD),
    };
    // Encrypted and plain misses to the same server along the same path: the
    // plain run flags CurveDNS's address ip/-ADDRESS (FLAGEDSERVER).
    // QMIN=0: one upstream query per miss once the zone's delegation is cached.
    const curveTarget = (key: 'curve' | 'curve-plain', label: string, plain: boolean): Target => ({
      key,
      label,
      workloads: ['cold'],
      memory: false,
      hot: files.curveHot,
      cold: { wild: CURVE_WILD, zone: CURVE_ZONE },
      start: (d, l) =>
        startDnscache(
          d,
          l,
          labRoots,
          { forward: false, serverPort: labPort },
          1,
          plain ? { env: { QMIN: '0', FLAGEDSERVER: '1' }, ipFiles: [`-${curveAt!.address}`] } : { env: { QMIN: '0' } },
        ),
    });
    const backend: Endpoint = { address: nsd.address, port: nsd.port };
    const all: Workload[] = WORKLOADS;
    const targets: Target[] = [
      {
        key: 'bare',
        label: 'bare Node responder',
        workloads: ['hot'],
        memory: false,
        hot: files.hot,
        start: (_d, l) => startBare(l),
      },
      {
        key: 'forwarder',
        label: 'bare Node forwarder',
        workloads: ['cold'],
        memory: false,
        hot: files.hot,
        start: (_d, l) => startBareForwarder(l, backend),
      },
      {
        key: 'dnscache',
        label: 'dnscache-ts',
        workloads: all,
        memory: true,
        hot: files.hot,
        start: (d, l) => startDnscache(d, l, [`${backend.address}:${backend.port}`], { forward: true }),
      },
      {
        key: 'rules',
        label: 'dnscache-ts, 1,000 rules',
        workloads: all,
        memory: true,
        hot: files.hot,
        start: (d, l) =>
          startDnscache(d, l, [`${backend.address}:${backend.port}`], { forward: true }, 1, { rules: THOUSAND_RULES }),
      },
      {
        key: 'workers',
        label: 'dnscache-ts, 2 workers',
        workloads: all,
        memory: true,
        hot: files.hot,
        start: (d, l) => startDnscache(d, l, [`${backend.address}:${backend.port}`], { forward: true }, 2),
      },
      {
        key: 'routed',
        label: 'dnscache-ts, 1,000 routes',
        workloads: ['cold'],
        memory: false,
        hot: files.hot,
        start: (d, l) =>
          startDnscache(d, l, [`${backend.address}:${backend.port}`], { forward: true }, 1, {
            files: { routes: benchRoutes(`${backend.address}:${backend.port}`) },
          }),
      },
      {
        key: 'unbound',
        label: 'Unbound',
        workloads: all,
        memory: true,
        hot: files.hot,
        start: (d, l) => startUnbound(d, l, backend),
      },
      {
        key: 'dnsdist',
        label: 'dnsdist',
        workloads: all,
        memory: true,
        hot: files.hot,
        start: (d, l) => startDnsdist(d, l, [backend], 'leastOutstanding', true),
      },
      {
        key: 'iterative',
        label: 'dnscache-ts iterative (lab)',
        workloads: ['hot'],
        memory: false,
        hot: files.labHot,
        start: (d, l) => startDnscache(d, l, labRoots, { forward: false, serverPort: labPort }),
      },
      ...(curvedns
        ? [
            curveTarget('curve', 'dnscache-ts iterative, DNSCurve (CurveDNS)', false),
            curveTarget('curve-plain', 'dnscache-ts iterative, plain (same CurveDNS)', true),
          ]
        : []),
    ];
    for (const t of targets) if (opts.workloads) t.workloads = t.workloads.filter((w) => opts.workloads!.includes(w));
    const chosen = targets.filter((t) => (opts.only === null || opts.only.includes(t.key)) && t.workloads.length > 0);
    targets.splice(0, targets.length, ...chosen);
    const results = new Map<Target['key'], TargetResult>(
      targets.map((t) => [t.key, { key: t.key, label: t.label, samples: {}, memory: [] }]),
    );
    const notes: string[] = [];
    let runNo = 0;

    for (let pass = 1; pass <= opts.passes; pass++) {
      // Alternate the order, so slow drift of the machine favours no one.
      const order = pass % 2 === 1 ? targets : [...targets].reverse();
      for (const t of order) {
        const dir = join(work, `${t.key}-${pass}`);
        mkdirSync(dir, { recursive: true });
        const srv = await t.start(dir, { address: await freeLoopback(PORT), port: PORT });
        const pid = srv.daemon.pid;
        const res = results.get(t.key)!;
        const out = (): string => join(work, `dnsperf-${++runNo}.out`);
        // Names of the zone must get NOERROR, others may get NXDOMAIN. A
        // misconfigured server answers fast and wrong (Unbound's built-in
        // NXDOMAIN for test. did), so a wrong code in the warm-up stops the run.
        const check = (what: string, r: PerfResult, allExist: boolean): void => {
          const odd = Object.entries(r.rcodes).filter(([c]) => c !== 'NOERROR' && (allExist || c !== 'NXDOMAIN'));
          const msg = `${t.label}, ${what}: unexpected response codes ${odd.map(([c, n]) => `${c} ${n}`).join(', ')}`;
          if (odd.length > 0 && what === 'warm-up') throw new Error(`${msg} (misconfigured server?)`);
          if (odd.length > 0) notes.push(`pass ${pass}, ${msg}`);
          if (r.endOfFile && what !== 'warm-up')
            notes.push(`pass ${pass}, ${t.label}, ${what}: the query file ran out before the time limit (shorter run)`);
        };

        // Warm-up: every name of the zone once (RSS measured around it), or the hot names once.
        if (t.memory) {
          const before = rssBytes(pid);
          for (let round = 0; round < 3; round++) {
            const w = await dnsperf({ ...srv, file: files.large, seconds: 600, once: true, window: SAT_WINDOW }, out());
            check('warm-up', w, true);
            if (w.lost === 0) break;
            notes.push(`pass ${pass}, ${t.label}: warm-up round ${round + 1} lost ${w.lost} queries, repeated`);
          }
          const after = rssBytes(pid);
          const m: Memory = { before, after, perName: (after - before) / NAMES };
          res.memory.push(m);
          say(
            `pass ${pass} ${t.label}: RSS ${(before / 1e6).toFixed(1)} -> ${(after / 1e6).toFixed(1)} MB after ${k(NAMES)} names (${k(m.perName)} B/name)`,
          );
        } else {
          check(
            'warm-up',
            await dnsperf({ ...srv, file: t.hot, seconds: 600, once: true, window: SAT_WINDOW }, out()),
            true,
          );
        }

        // Sizes the unique-name files: the hot rate bounds any other, and a
        // target without a hot run (the forwarder) gets a generous guess.
        let hotQps = t.workloads.includes('hot') ? 0 : 100_000;
        for (const w of t.workloads) {
          // Unique-name files are generated per run, sized from the hot rate so they never run out.
          const tag = `${pass}${t.key[0]}${runNo}`;
          const fileFor = (lines: number, phase: string): { file: string; once: boolean } => {
            if (w === 'hot') return { file: t.hot, once: false };
            if (w === 'large') return { file: files.large, once: false };
            const path = join(work, `${w}-${tag}${phase}.txt`);
            return {
              file:
                w === 'mixed'
                  ? mixedFile(path, lines, tag + phase, pass * 1000 + runNo)
                  : coldFile(path, lines, tag + phase, t.cold?.wild, t.cold?.zone),
              once: true,
            };
          };
          const satQ = fileFor(Math.ceil(hotQps * 1.5 * opts.seconds) + 10000, 's');
          const cpu0 = cpuMicros(pid);
          const sat = await dnsperf({ ...srv, ...satQ, seconds: opts.seconds, window: SAT_WINDOW }, out());
          const cpu = cpuMicros(pid) - cpu0;
          check(`${w} saturation`, sat, w === 'hot' || w === 'large');
          if (w === 'hot') hotQps = sat.qps;

          const rate = Math.max(100, Math.round(sat.qps / 2));
          const latQ = fileFor(Math.ceil(rate * 1.1 * opts.seconds) + 10000, 'l');
          const lat = await dnsperf({ ...srv, ...latQ, seconds: opts.seconds, rate, window: LAT_WINDOW }, out());
          check(`${w} latency`, lat, w === 'hot' || w === 'large');
          for (const q of [satQ, latQ]) if (q.once) unlinkSync(q.file);

          const l = lat.latencies!;
          const s: Sample = {
            qps: sat.qps,
            cpuUs: cpu / sat.completed,
            core: cpu / 1e6 / sat.runTime,
            satLost: sat.lost,
            satSent: sat.sent,
            rate,
            achieved: lat.qps,
            p50: percentile(l, 0.5),
            p99: percentile(l, 0.99),
            p999: percentile(l, 0.999),
            latLost: lat.lost,
            latSent: lat.sent,
          };
          (res.samples[w] ??= []).push(s);
          if (sat.lost > 0.01 * sat.sent) {
            notes.push(
              `pass ${pass}, ${t.label}, ${w}: ${((100 * sat.lost) / sat.sent).toFixed(1)}% of the queries were lost at saturation (each holds a window slot for the 1 s timeout), so this row is not a steady state`,
            );
          }
          say(
            `pass ${pass} ${t.label} ${w}: ${k(s.qps)} q/s, ${s.cpuUs.toFixed(1)} µs CPU/answer, ${s.core.toFixed(2)} cores, lost ${s.satLost}; ` +
              `at ${k(rate)} q/s p50 ${k(s.p50)} p99 ${k(s.p99)} p99.9 ${k(s.p999)} µs, lost ${s.latLost}`,
          );
        }
        await srv.daemon.stop();
      }
    }

    const loadAfter = os.loadavg();
    if (loadBefore[0]! > 0.5) {
      notes.push(
        `The machine was not idle when the run started (load average ${loadBefore[0]!.toFixed(2)} on ${os.cpus().length} CPUs): other processes competed for the cores, so treat the numbers, especially tail latencies and losses, as noisy.`,
      );
    }
    const date = new Date().toISOString().slice(0, 10);
    const cpus = os.cpus();
    const la = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
    const report = renderReport({
      title: `dnscache-ts benchmark ${date} (${git.sha}${git.dirty ? ', uncommitted changes in the tree' : ''})${opts.pin ? ' - pinned (--pin)' : ''}${opts.quick ? ' - quick smoke run' : ''}${opts.only || opts.workloads ? ' - partial run' : ''}`,
      machine: [
        ['CPUs (nproc)', String(cpus.length)],
        ['CPU model', cpus[0]?.model ?? 'unknown'],
        ['memory', `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`],
        ['kernel', `${os.type()} ${os.release()}`],
        ['node', process.version],
        ['unbound', firstLine('unbound', ['-V'], /^Version/)],
        ['nsd', firstLine('nsd', ['-v'], /^NSD version/)],
        ['dnsperf', firstLine('dnsperf', ['-h'], /^Version/)],
        ['load average (1/5/15 min) before / after', `${la(loadBefore)} / ${la(loadAfter)}`],
        ['wall time', `${((Date.now() - started) / 60000).toFixed(1)} min`],
      ],
      method: [
        `Everything on loopback: NSD ${nsd.address}:${nsd.port} serves ${ZONE} (${k(NAMES)} names: A records, every tenth a CNAME to the previous name, a wildcard *.w.${ZONE}, NXDOMAIN for the rest; TTL 1 day), one server process, no rate limiting.`,
        `dnscache-ts: its own CLI (dist/src/cli/dnscache.js), FORWARDONLY, servers/@ = NSD, CACHESIZE=${DNSCACHE_CACHESIZE}, IPSEND=127.0.0.1, logging ON as in production (a line per query), stderr read from a pipe and discarded.`,
        `dnscache-ts, 1,000 rules: the same with 1,000 rules/ files (bench/rule-set.ts: drop, refuse, nxdomain, truncate and qps rules for abuseN under bench.test, example.com, t-ipnet.de, test and net), none matching a benchmark name: every question, hits included, is checked against them.`,
        `dnsdist (Debian's, bench/resolvers.ts startDnsdist): NSD as its one backend, leastOutstanding, a packet cache of 200,000 entries (its hits), default health checks, security polling off; CPU summed over its threads.`,
        `dnscache-ts, 2 workers: the same with WORKERS=2 (a primary holding the TCP socket and two worker processes, each with its own SO_REUSEPORT UDP socket and caching CACHESIZE/2)${pinned ? ' (pinned: one CPU for all three)' : ': both cores'}. Its CPU and RSS are summed over the three processes; on 2 cores it shares them with dnsperf (and NSD, for misses), so its queries/s is what the machine has left, and its CPU per answer is the figure to compare.`,
        `Unbound: num-threads 1, msg-cache-size ${UNBOUND_MSG_CACHE}, rrset-cache-size ${UNBOUND_RRSET_CACHE}, forward-zone "." to NSD, do-not-query-localhost no, module-config "iterator" (no validator, no trust anchors), no remote control, so-reuseport no, verbosity 0 (its production default: no per-query log), other settings default.`,
        `dnscache-ts iterative: no FORWARDONLY, servers/@ = the roots of the TypeScript lab hierarchy (test/lab/hierarchy.ts, running inside the benchmark process). Only the hot workload (1,000 names under *.${LAB_WILD}) is measured: misses would measure the lab servers.`,
        `DNSCurve (if curvedns is installed): dnscache-ts iterative from the lab's roots as above, QMIN=0, cold workload only: names under *.${CURVE_WILD} (NOERROR) and NXDOMAIN names under ${CURVE_ZONE}, a zone the lab's \`test\` delegates to uz5<key>.ns.${CURVE_ZONE}, which is CurveDNS (Debian's curvedns, C, libsodium, its key from curvedns-keygen) in front of the same NSD, which serves the zone. "DNSCurve" seals every query (streamlined format); "plain" is the same setup with FLAGEDSERVER=1 and ip/-<CurveDNS's address>, so the very same path (CurveDNS forwards plain queries too) gets plain queries. Compared: the CPU per answer of the dnscache-ts process.`,
        'Bare Node responder (bench/bare-responder.ts): answers every query with a copy of one canned reply with the ID patched; the floor for a Node resolver on node:dgram. Hot workload only.',
        "Bare Node forwarder (bench/bare-forwarder.ts): relays every query to NSD on a fresh socket bound to a random port and connected to NSD, and the first reply back; the floor for a miss in a Node resolver on node:dgram that keeps dnscache's fresh-port-per-query rule. Cold workload only.",
        `Each pass starts a fresh server; warm-up before measuring: all ${k(NAMES)} zone names once (resolvers), or the 1,000 hot names once. The order of servers alternates between passes. ${pinned ? `Pinned (--pin, taskset): dnsperf to CPU ${pinned.load}, the server under test to CPU ${pinned.server} (a WORKERS=2 server: all its processes on that one CPU, so its figures there say nothing about using both cores); NSD unpinned. On a machine with SMT, two CPUs may be threads of one core.` : 'Nothing is pinned to a CPU.'}`,
        `Workloads: hot = 1,000 names, all hits; large = all ${k(NAMES)} names in a fixed random order, all hits; mixed = Zipf (s=1) over the ${k(NAMES)} names plus 5% NXDOMAIN names never asked before; cold = every name never asked before, half under the wildcard (NOERROR), half NXDOMAIN (so NSD works too; it shares the 2 cores).`,
        `Saturation: dnsperf -T 1 -c 10 -q ${SAT_WINDOW} -t 1 for ${opts.seconds} s, closed loop. queries/s = dnsperf's rate of answered queries. CPU = user+sys of the server process (all threads; /proc/PID/stat before and after) divided by answered queries; "server CPU (cores)" = that CPU time / run time (near 1.0: the server is the bottleneck; well below: the load generator or the backend is).`,
        `Latency: dnsperf -Q (half the saturated rate of the same pass) -q ${LAT_WINDOW} -t 2 -v for ${opts.seconds} s: sends paced on a schedule from the start time (open loop; the window of ${LAT_WINDOW} only bounds catch-up bursts to what a default socket buffer holds, see bench/load.ts); percentiles (nearest rank) of the per-query latencies dnsperf reports (µs resolution), lost (timed-out) queries excluded and counted.`,
        `Memory: VmRSS (/proc/PID/status) of the fresh server before the warm-up, and right after all ${k(NAMES)} names were asked once; growth divided by the number of names.`,
        `dnscache-ts / Unbound ratios are taken per pass (both measured in the same run), then median (min-max).`,
      ],
      targets: [...results.values()],
      passes: opts.passes,
      notes,
    });
    const dir = join(CHECKOUT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const partial = opts.quick || opts.only !== null || opts.workloads !== null;
    const path = join(
      dir,
      `${date}-${git.sha}${git.dirty ? '-dirty' : ''}${opts.pin ? '-pinned' : ''}${partial ? '-partial' : ''}.md`,
    );
    writeFileSync(path, report + '\n');
    process.stdout.write(report + '\n');
    say(`bench: report written to ${path}`);
  } finally {
    await cleanup();
  }
}

main().catch((err: Error) => {
  if (interrupted) return;
  say(`bench: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
