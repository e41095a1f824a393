// A byte-budgeted LRU map whose recency list is threaded through the
// entries themselves.
//
// lru-cache keeps five parallel arrays beside its Map (keys, values, next,
// prev, sizes), which a V8 heap snapshot of 100,000 cached names put at
// about 96 bytes per entry. Here an entry carries its own key and two links
// (24 bytes), and nothing else is allocated per entry beyond the Map slot:
// for a cache whose entries are a few dozen bytes of DNS data, the
// bookkeeping is most of the cost.

/** What the LRU keeps on each entry. Create entries with these fields set (key '', links null) so every entry keeps one shape. */
export interface LruLinks {
  key: string;
  older: LruLinks | null;
  newer: LruLinks | null;
  readonly charge: number;
}

export class ByteLru<E extends LruLinks> {
  private readonly map = new Map<string, E>();
  private newest: E | null = null;
  private oldest: E | null = null;
  private used = 0;

  /** Entries of more than `maxBytes` are not stored; storing evicts the least recently used until the total fits. */
  constructor(readonly maxBytes: number) {}

  get size(): number {
    return this.map.size;
  }

  /** The sum of the charges of the entries held. */
  get bytes(): number {
    return this.used;
  }

  /** The entry, now the most recently used. */
  get(key: string): E | undefined {
    const e = this.map.get(key);
    if (e !== undefined && e !== this.newest) {
      this.unlink(e);
      this.linkNewest(e);
    }
    return e;
  }

  /** Stores `e` under `key` as the most recently used, replacing any entry there. */
  set(key: string, e: E): void {
    if (e.charge > this.maxBytes) return;
    // An entry is in one place at a time: storing it again moves it.
    if (e.key !== '' && e.key !== key && this.map.get(e.key) === e) this.remove(e);
    // A replaced entry keeps its Map slot (the new value goes in place):
    // V8's Map leaves a deleted key in its hash chain until the next rehash,
    // so deleting and re-adding one key - the NS and SOA RRsets of a zone
    // are stored again with every answer from it - made that chain, and
    // every probe of it, grow (about 10 us per store after 30,000 re-stores).
    const old = this.map.get(key);
    if (old !== undefined) {
      this.unlink(old);
      this.used -= old.charge;
      old.key = '';
    }
    while (this.used + e.charge > this.maxBytes && this.oldest !== null) this.remove(this.oldest);
    e.key = key;
    this.map.set(key, e);
    this.linkNewest(e);
    this.used += e.charge;
  }

  delete(key: string): boolean {
    const e = this.map.get(key);
    if (e === undefined) return false;
    this.remove(e);
    return true;
  }

  clear(): void {
    this.map.clear();
    this.newest = this.oldest = null;
    this.used = 0;
  }

  /** Every entry, least recently used first, without touching recency. Entries may be deleted as they are met. */
  *oldestFirst(): Generator<E> {
    for (let e = this.oldest; e !== null; ) {
      const next = e.newer as E | null;
      yield e;
      e = next;
    }
  }

  private remove(e: E): void {
    this.map.delete(e.key);
    this.unlink(e);
    this.used -= e.charge;
  }

  private unlink(e: E): void {
    if (e.older === null) this.oldest = e.newer as E | null;
    else e.older.newer = e.newer;
    if (e.newer === null) this.newest = e.older as E | null;
    else e.newer.older = e.older;
    e.older = e.newer = null;
  }

  private linkNewest(e: E): void {
    e.older = this.newest;
    e.newer = null;
    if (this.newest === null) this.oldest = e;
    else this.newest.newer = e;
    this.newest = e;
  }
}
