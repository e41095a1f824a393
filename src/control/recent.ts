// The last N client questions, for `dnscache-ctl top`: a ring of
// preallocated arrays. Recording is on the query path, so it only stores
// references to strings the engine already holds (the client's address, the
// parsed question name) and numbers: no allocation, no hashing, O(1). The
// reply's RCODE joins its question's slot when the reply is sent (if the
// ring has not moved past it meanwhile). Counting happens only when someone
// asks for a top list.

import { Name, nameToText, parentName } from '../wire/name';

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

/** A question without a reply (yet, or ever: dropped). */
export const NO_RCODE = 255;

/** `name` cut to its last `labels` labels (all of them when it has no more). */
export function lastLabels(name: Name, labels: number): Name {
  let count = 0;
  for (let i = 0; name.charCodeAt(i) !== 0; i += name.charCodeAt(i) + 1) count++;
  let out = name;
  for (let k = count; k > labels; k--) out = parentName(out);
  return out;
}

export class RecentQueries {
  private readonly clients: string[];
  private readonly names: string[];
  private readonly types: Uint16Array;
  private readonly rcodes: Uint8Array;
  private next = 0;
  private recorded = 0;

  constructor(readonly size: number = RING_SIZE_DEFAULT) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`ring size ${size}`);
    // Filled, so the arrays are dense with one element kind from the start.
    this.clients = new Array<string>(size).fill('');
    this.names = new Array<string>(size).fill('');
    this.types = new Uint16Array(size);
    this.rcodes = new Uint8Array(size).fill(NO_RCODE);
  }

  /** The hot-path hook: four stores and an increment. Returns the question's serial number, for answered(). */
  record(client: string, qtype: number, qname: Name): number {
    const i = this.next;
    this.clients[i] = client;
    this.names[i] = qname;
    this.types[i] = qtype;
    this.rcodes[i] = NO_RCODE;
    this.next = i + 1 === this.size ? 0 : i + 1;
    return this.recorded++;
  }

  /** Question `serial` (record()'s number) was answered with `rcode`; forgotten if the ring moved past it. */
  answered(serial: number, rcode: number): void {
    if (serial < 0 || this.recorded - serial > this.size) return;
    this.rcodes[serial % this.size] = rcode > 254 ? 254 : rcode;
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
   * dnsdist's topQueries (names, or their last `labels` labels), topClients,
   * and topResponses (names answered with `rcode`) among the `last` most
   * recent questions.
   */
  topList(req: TopListRequest): TopList {
    const n = Math.max(0, Math.min(req.last ?? this.size, this.length));
    const counts = new Map<string, number>();
    for (let k = 0, i = this.next; k < n; k++) {
      i = i === 0 ? this.size - 1 : i - 1;
      if (req.kind === 'rcodes' && this.rcodes[i] !== req.rcode) continue;
      const key =
        req.kind === 'clients'
          ? this.clients[i]!
          : req.labels === undefined
            ? this.names[i]!
            : lastLabels(this.names[i]! as Name, req.labels);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const show = req.kind === 'clients' ? (k: string) => k : (k: string) => nameToText(k as Name);
    return {
      queries: n,
      total: this.recorded,
      ringSize: this.size,
      rows: rank(counts, req.limit ?? TOP_LIMIT_DEFAULT, show),
    };
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

export type TopKind = 'queries' | 'clients' | 'rcodes';

export interface TopListRequest {
  readonly kind: TopKind;
  /** Rows (default TOP_LIMIT_DEFAULT). */
  readonly limit?: number | undefined;
  /** queries, rcodes: names grouped by their last `labels` labels (a random-subdomain attack by its parent). */
  readonly labels?: number | undefined;
  /** rcodes: which RCODE. */
  readonly rcode?: number | undefined;
  /** The last N questions (default: the whole ring). */
  readonly last?: number | undefined;
}

export interface TopList {
  readonly queries: number;
  readonly total: number;
  readonly ringSize: number;
  readonly rows: readonly TopRow[];
}

function rank(counts: Map<string, number>, limit: number, show: (key: string) => string): TopRow[] {
  const rows = [...counts].map(([key, count]) => ({ key: show(key), count }));
  rows.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return rows.slice(0, Math.max(0, limit));
}
