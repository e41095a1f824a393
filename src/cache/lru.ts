// A byte-budgeted LRU whose entries are grouped by owner name.
//
// The map is keyed by the owner name itself and holds the first entry of
// that name; the name's other entries (one per slot: a type's RRset or
// NODATA, its assembled reply, NXDOMAIN, a failure) hang off it in a short
// sibling chain. A cache miss asks about one name several times (reply,
// NXDOMAIN, CNAME, the type, a recent failure) and then stores several
// entries under it: with one key per (kind, type, name) each of those was
// a new key string and a probe of a 100k-entry table that missed the CPU
// cache (about 0.5 us apiece); now the first probe of a name brings its
// chain into the cache and the rest are cheap, and no key string is built.
// The recency list is threaded through the entries themselves, so nothing
// is allocated per entry beyond the entry and the name's map slot.

/** What the LRU keeps on each entry. Create entries with these fields set (name '', slot 0, links null) so every entry keeps one shape. */
export interface LruEntry {
  /** Owner name; '' while the entry is not stored. */
  name: string;
  /** Which of its name's entries this is; unique within the name. */
  slot: number;
  older: LruEntry | null;
  newer: LruEntry | null;
  /** The next entry of the same name. */
  sibling: LruEntry | null;
  readonly charge: number;
}

/**
 * A name holds at most this many entries; storing another drops the one
 * stored longest ago. Lookups walk a name's chain, so without a bound one
 * name asked with thousands of types would make every lookup of it slow.
 */
export const MAX_ENTRIES_PER_NAME = 64;

export class ByteLru<E extends LruEntry> {
  /** Owner name → the first entry of its chain. */
  private readonly map = new Map<string, E>();
  private newest: E | null = null;
  private oldest: E | null = null;
  private used = 0;
  private count = 0;

  /** Entries of more than `maxBytes` are not stored; storing evicts the least recently used until the total fits. */
  constructor(readonly maxBytes: number) {}

  /** The number of entries held. */
  get size(): number {
    return this.count;
  }

  /** The sum of the charges of the entries held. */
  get bytes(): number {
    return this.used;
  }

  /** The entry stored under (name, slot), now the most recently used. */
  get(name: string, slot: number): E | undefined {
    const e = this.find(name, slot);
    if (e === null) return undefined;
    if (e !== this.newest) {
      this.unlink(e);
      this.linkNewest(e);
    }
    return e;
  }

  /**
   * Stores `e` under (name, slot) as the most recently used, replacing any
   * entry there. `first` puts a new entry at the head of its name's chain,
   * where the hot path looks first.
   */
  set(name: string, slot: number, e: E, first = false): void {
    if (e.charge > this.maxBytes) return;
    // An entry is in one place at a time: storing it again moves it.
    if (e.name !== '') this.remove(e);
    const head = this.map.get(name);
    let prev: E | null = null;
    let old = (head ?? null) as E | null;
    let length = 0;
    while (old !== null && old.slot !== slot) {
      length++;
      prev = old;
      old = old.sibling as E | null;
    }
    // One string per name, the chain's own: callers often hold another copy.
    e.name = head === undefined ? name : head.name;
    e.slot = slot;
    if (old !== null) {
      // Replaced in place: the name keeps its map slot. (V8's Map leaves a
      // deleted key in its hash chain until the next rehash, so deleting
      // and re-adding a name - a zone's NS RRset is stored again with every
      // answer from it - would make that chain, and every probe of it, grow.)
      e.sibling = old.sibling;
      if (prev === null) this.map.set(name, e);
      else prev.sibling = e;
      this.unlink(old);
      this.used -= old.charge;
      this.count--;
      old.name = '';
      old.sibling = null;
    } else {
      // Not found: prev is the last of the chain, the entry stored longest ago.
      if (length >= MAX_ENTRIES_PER_NAME && prev !== null) this.remove(prev);
      const current = this.map.get(name);
      if (current === undefined || first) {
        e.sibling = current ?? null;
        this.map.set(name, e);
      } else {
        e.sibling = current.sibling;
        current.sibling = e;
      }
    }
    // e is in its chain but not yet in the recency list, so it is never the one evicted.
    while (this.used + e.charge > this.maxBytes && this.oldest !== null) this.remove(this.oldest);
    this.linkNewest(e);
    this.used += e.charge;
    this.count++;
  }

  /** Removes the entry under (name, slot); false if there was none. */
  delete(name: string, slot: number): boolean {
    const e = this.find(name, slot);
    if (e === null) return false;
    this.remove(e);
    return true;
  }

  /** Removes a stored entry (one met in oldestFirst(), say). */
  remove(e: E): void {
    if (e.name === '') return;
    const head = this.map.get(e.name);
    if (head === e) {
      if (e.sibling === null) this.map.delete(e.name);
      else this.map.set(e.name, e.sibling as E);
    } else {
      let p = (head ?? null) as E | null;
      while (p !== null && p.sibling !== e) p = p.sibling as E | null;
      if (p !== null) p.sibling = e.sibling;
    }
    this.unlink(e);
    this.used -= e.charge;
    this.count--;
    e.name = '';
    e.sibling = null;
  }

  clear(): void {
    for (let e = this.oldest; e !== null; ) {
      const next = e.newer as E | null;
      e.name = '';
      e.sibling = e.older = e.newer = null;
      e = next;
    }
    this.map.clear();
    this.newest = this.oldest = null;
    this.used = 0;
    this.count = 0;
  }

  /** Every entry, least recently used first, without touching recency. Entries may be removed as they are met. */
  *oldestFirst(): Generator<E> {
    for (let e = this.oldest; e !== null; ) {
      const next = e.newer as E | null;
      yield e;
      e = next;
    }
  }

  private find(name: string, slot: number): E | null {
    let e = (this.map.get(name) ?? null) as E | null;
    while (e !== null && e.slot !== slot) e = e.sibling as E | null;
    return e;
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
