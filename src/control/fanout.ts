// CONTROL with WORKERS: the primary serves the control socket and hands
// each request to every worker, each of which runs it on its own cache;
// the answers are merged here into one. Counts add up (entries flushed,
// loaded, queries, bytes), `top` adds up the rows of every worker's ring,
// and `dump` writes one file (or stream) with every worker's entries (a
// name cached by two workers appears twice; loading keeps the later line).
// A dump is taken in rounds - each worker's next turn of entries - and
// a streamed load is sent in batches of LOAD_BATCH lines, so the primary
// holds one round or batch whatever the caches' size.

import { Log } from '../log/log';
import { CommandRunner, ControlStream, dumpInRoot, dumpToStream, streamOf } from './commands';
import { boundedLines, checkFirstLine, LoadCounts, LoadTally } from './dumpfile';
import { ControlRequest, isStream } from './protocol';
import { TOP_LIMIT_DEFAULT, TopRow } from './recent';
import { mergeRouteReports, RouteReport } from '../route/router';

/** Lines of a streamed load sent to the workers at once. */
export const LOAD_BATCH = 1000;

/** A batch of a streamed load's lines: `lines[i]` is line `first + i` (null: too long). */
export interface LoadBatch {
  readonly first: number;
  readonly lines: readonly (string | null)[];
}
import { mergeServerRows, ServerRow } from '../transport/pools';

export interface FanOutDeps {
  /** Runs `req` (not a dump) in every worker: their reports; rejects with a worker's error. */
  ask(req: ControlRequest): Promise<Record<string, unknown>[]>;
  /** Every worker's next dump lines for dump number `dump` (each starts its walk at the first call); an empty list when it has no more. */
  dumpSlice(dump: number): Promise<string[][]>;
  /** Ends dump number `dump` in every worker (it stops holding its walk). */
  endDump(dump: number): Promise<unknown>;
  /** Restores a batch of a streamed load in every worker: what each did with it. */
  loadBatch(batch: LoadBatch): Promise<LoadCounts[]>;
  /** Where ROOT's files are reached now (dump files are written by the primary). */
  root(): string;
  now(): number;
  readonly log: Log;
}

/** The number of rows a worker sends for `top`: all of them, so the merged list is exact. */
export const TOP_ALL = 1_000_000;

export class FanOutCommands implements CommandRunner {
  private dumps = 0;
  private dumping = false;

  constructor(private readonly deps: FanOutDeps) {}

  async run(req: ControlRequest, stream?: ControlStream): Promise<Record<string, unknown>> {
    if (req.cmd === 'dump') {
      if (this.dumping) throw new Error('a dump is already running');
      this.dumping = true;
      try {
        const lines = this.allLines(++this.dumps);
        if (isStream(req)) return await dumpToStream(streamOf(stream), this.deps.now(), lines, this.deps.log);
        return await dumpInRoot(this.deps.root(), req.file, this.deps.now(), lines, this.deps.log);
      } finally {
        this.dumping = false;
      }
    }
    if (req.cmd === 'load' && isStream(req)) return this.loadStream(streamOf(stream));
    const asked: ControlRequest = req.cmd === 'top' ? { ...req, limit: TOP_ALL } : req;
    return mergeAnswers(req, await this.deps.ask(asked));
  }

  /** Every worker's dump lines, a round of slices at a time. */
  private async *allLines(dump: number): AsyncGenerator<string> {
    try {
      for (;;) {
        const round = await this.deps.dumpSlice(dump);
        if (round.every((lines) => lines.length === 0)) return;
        for (const lines of round) yield* lines;
      }
    } finally {
      await this.deps.endDump(dump).catch(() => undefined);
    }
  }

  /** `load -`: the lines read here, restored by every worker, a batch at a time. */
  private async loadStream(stream: ControlStream): Promise<Record<string, unknown>> {
    const tally = new LoadTally();
    let n = 0;
    let batch: (string | null)[] = [];
    const send = async (): Promise<void> => {
      for (const counts of await this.deps.loadBatch({ first: n - batch.length + 1, lines: batch })) tally.add(counts);
      batch = [];
    };
    try {
      for await (const line of boundedLines(stream.input)) {
        if (++n === 1) {
          checkFirstLine(line);
          continue;
        }
        batch.push(line);
        if (batch.length >= LOAD_BATCH) await send();
      }
      if (n === 0) checkFirstLine(undefined);
      if (batch.length > 0) await send();
    } catch (err) {
      throw new Error(`unable to load the dump sent: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    const report = tally.report('-');
    this.deps.log.line(`control load - ${report.loaded} ${report.skipped}`);
    return { ...report };
  }
}

/** The workers' answers to one request as one answer. */
export function mergeAnswers(req: ControlRequest, values: readonly Record<string, unknown>[]): Record<string, unknown> {
  if (values.length === 0) throw new Error('no worker answered');
  switch (req.cmd) {
    case 'reload':
    case 'server':
    case 'block':
    case 'limit':
    case 'unblock':
    case 'rules':
      // Every worker read the same files, and took the same word.
      return values[0]!;
    case 'routes':
      // Every worker has the same routes (the same file, the same etcd); each checks and counts its own.
      return { routes: mergeRouteReports(values.map((v) => v.routes as RouteReport[])) };
    case 'latency':
      return {
        ...values[0]!,
        counts: (values[0]!.counts as number[]).map((_, i) =>
          values.reduce((a, v) => a + (v.counts as number[])[i]!, 0),
        ),
        sumMs: values.reduce((a, v) => a + (v.sumMs as number), 0),
      };
    case 'servers':
      return { servers: mergeServerRows(values.map((v) => v.servers as ServerRow[])) };
    case 'top': {
      const limit = req.limit ?? TOP_LIMIT_DEFAULT;
      if (req.what !== undefined) {
        const sums = sumFields(values.map(({ rows: _r, ...rest }) => rest));
        return {
          ...sums,
          rows: mergeRows(
            values.map((v) => v.rows as TopRow[]),
            limit,
          ),
        };
      }
      const sums = sumFields(values.map(({ clients: _c, names: _n, ...rest }) => rest));
      return {
        ...sums,
        clients: mergeRows(
          values.map((v) => v.clients as TopRow[]),
          limit,
        ),
        names: mergeRows(
          values.map((v) => v.names as TopRow[]),
          limit,
        ),
      };
    }
    default:
      return sumFields(values);
  }
}

/** Numbers add up (uptime is the longest), nested objects field by field, anything else is the first worker's. */
function sumFields(values: readonly Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(values[0]!)) {
    const all = values.map((v) => v[key]);
    const first = all[0];
    if (typeof first === 'number')
      out[key] = key === 'uptime' ? Math.max(...(all as number[])) : (all as number[]).reduce((a, b) => a + b, 0);
    else if (first !== null && typeof first === 'object' && !Array.isArray(first))
      out[key] = sumFields(all as Record<string, unknown>[]);
    else out[key] = first;
  }
  return out;
}

function mergeRows(lists: readonly (readonly TopRow[])[], limit: number): TopRow[] {
  const counts = new Map<string, number>();
  for (const rows of lists) for (const r of rows) counts.set(r.key, (counts.get(r.key) ?? 0) + r.count);
  return [...counts]
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, limit);
}
