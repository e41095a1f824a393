#!/usr/bin/env node
// dnscache: started with dnscache's environment (IP, ROOT, CACHESIZE, ...)
// and, on standard input, the seed. Fatal errors go to stderr as
// "dnscache: fatal: ..." with exit status 111, as dnscache does.
//
// Start-up order (spec §1.1): configuration (servers/, routes, rules/, ip/ read from ROOT),
// seed, bind the UDP and TCP sockets; then, with UID and GID set, chroot
// into ROOT and drop to UID/GID (groups too), every failure fatal; only
// then the first query is answered. Everything the process will ever need
// is loaded by then: all modules are imported here, at the top, and nothing
// in src requires lazily (the native addons are loaded with their modules)
// but the etcd client, which the service requires when ETCD is set, and
// sodium-native, which the iterative resolver loads for its key pair, both
// before the chroot; and package.json, which platform/version.ts reads at
// its first call (a metrics scrape's dnscache_build_info).
// With WORKERS > 1 this process becomes the primary of that many workers
// (server/workers.ts), each of which goes through the same start-up.

// libuv's thread pool serves only the control socket's file work here
// (dump, load). Its four default threads reserve 8 MB of stack each, data
// segment that counts against DATALIMIT the first time a dump runs: one
// thread, unless the operator says otherwise. libuv reads this when it
// first uses the pool, which nothing has before this line.
process.env.UV_THREADPOOL_SIZE ??= '1';

import { packageVersion } from '../platform/version';
import { fileLimitWarning, openFileLimit } from './bounds';
import { Config, ConfigError, ListenAddress, LogFormat, loadConfig } from '../config';
import { ControlCommands, ControlServer, controlSettings, ControlSettings, startControl } from '../control';
import { LoadCounts } from '../control/dumpfile';
import { WorkerSlices } from '../control/slices';
import { FanOutCommands, LoadBatch } from '../control/fanout';
import { ControlRequest } from '../control/protocol';
import { createLog, fatalLine, Log, StreamSink } from '../log/log';
import { PrivilegeDrop, PrivilegeError, dropPrivileges, privilegeDropFor } from '../privileges/privileges';
import { realClock } from '../platform/clock';
import { Random, readSeed } from '../random/random';
import { Service } from '../server/service';
import { mergeProcessStats, mergeSnapshots, ownProcessStats, renderMetrics } from '../metrics/collect';
import { MetricsServer } from '../metrics/server';
import type { MetricsSnapshot, ProcessStats } from '../stats/snapshot';
import {
  answerQuestions,
  EXIT_FATAL,
  isWorkerProcess,
  Primary,
  receiveSeed,
  reportReady,
  runPrimary,
  workerIndex,
} from '../server/workers';

/** LOGFORMAT, once the configuration is read: fatal errors after that come in it too. */
let logFormat: LogFormat = 'dnscache';

/** The log's sink once there is one: lines still in it go out before a fatal error's. */
let logSink: StreamSink | null = null;

function fatal(message: string): never {
  logSink?.flush();
  process.stderr.write(`${fatalLine(logFormat, message)}\n`);
  process.exit(EXIT_FATAL);
}

/** The result of `step`, or a fatal error made by `describe` from why it failed. */
function orFatal<T>(step: () => T, describe: (reason: string) => string = (r) => r): T {
  try {
    return step();
  } catch (err) {
    fatal(describe((err as Error).message));
  }
}

/** orFatal for a step that completes later. */
async function orFatalLater<T>(step: () => Promise<T>, describe: (reason: string) => string): Promise<T> {
  try {
    return await step();
  } catch (err) {
    fatal(describe((err as Error).message));
  }
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fatal(err.message);
    throw err;
  }
  logFormat = config.logFormat;
  let control: ControlSettings;
  try {
    control = controlSettings(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fatal(err.message);
    throw err;
  }
  let drop: PrivilegeDrop | null;
  try {
    drop = privilegeDropFor(config);
  } catch (err) {
    if (err instanceof PrivilegeError) fatal(err.message);
    throw err;
  }
  // With WORKERS, lines from several processes share one pipe: each write is whole lines.
  const sink = new StreamSink(process.stderr, config.workers > 1);
  logSink = sink;
  const log = createLog(config.logFormat, sink, realClock);
  const worker = isWorkerProcess();
  if (config.workers > 1 && !worker) {
    await runAsPrimary(config, control, drop, log);
    return;
  }
  const index = worker ? workerIndex(process.env, config.workers) : 0;
  if (!worker) for (const w of config.warnings) log.warning(w);
  // Read before the chroot, where /proc is gone.
  const files = fileLimitWarning(config, openFileLimit());
  if (files !== null) log.warning(files);
  const random = new Random(worker ? await receiveSeed() : await readSeed());
  const service = new Service(config, log, random, realClock, index);
  await orFatalLater(
    () => service.bind(),
    (reason) => `unable to listen on ${config.listen.address} port ${config.listen.port}: ${reason}`,
  );
  // With WORKERS the primary serves METRICS, adding up every worker's snapshot.
  const metrics =
    config.metrics && config.workers === 1
      ? await startMetrics(config.metrics, () => renderMetrics(service.metricsSnapshot()), log)
      : null;
  // The control socket is made like the DNS sockets: before the chroot
  // (its path may lie outside ROOT) and as the user who started dnscache,
  // who alone may connect to it (mode 0600).
  let controlServer: ControlServer | null = null;
  // A worker runs the commands the primary's control socket hands it.
  const workerCommands = worker && control.socket !== null ? new ControlCommands(service, log, control.ringSize) : null;
  if (control.socket !== null && !worker) {
    const socket = control.socket;
    controlServer = await orFatalLater(
      () => startControl({ ...control, socket }, service, log),
      (reason) => controlFailure(socket, reason),
    );
  }
  if (drop) {
    orFatal(() => dropPrivileges(drop));
    orFatal(
      () => service.rootMoved('/'),
      (reason) => `after chroot to ${drop.root} and dropping to UID ${drop.uid} GID ${drop.gid}: ${reason}`,
    );
  }
  service.serve();
  metrics?.serve();
  if (worker) {
    const slices = new WorkerSlices(service.cache);
    answerQuestions<Question>((q) => answerPrimary(q, service, workerCommands, slices));
    reportReady();
  }
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void Promise.all([service.stop(), controlServer?.close(), metrics?.close()]).then(() => {
      sink.flush();
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A last line of defence: one bad packet path must not stop the service
  // for every client. Each such event is logged so the bug gets found.
  process.on('unhandledRejection', (err) => log.warning(`internal error: ${(err as Error)?.stack ?? String(err)}`));
  // SIGHUP: re-read servers/, routes, rules/ and ip/ (from '/' after the chroot), keeping the cache.
  process.on('SIGHUP', () => service.reload());
}

/**
 * Binds METRICS (before the privilege drop, like the DNS sockets: its port
 * may need root); scrapes are answered 503 until serve().
 */
async function startMetrics(
  listen: Readonly<ListenAddress>,
  render: () => string | Promise<string>,
  log: Log,
): Promise<MetricsServer> {
  const metrics = new MetricsServer(listen, render, log);
  await orFatalLater(
    () => metrics.start(),
    (reason) =>
      `unable to listen for METRICS ${listen.family === 6 ? `[${listen.address}]` : listen.address}:${listen.port}: ${reason}`,
  );
  return metrics;
}

function controlFailure(socket: string, reason: string): string {
  return `CONTROL: unable to listen on ${socket}: ${reason}`;
}

/**
 * The primary asks every worker something - its metrics (METRICS is served
 * by the primary), or to run a control command (CONTROL is too) - and each
 * answers for itself.
 */
type Question =
  | { readonly kind: 'metrics' }
  | { readonly kind: 'control'; readonly req: ControlRequest }
  | { readonly kind: 'dump-slice'; readonly dump: number }
  | { readonly kind: 'dump-end'; readonly dump: number }
  | { readonly kind: 'load-batch'; readonly batch: LoadBatch };

/** A worker's metrics. */
interface WorkerReport {
  readonly snapshot: MetricsSnapshot;
  readonly process: ProcessStats;
}

/** What each kind of question is answered with (control/slices.ts answers the dump's and load's). */
interface Answers {
  readonly metrics: WorkerReport;
  readonly control: Record<string, unknown>;
  readonly 'dump-slice': string[];
  readonly 'dump-end': null;
  readonly 'load-batch': LoadCounts;
}

/** How long a control command may take in the workers (a dump or load of a big cache takes a while). */
const CONTROL_TIMEOUT_MS = 120_000;
/** How long a metrics scrape waits for every worker. */
const METRICS_TIMEOUT_MS = 2000;

/**
 * WORKERS > 1: this process forks the workers and serves what must be one
 * per service - METRICS and the control socket, both answered from every
 * worker - then drops its privileges once every worker serves.
 */
async function runAsPrimary(
  config: Config,
  control: ControlSettings,
  drop: PrivilegeDrop | null,
  log: Log,
): Promise<void> {
  for (const w of config.warnings) log.warning(w);
  const random = new Random(await readSeed());
  let primary: Primary<Question, Answers> | null = null;
  const metrics = config.metrics
    ? await startMetrics(
        config.metrics,
        () =>
          primary!
            .ask({ kind: 'metrics' }, METRICS_TIMEOUT_MS)
            .then((reports) =>
              renderMetrics(
                mergeSnapshots(reports.map((r) => r.snapshot)),
                mergeProcessStats([ownProcessStats(), ...reports.map((r) => r.process)]),
              ),
            ),
        log,
      )
    : null;
  let root = config.root;
  let controlServer: ControlServer | null = null;
  if (control.socket !== null) {
    const commands = new FanOutCommands({
      ask: (req) => primary!.ask({ kind: 'control', req }, CONTROL_TIMEOUT_MS),
      dumpSlice: (dump) => primary!.ask({ kind: 'dump-slice', dump }, CONTROL_TIMEOUT_MS),
      endDump: (dump) => primary!.ask({ kind: 'dump-end', dump }, CONTROL_TIMEOUT_MS),
      loadBatch: (batch) => primary!.ask({ kind: 'load-batch', batch }, CONTROL_TIMEOUT_MS),
      root: () => root,
      now: () => realClock.epochSeconds(),
      log,
    });
    const socket = control.socket;
    controlServer = await orFatalLater(
      () => ControlServer.listen(socket, commands),
      (reason) => controlFailure(socket, reason),
    );
  }
  primary = runPrimary<Question, Answers>({
    count: config.workers,
    seed: () => random.bytes(32),
    warning: (m) => log.warning(m),
    allReady: () => {
      if (drop) {
        orFatal(() => dropPrivileges(drop));
        root = '/';
      }
      metrics?.serve();
    },
    // As a single process does on SIGTERM: closing removes the socket's file (while it is reachable).
    beforeExit: () => void controlServer?.close(),
  });
}

/** A worker's answer to the primary: its metrics, or its part of a control command (on its own cache). */
function answerPrimary(q: Question, service: Service, commands: ControlCommands | null, slices: WorkerSlices): unknown {
  if (q.kind === 'metrics') return { snapshot: service.metricsSnapshot(), process: ownProcessStats() };
  if (commands === null) throw new Error('CONTROL is not set');
  switch (q.kind) {
    case 'control':
      return commands.run(q.req);
    case 'dump-slice':
      return slices.slice(q.dump);
    case 'dump-end':
      return (slices.end(), null);
    case 'load-batch':
      return slices.load(q.batch);
  }
}

const USAGE = `usage: dnscache [--help | --version]

dnscache-ts, a caching DNS resolver configured as djbdns's dnscache is: by the
environment and the files in ROOT, not by arguments.

  IP=127.0.0.1 ROOT=/etc/dnscache/root dnscache < seed

  IP          address to listen on (required); PORT, default 53
  ROOT        directory holding servers/ (servers/@: root servers, or with
              FORWARDONLY the caches to forward to), ip/ (the clients allowed)
              and routes (optional)
  CACHESIZE   cache budget in bytes (default 1000000)
  FORWARDONLY set: forward to the caches in servers/@ instead of iterating
  UID, GID    chroot into ROOT and run as this user and group after binding
  CONTROL     unix socket for dnscache-ctl; METRICS host:port for /metrics

Standard input may carry a seed (dnscache-conf's); every variable, file and
default is in README.md (Configuration). Errors go to stderr as
"dnscache: fatal: ..." with exit status 111.
`;

/** --help and --version; any other argument is a usage error (exit 100), as dnscache takes none. */
function handleArguments(args: readonly string[]): void {
  if (args.length === 0) return;
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (args.length === 1 && args[0] === '--version') {
    process.stdout.write(`dnscache-ts ${packageVersion()}\n`);
    process.exit(0);
  }
  process.stderr.write(
    `dnscache: usage: ${JSON.stringify(args.join(' '))}: dnscache takes no arguments but --help or --version (its settings are environment variables)\n${USAGE}`,
  );
  process.exit(100);
}

handleArguments(process.argv.slice(2));
main().catch((err: Error) => fatal(err.stack ?? err.message));
