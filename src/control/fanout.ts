// CONTROL with WORKERS: the primary serves the control socket and hands
// each request to every worker, each of which runs it on its own cache;
// the answers are merged here into one. Counts add up (entries flushed,
// loaded, queries, bytes), `top` adds up the rows of every worker's ring,
// and `dump` writes one file with every worker's entries (a name cached by
// two workers appears twice; loading keeps the later line).

import { Log } from '../log/log';
import { CommandRunner, dumpInRoot } from './commands';
import { ControlRequest } from './protocol';
import { TOP_LIMIT_DEFAULT, TopRow } from './recent';
import { mergeServerRows, ServerRow } from '../transport/pools';

export interface FanOutDeps {
  /** Runs `req` in every worker: their reports (for `dump`: their entry lines, `{ lines }`); rejects with a worker's error. */
  ask(req: ControlRequest): Promise<Record<string, unknown>[]>;
  /** Where ROOT's files are reached now (dump files are written by the primary). */
  root(): string;
  now(): number;
  readonly log: Log;
}

/** The number of rows a worker sends for `top`: all of them, so the merged list is exact. */
export const TOP_ALL = 1_000_000;

export class FanOutCommands implements CommandRunner {
  constructor(private readonly deps: FanOutDeps) {}

  async run(req: ControlRequest): Promise<Record<string, unknown>> {
    const asked: ControlRequest = req.cmd === 'top' ? { ...req, limit: TOP_ALL } : req;
    const values = await this.deps.ask(asked);
    if (req.cmd !== 'dump') return mergeAnswers(req, values);
    return dumpInRoot(this.deps.root(), req.file, this.deps.now(), allLines(values), this.deps.log);
  }
}

/** Every worker's dump lines in turn, without joining them into one more array. */
function* allLines(values: readonly Record<string, unknown>[]): Iterable<string> {
  for (const v of values) yield* v.lines as string[];
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
    case 'latency':
      return { ...values[0]!, counts: (values[0]!.counts as number[]).map((_, i) => values.reduce((a, v) => a + (v.counts as number[])[i]!, 0)), sumMs: values.reduce((a, v) => a + (v.sumMs as number), 0) };
    case 'servers':
      return { servers: mergeServerRows(values.map((v) => v.servers as ServerRow[])) };
    case 'top': {
      const limit = req.limit ?? TOP_LIMIT_DEFAULT;
      if (req.what !== undefined) {
        const sums = sumFields(values.map(({ rows: _r, ...rest }) => rest));
        return { ...sums, rows: mergeRows(values.map((v) => v.rows as TopRow[]), limit) };
      }
      const sums = sumFields(values.map(({ clients: _c, names: _n, ...rest }) => rest));
      return { ...sums, clients: mergeRows(values.map((v) => v.clients as TopRow[]), limit), names: mergeRows(values.map((v) => v.names as TopRow[]), limit) };
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
    if (typeof first === 'number') out[key] = key === 'uptime' ? Math.max(...(all as number[])) : (all as number[]).reduce((a, b) => a + b, 0);
    else if (first !== null && typeof first === 'object' && !Array.isArray(first)) out[key] = sumFields(all as Record<string, unknown>[]);
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

