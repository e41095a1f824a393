// The last N client questions, for `dnscache-ctl top`: a ring of
// preallocated arrays. Recording is on the query path, so it only stores
// references to strings the engine already holds (the client's address, the
// parsed question name) and a number: no allocation, no hashing, O(1).
// Counting happens only when someone asks for the top list.

import { Name, nameToText } from '../wire/name';

export const RING_SIZE_DEFAULT = 10000;
export const RING_SIZE_MAX = 1_000_000;
export const TOP_LIMIT_DEFAULT = 10;

export interface TopRow {
  readonly key: string;
  readonly count: number;
}

export interface TopReport {
  /** Questions the lists are drawn from (at most the ring size). */
  readonly queries: number;
  /** Questions recorded since start. */
  readonly total: number;
  readonly ringSize: number;
  readonly clients: readonly TopRow[];
  /** Names in presentation form with a trailing dot. */
  readonly names: readonly TopRow[];
}

export class RecentQueries {
  private readonly clients: string[];
  private readonly names: string[];
  private readonly types: Uint16Array;
  private next = 0;
  private recorded = 0;

  constructor(readonly size: number = RING_SIZE_DEFAULT) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`ring size ${size}`);
    // Filled, so the arrays are dense with one element kind from the start.
    this.clients = new Array<string>(size).fill('');
    this.names = new Array<string>(size).fill('');
    this.types = new Uint16Array(size);
  }

  /** The hot-path hook: three stores and an increment. */
  record(client: string, qtype: number, qname: Name): void {
    const i = this.next;
    this.clients[i] = client;
    this.names[i] = qname;
    this.types[i] = qtype;
    this.next = i + 1 === this.size ? 0 : i + 1;
    this.recorded++;
  }

  /** Questions recorded since start. */
  get total(): number {
    return this.recorded;
  }

  /** How many questions the ring holds now. */
  get length(): number {
    return this.recorded < this.size ? this.recorded : this.size;
  }

  /** The type of the i-th most recent question (0 = newest), for tests. */
  typeAt(i: number): number {
    return this.types[(this.next - 1 - i + this.size * 2) % this.size]!;
  }

  /**
   * The `limit` busiest clients and names among the `last` most recent
   * questions (default: the whole ring), by count, ties in key order.
   */
  top(last: number = this.size, limit: number = TOP_LIMIT_DEFAULT): TopReport {
    const n = Math.max(0, Math.min(last, this.length));
    const byClient = new Map<string, number>();
    const byName = new Map<string, number>();
    for (let k = 0, i = this.next; k < n; k++) {
      i = i === 0 ? this.size - 1 : i - 1;
      const c = this.clients[i]!;
      byClient.set(c, (byClient.get(c) ?? 0) + 1);
      const q = this.names[i]!;
      byName.set(q, (byName.get(q) ?? 0) + 1);
    }
    return {
      queries: n,
      total: this.recorded,
      ringSize: this.size,
      clients: rank(byClient, limit, (k) => k),
      names: rank(byName, limit, (k) => nameToText(k as Name)),
    };
  }
}

function rank(counts: Map<string, number>, limit: number, show: (key: string) => string): TopRow[] {
  const rows = [...counts].map(([key, count]) => ({ key: show(key), count }));
  rows.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return rows.slice(0, Math.max(0, limit));
}
