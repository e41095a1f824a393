// What each control command does to the running service. Every command
// answers with a plain object (the response's fields); a failure is an
// Error whose message goes back to the client. Nothing here can stop the
// service: the server turns any exception into an error response.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cache } from '../cache/cache';
import { flushAll, flushName, flushSubtree } from '../cache/flush';
import { Log, logName } from '../log/log';
import { ResolverCounters } from '../resolve/resolver';
import { parseServerEntry } from '../config/address';
import { ReloadOutcome } from '../config/reload';
import { actionText, RuleAction } from '../rules/action';
import { MAX_CONTROL_RULES, RuleBook } from '../rules/book';
import { QueryRecorder } from '../stats/engine';
import { HistogramData } from '../stats/histogram';
import { coarsened, LATENCY_BOUNDS_S } from '../stats/latency';
import { UpstreamPools } from '../transport/pools';
import { serverId } from '../transport/rtt';
import { Name, NameError, nameFromText, nameToText } from '../wire/name';
import {
  boundedLines,
  dumpChunks,
  entryLinesGradually,
  loadDump,
  loadLines,
  LoadReport,
  writeDumpLines,
} from './dumpfile';
import { ControlRequest, isStream, RequestError } from './protocol';
import { RecentQueries, TOP_LIMIT_DEFAULT } from './recent';
import type { RouteReport } from '../route/router';
import type { Clock } from '../platform/clock';

/** The engine's counters that `stats` reports (src/server/engine.ts). */
export interface QueryCounters {
  readonly queries: number;
  readonly cacheHits: number;
  readonly errors: number;
  /** Questions handed to resolution (neither a reply-cache hit nor a local name), where counted. */
  readonly cacheMisses?: number;
  readonly localAnswers?: number;
}

/** The parts of a running Service the control commands use (src/server/service.ts). */
export interface ControlTarget {
  readonly cache: Cache;
  /** Where ROOT's files are reached now: ROOT, or '/' after the chroot. */
  readonly root: string;
  readonly engine: {
    readonly counters: QueryCounters;
    recent: QueryRecorder | null;
    readonly rules?: RuleBook;
    readonly latencyBySource?: readonly HistogramData[];
  };
  readonly resolver: { readonly counters: ResolverCounters; readonly inflightCount: number };
  readonly upstreamQueries: number;
  readonly activity: { readonly udp: number; readonly edns: number; readonly tcp: number };
  readonly router: { report(): readonly RouteReport[] };
  /** The service's time: uptime is counted on it. */
  readonly clock: Clock;
  /** FORWARDONLY's pools; null when resolving iteratively. */
  readonly pools?: UpstreamPools | null;
  reload(): ReloadOutcome;
}

const MAX_RULES_TEXT = `${MAX_CONTROL_RULES} blocks and limits in force`;

export type RuleTarget =
  | { readonly kind: 'suffix'; readonly name: Name; readonly shown: string }
  | { readonly kind: 'prefix'; readonly prefix: string; readonly shown: string };

/**
 * What `block`, `limit` and `unblock` name: a client prefix as ip/ writes it
 * (`192.0.2`, `10`, `2001:db8`: digits and dots, or hex and colons), else a
 * domain suffix (a numeric name with a trailing dot, `10.`, is a name).
 */
export function ruleTarget(text: string): RuleTarget {
  if (/^[0-9]{1,3}(\.[0-9]{1,3}){0,3}$/.test(text)) {
    if (text.split('.').some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith('0')))) {
      throw new RequestError(
        `${JSON.stringify(text)} is not an IPv4 prefix (expected octets from 0 to 255 without leading zeros, as ip/ names them)`,
      );
    }
    return { kind: 'prefix', prefix: text, shown: text };
  }
  if (text.includes(':')) {
    if (!/^[0-9a-fA-F:]+$/.test(text))
      throw new RequestError(
        `${JSON.stringify(text)} is not an IPv6 prefix (expected hex groups and colons, as ip/ names them)`,
      );
    return { kind: 'prefix', prefix: text.toLowerCase(), shown: text.toLowerCase() };
  }
  const name = parseName(text);
  return { kind: 'suffix', name, shown: nameToText(name) };
}

const NO_POOLS = 'no forwarding pools (upstreams, their pools and health are kept with FORWARDONLY only)';

/**
 * The file a dump or load names, always inside ROOT: relative names and
 * absolute ones alike are taken from ROOT ("/x" is ROOT/x), and ".." stops
 * at ROOT. Before a chroot that is ROOT's real path, after it '/'.
 */
export function fileInRoot(root: string, file: string): string {
  return path.join(root, path.resolve('/', file));
}

/**
 * fileInRoot, and where symbolic links inside ROOT lead too: a file to be
 * written must be in a directory whose real path lies inside ROOT's, a file
 * to be read must itself. (Without a chroot, ROOT/x -> /etc made "dump
 * x/passwd" write outside ROOT.)
 */
export async function confinedFile(root: string, file: string, use: 'write' | 'read'): Promise<string> {
  const lexical = fileInRoot(root, file);
  const realRoot = await fs.promises.realpath(root);
  let real: string;
  try {
    real =
      use === 'write'
        ? path.join(await fs.promises.realpath(path.dirname(lexical)), path.basename(lexical))
        : await fs.promises.realpath(lexical);
  } catch {
    return lexical; // missing: the dump or load itself says so, naming the file
  }
  const inside = path.relative(realRoot, real);
  if (inside.startsWith('..') || path.isAbsolute(inside)) {
    throw new RequestError(
      `${JSON.stringify(file)} leads outside ROOT through a symbolic link (expected a file inside ROOT)`,
    );
  }
  return lexical;
}

function parseName(text: string): Name {
  try {
    return nameFromText(text, 'decimal');
  } catch (err) {
    if (err instanceof NameError)
      throw new RequestError(`${JSON.stringify(text)} is not a domain name: ${err.message}`);
    throw err;
  }
}

/** Printable in one log line (file names come from the client). */
function logText(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, '?');
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && typeof e.syscall === 'string') return `${e.syscall}: ${e.code}`;
  return err instanceof Error ? err.message : String(err);
}

/** A control connection, for the commands that stream a dump over it (dump -, load -). */
export interface ControlStream {
  /** What the client sends after its request line. */
  readonly input: Iterable<Buffer | string> | AsyncIterable<Buffer | string>;
  /** Sends a piece of a dump; resolves once the connection takes more, rejects if it is gone. */
  write(piece: string): Promise<void>;
}

/** What the control socket hands each request to: one service's commands, or (WORKERS) every worker's. */
export interface CommandRunner {
  /** `stream` is there for a request that streams (isStream). */
  run(req: ControlRequest, stream?: ControlStream): Promise<Record<string, unknown>>;
}

/** The connection a streaming request came with (the control server always gives one). */
export function streamOf(stream: ControlStream | undefined): ControlStream {
  if (stream === undefined) throw new RequestError('a streamed dump or load needs a control connection');
  return stream;
}

/** `dump -`: the dump's text over the control connection, as dumpInRoot writes it to a file. */
export async function dumpToStream(
  stream: ControlStream,
  now: number,
  lines: AsyncIterable<string>,
  log: Log,
): Promise<Record<string, unknown>> {
  const counted = { entries: 0, bytes: 0 };
  for await (const piece of dumpChunks(now, lines, counted)) await stream.write(piece);
  log.line(`control dump - ${counted.entries}`);
  return { path: '-', ...counted };
}

/** Logs a load's report and answers it. */
function loaded(report: LoadReport, log: Log): Record<string, unknown> {
  log.line(`control load ${logText(report.path)} ${report.loaded} ${report.skipped}`);
  return { ...report };
}

/**
 * `dump`: writes `lines` (entry lines, from one cache or from every
 * worker's) to `file` inside `root`, logs it, and answers the report; a
 * failure is an error naming the file.
 */
export async function dumpInRoot(
  root: string,
  fileName: string,
  now: number,
  lines: Iterable<string> | AsyncIterable<string>,
  log: Log,
): Promise<Record<string, unknown>> {
  const file = await confinedFile(root, fileName, 'write');
  try {
    const report = await writeDumpLines(file, now, lines);
    log.line(`control dump ${logText(file)} ${report.entries}`);
    return { ...report };
  } catch (err) {
    throw new Error(`unable to write ${file}: ${errorText(err)}${fileHint(fileName, err, 'write')}`, { cause: err });
  }
}

/**
 * What a dump or load file's failure most likely means, for the two an
 * operator meets first: "dump /tmp/x" is ROOT/tmp/x, which does not exist;
 * and after the drop to UID/GID it is that user who writes, not root.
 */
function fileHint(given: string, err: unknown, use: 'write' | 'read'): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  const inRoot = path.resolve('/', given);
  const dir = path.dirname(inRoot);
  if (code === 'ENOENT')
    return ` (FILE is a path inside ROOT: ${JSON.stringify(given)} is ROOT${inRoot}${use === 'write' && dir !== '/' ? `, and ROOT${dir} must exist` : ''})`;
  if (code === 'EACCES' || code === 'EPERM')
    return ` (dnscache writes as its UID after the privilege drop: give a file in a directory inside ROOT that user may write, e.g. dumps/cache.dump in a dnscache-conf service)`;
  return '';
}

export class ControlCommands implements CommandRunner {
  private readonly startedAt: number;
  readonly recent: RecentQueries;

  constructor(
    private readonly target: ControlTarget,
    private readonly log: Log,
    ringSize: number,
  ) {
    this.startedAt = target.clock.now();
    this.recent = new RecentQueries(ringSize);
    target.engine.recent = this.recent;
  }

  async run(req: ControlRequest, stream?: ControlStream): Promise<Record<string, unknown>> {
    const { cache } = this.target;
    switch (req.cmd) {
      case 'stats':
        return this.stats();
      case 'flush': {
        const name = parseName(req.name);
        const removed = flushName(cache, name);
        this.log.line(`control flush ${logName(name)} ${removed}`);
        return { name: nameToText(name), removed };
      }
      case 'flush-subtree': {
        const name = parseName(req.name);
        const removed = flushSubtree(cache, name);
        this.log.line(`control flush-subtree ${logName(name)} ${removed}`);
        return { name: nameToText(name), removed };
      }
      case 'flush-all': {
        const removed = flushAll(cache);
        this.log.line(`control flush-all ${removed}`);
        return { removed };
      }
      case 'dump':
        if (isStream(req)) return dumpToStream(streamOf(stream), cache.now(), entryLinesGradually(cache), this.log);
        return dumpInRoot(this.target.root, req.file, cache.now(), entryLinesGradually(cache), this.log);
      case 'load': {
        if (isStream(req)) {
          try {
            return loaded(await loadLines(cache, boundedLines(streamOf(stream).input), '-'), this.log);
          } catch (err) {
            throw new Error(`unable to load the dump sent: ${errorText(err)}`, { cause: err });
          }
        }
        const file = await confinedFile(this.target.root, req.file, 'read');
        try {
          return loaded(await loadDump(cache, file), this.log);
        } catch (err) {
          throw new Error(`unable to load ${file}: ${errorText(err)}${fileHint(req.file, err, 'read')}`, {
            cause: err,
          });
        }
      }
      case 'top': {
        if (req.what !== undefined) {
          const kind = req.what;
          return {
            ...this.recent.topList({ kind, limit: req.limit, labels: req.labels, rcode: req.rcode, last: req.queries }),
            what: kind,
          };
        }
        const report = this.recent.top(req.queries ?? this.recent.size, req.limit ?? TOP_LIMIT_DEFAULT);
        return { ...report };
      }
      case 'latency':
        return this.latency();
      case 'block':
        return this.addRule(req.target, { kind: 'drop' }, req.seconds);
      case 'limit':
        return this.addRule(req.target, { kind: 'qps', limit: req.qps }, req.seconds);
      case 'unblock':
        return this.removeRule(req.target);
      case 'rules':
        return { rules: this.listRules() };
      case 'reload': {
        const outcome = this.target.reload();
        if (!outcome.ok) throw new Error(`reload failed: ${outcome.error}`);
        // `rules` only with a rules/ directory, as the log line: the answer stays as it was for roots without one.
        return {
          servers: outcome.servers,
          ip: outcome.ip,
          routes: outcome.routes,
          ...(outcome.rules ? { rules: outcome.rules } : {}),
        };
      }
      case 'routes':
        return { routes: this.target.router.report() };
      case 'servers': {
        const pools = this.target.pools;
        if (!pools) throw new RequestError(NO_POOLS);
        return { servers: pools.rows() };
      }
      case 'server':
        return this.forceServer(req.address, req.state);
    }
  }

  private book(): RuleBook {
    const book = this.target.engine.rules;
    if (!book) throw new RequestError('no rules in this process');
    return book;
  }

  private latency(): Record<string, unknown> {
    const bySource = this.target.engine.latencyBySource;
    if (!bySource) throw new RequestError('no latency histogram in this process');
    const h = coarsened(bySource, LATENCY_BOUNDS_S);
    return { boundsMs: h.bounds.map((b) => b * 1000), counts: [...h.counts], sumMs: Math.round(h.sum * 1e6) / 1000 };
  }

  /** `block`/`limit`: a rule for a suffix or a client prefix, for `seconds` or until unblocked. */
  private addRule(text: string, action: RuleAction, seconds: number | undefined): Record<string, unknown> {
    const target = ruleTarget(text);
    const book = this.book();
    const added =
      target.kind === 'prefix'
        ? book.addPrefix(target.prefix, action, seconds ?? null)
        : book.addControl(target.name, action, seconds ?? null);
    if (!added) throw new RequestError(`${MAX_RULES_TEXT} (expected an unblock, or one to expire, first)`);
    this.log.line(
      `control ${action.kind === 'drop' ? 'block' : 'limit'} ${logText(target.shown)} ${actionText(action).replace(' ', '=')} ${seconds ?? '-'}`,
    );
    return { target: target.shown, kind: target.kind, action: actionText(action), seconds: seconds ?? null };
  }

  private removeRule(text: string): Record<string, unknown> {
    const target = ruleTarget(text);
    const book = this.book();
    const removed = target.kind === 'prefix' ? book.removePrefix(target.prefix) : book.removeControl(target.name);
    if (!removed)
      throw new RequestError(
        `no block or limit for ${JSON.stringify(target.shown)} (rules/ files are changed by editing them and reloading)`,
      );
    this.log.line(`control unblock ${logText(target.shown)}`);
    return { target: target.shown, kind: target.kind };
  }

  /** Every rule in force: control rules with the seconds they have left, then rules/ files. */
  private listRules(): Record<string, unknown>[] {
    const book = this.book();
    const now = book.now();
    const left = (expires: number): number | null =>
      expires === Infinity ? null : Math.max(0, Math.ceil((expires - now) / 1000));
    return [
      ...book.listPrefixes().map((r) => ({
        target: r.prefix,
        kind: 'prefix',
        action: actionText(r.action),
        source: 'control',
        secondsLeft: left(r.expires),
      })),
      ...book.list().map((r) => ({
        target: nameToText(r.zone),
        kind: 'suffix',
        action: actionText(r.action),
        source: r.source,
        secondsLeft: left(r.expires),
      })),
    ];
  }

  private forceServer(text: string, state: 'up' | 'down' | 'auto'): Record<string, unknown> {
    const pools = this.target.pools;
    if (!pools) throw new RequestError(NO_POOLS);
    const parsed = parseServerEntry(text);
    if (!parsed.ok)
      throw new RequestError(
        `${JSON.stringify(text)} is not an address: ${parsed.reason} (expected an upstream as servers/ writes it, e.g. 192.0.2.53 or [2001:db8::53]:5353)`,
      );
    if (!pools.force(parsed.value, state)) {
      if (pools.health === null) throw new RequestError('health checks are off (HEALTHINTERVAL=0): no state to force');
      throw new RequestError(
        `${JSON.stringify(text)} is not an upstream of any servers/ file (expected one of ${pools
          .upstreams()
          .map((u) => u.address + ':' + u.port)
          .join(', ')})`,
      );
    }
    const row = pools.rows().find((r) => r.address === serverId(parsed.value))!;
    this.log.line(`control server ${row.address} ${state}`);
    return { address: row.address, forced: state, state: row.state };
  }

  stats(): Record<string, unknown> {
    const t = this.target;
    const { queries, cacheHits, errors, cacheMisses, localAnswers } = t.engine.counters;
    const activity = t.activity;
    return {
      uptime: Math.floor((this.target.clock.now() - this.startedAt) / 1000),
      queries,
      cacheHits,
      cacheMisses: cacheMisses ?? queries - cacheHits,
      localAnswers: localAnswers ?? 0,
      errors,
      cache: t.cache.stats(),
      inFlight: { udp: activity.udp, edns: activity.edns, tcp: activity.tcp, resolutions: t.resolver.inflightCount },
      upstreamQueries: t.upstreamQueries,
      merged: t.resolver.counters.merged,
    };
  }
}
