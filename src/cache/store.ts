// The cache's entries: a byte-budgeted LRU over arena blocks (arena.ts).
//
// An entry is one block: a header of Int32 words (hashes, hash chain,
// recency links, slot, kind, expiry, charge, tag), the owner name's bytes,
// then the entry's data. A hash table of block addresses finds (name,
// slot); the recency list is threaded through the headers. Nothing per
// entry lives on the V8 heap, so the collector neither scans nor copies the
// cache, and the heap does not grow with it.
//
// Callers hold an entry's address only until they next change the store:
// a removed entry's block is reused, and compaction moves every entry.
//
// Invariants, true whenever no public method is running (a caller writing
// an entry's data between add() and its next call aside), and checked by
// invariantViolations() (test/unit/store-invariants.test.ts):
//
// - Index. Every entry sits in exactly one hash chain, the one of bucket
//   hash(name, slot) & mask, and its header keeps that hash (W_HASH) and
//   its name's hash (W_NAME) as computed from the name it holds. The
//   chains hold `size` entries in all, no two under one (name, slot). The
//   table's length is a power of two and at least `size` (grow() doubles
//   it as soon as the entries outnumber the buckets).
// - Name counts. names[b] is the number of entries whose name hash falls in
//   bucket b, so a zero there proves no entry of that name is stored.
// - Recency. Following W_NEWER from `oldest` meets every entry of the
//   index once and ends at `newest`; W_OLDER links are the reverse. Both
//   ends are NONE exactly when the store is empty.
// - Bytes. `bytes` is the sum of the entries' charges, and at most
//   maxBytes: add() evicts from the oldest end until the new charge fits,
//   and refuses a charge over maxBytes outright. Nothing else adds charge.
// - Arena. Each entry is one block handed out by the arena, at least
//   header + name + data long; no two blocks overlap, none is on a free
//   list, and the arena's inUse is the sum of their sizes.
// - Walk. The cursor is NONE or an entry in the list, and NONE unless a
//   walk runs.

import { randomBytes } from 'node:crypto';
import { Arena, ARENA_WORDS, CHUNK_BITS, CHUNK_SIZE, OFFSET_MASK } from './arena';
import { readLatin1, writeLatin1 } from '../wire/latin1';

// Header words after the arena's own.
const W_HASH = ARENA_WORDS;
const W_CHAIN = ARENA_WORDS + 1;
const W_OLDER = ARENA_WORDS + 2;
const W_NEWER = ARENA_WORDS + 3;
const W_SLOT = ARENA_WORDS + 4;
const W_EXPIRES = ARENA_WORDS + 5;
const W_CHARGE = ARENA_WORDS + 6;
const W_TAG = ARENA_WORDS + 7;
/** Name length in bits 0-7, kind in 8-10, data length from bit 11 (an entry is under a 1 MB chunk). */
const W_META = ARENA_WORDS + 8;
/** The owner name's hash (nameHash), for the count of entries per name bucket. */
const W_NAME = ARENA_WORDS + 9;
const KIND_SHIFT = 8;
const DATA_SHIFT = 11;
const HEADER_BYTES = (ARENA_WORDS + 10) * 4;
const NONE = -1;
const INITIAL_BUCKETS = 1024;

const FNV_PRIME = 0x01000193;

/** Murmur3's finalizer: spreads the bits of the slot and the name hash into the low bits the table uses. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

export interface NewEntry {
  /** 0-7: what the entry is, for the caller. */
  readonly kind: number;
  readonly expires: number;
  readonly charge: number;
  /** A word the caller owns: replies keep when they were built in it, RRsets their trust rank. */
  readonly tag: number;
  readonly dataLength: number;
}

export class EntryStore {
  private arena = new Arena();
  private table = new Int32Array(INITIAL_BUCKETS).fill(NONE);
  /**
   * Entries per name bucket (the owner's hash alone, under the table's mask).
   * A miss asks about its name under five slots or more before anything is
   * stored for it, and each probe of the table walks a chain through
   * entries scattered over the arena (memory the CPU has to wait for); a
   * zero here answers all of them from one counter.
   */
  private names = new Int32Array(INITIAL_BUCKETS);
  private mask = INITIAL_BUCKETS - 1;
  private newest = NONE;
  private oldest = NONE;
  private used = 0;
  private count = 0;
  /** A random start for the name hash: clients choose names, and must not be able to choose colliding ones. */
  private readonly seed = randomBytes(4).readInt32LE(0);
  // A miss asks about one name under several slots in a row: its hash is kept.
  private lastName = '';
  private lastHash = 0;
  private lastBucketHash = 0;
  /**
   * Free blocks stay in their size class. When the sizes stored shift (names
   * one character longer, bigger replies), blocks of the old sizes would sit
   * unused while new chunks are taken for the new ones, and memory would
   * creep far past the budget. So before taking a chunk while more than this
   * lies free, the live entries are copied into fresh chunks (compact()).
   */
  private readonly compactAbove: number;
  private compactionCount = 0;
  /**
   * The entry a gradual walk (a dump that lets queries run between its
   * slices) visits next; NONE when none runs or it is at the end. Kept on a
   * live entry as entries go (remove), move to the newest end (get: such an
   * entry is visited again later, never missed), and are copied (compact).
   */
  private cursor = NONE;
  private walking = false;

  /**
   * Entries of a charge over `maxBytes` are not stored; storing evicts the
   * least recently used until the charges fit. `compactAbove` (for tests):
   * how many free bytes make the store compact before taking a chunk.
   */
  constructor(
    readonly maxBytes: number,
    compactAbove: number = Math.max(maxBytes / 2, 2 * CHUNK_SIZE),
  ) {
    this.compactAbove = compactAbove;
  }

  /** How many times compact() ran. */
  get compactions(): number {
    return this.compactionCount;
  }

  get size(): number {
    return this.count;
  }

  /** The sum of the entries' charges. */
  get bytes(): number {
    return this.used;
  }

  /** Memory the entries take from the system (whole chunks). */
  get committed(): number {
    return this.arena.committed;
  }

  private nameHash(name: string): number {
    if (name === this.lastName) return this.lastHash;
    // FNV-1a over two characters at a time (mix() spreads the result): a hit hashes its name once, in JavaScript.
    let h = this.seed;
    const n = name.length;
    let i = 0;
    for (; i + 1 < n; i += 2) h = Math.imul(h ^ (name.charCodeAt(i) | (name.charCodeAt(i + 1) << 8)), FNV_PRIME);
    if (i < n) h = Math.imul(h ^ name.charCodeAt(i), FNV_PRIME);
    this.lastName = name;
    this.lastHash = h;
    this.lastBucketHash = mix(h);
    return h;
  }

  private hashOf(name: string, slot: number): number {
    return mix(this.nameHash(name) ^ Math.imul(slot, 0x9e3779b1));
  }

  /** The entry under (name, slot), or -1; recency is not touched. */
  find(name: string, slot: number): number {
    this.nameHash(name);
    if (this.names[this.lastBucketHash & this.mask] === 0) return NONE;
    const h = this.hashOf(name, slot);
    const words = this.arena.words;
    const bytes = this.arena.bytes;
    for (let e = this.table[h & this.mask]!; e !== NONE;) {
      const w = words[e >>> CHUNK_BITS]!;
      const i = (e & OFFSET_MASK) >> 2;
      if (w[i + W_HASH] === h && w[i + W_SLOT] === slot && (w[i + W_META]! & 0xff) === name.length) {
        const b = bytes[e >>> CHUNK_BITS]!;
        const at = (e & OFFSET_MASK) + HEADER_BYTES;
        let k = 0;
        while (k < name.length && b[at + k] === name.charCodeAt(k)) k++;
        if (k === name.length) return e;
      }
      e = w[i + W_CHAIN]!;
    }
    return NONE;
  }

  /** The entry under (name, slot), now the most recently used; -1 if none. */
  get(name: string, slot: number): number {
    const e = this.find(name, slot);
    if (e !== NONE && e !== this.newest) {
      if (e === this.cursor) this.cursor = this.word(e, W_NEWER);
      this.unlink(e);
      this.linkNewest(e);
    }
    return e;
  }

  /**
   * Stores a new entry under (name, slot) as the most recently used,
   * replacing any there, and returns its address: the caller writes its
   * `dataLength` bytes at dataStart() before anything else touches the
   * store. Returns -1 (storing nothing, evicting nothing) when the charge
   * is over the whole budget, and -1 too when even an emptied store has no
   * block for it (the arena's address space used up). A caller that has
   * just looked (name, slot) up passes what it found as `old`, saving a
   * second probe.
   */
  add(name: string, slot: number, n: NewEntry, old: number = this.find(name, slot)): number {
    if (n.charge > this.maxBytes) return NONE;
    if (old !== NONE) this.remove(old);
    while (this.used + n.charge > this.maxBytes && this.oldest !== NONE) this.evictOldest();
    const size = HEADER_BYTES + name.length + n.dataLength;
    if (this.arena.needsChunk(size) && this.arena.committed - this.arena.inUse > this.compactAbove) this.compact();
    let e = this.arena.alloc(size);
    // Out of address space (a 2 GB arena): what is freed may not fit this size, so evict until it does or nothing is left.
    while (e === NONE && this.oldest !== NONE) {
      this.evictOldest();
      e = this.arena.alloc(size);
    }
    if (e === NONE) return NONE;
    this.inserted++;
    const h = this.hashOf(name, slot);
    const w = this.arena.words[e >>> CHUNK_BITS]!;
    const i = (e & OFFSET_MASK) >> 2;
    w[i + W_HASH] = h;
    w[i + W_NAME] = this.lastHash;
    this.names[this.lastBucketHash & this.mask]!++;
    w[i + W_SLOT] = slot;
    w[i + W_EXPIRES] = n.expires;
    w[i + W_CHARGE] = n.charge;
    w[i + W_TAG] = n.tag;
    w[i + W_META] = name.length | (n.kind << KIND_SHIFT) | (n.dataLength << DATA_SHIFT);
    writeLatin1(this.arena.bytes[e >>> CHUNK_BITS]!, name, (e & OFFSET_MASK) + HEADER_BYTES, name.length);
    this.chain(e);
    this.linkNewest(e);
    this.used += n.charge;
    if (++this.count > this.table.length) this.grow();
    return e;
  }

  /** Entries stored since start (replacements included). */
  inserted = 0;
  /** Entries the LRU pushed out to make room (not the expired or flushed). */
  evicted = 0;

  private evictOldest(): void {
    this.evicted++;
    this.remove(this.oldest);
  }

  /** Removes a stored entry (one found, or met in oldestFirst()). */
  remove(e: number): void {
    const w = this.arena.words[e >>> CHUNK_BITS]!;
    const i = (e & OFFSET_MASK) >> 2;
    if (e === this.cursor) this.cursor = w[i + W_NEWER]!;
    const bucket = w[i + W_HASH]! & this.mask;
    const next = w[i + W_CHAIN]!;
    let p = this.table[bucket]!;
    if (p === e) {
      this.table[bucket] = next;
    } else {
      for (;;) {
        const pw = this.arena.words[p >>> CHUNK_BITS]!;
        const pi = (p & OFFSET_MASK) >> 2;
        if (pw[pi + W_CHAIN] === e) {
          pw[pi + W_CHAIN] = next;
          break;
        }
        p = pw[pi + W_CHAIN]!;
      }
    }
    this.unlink(e);
    this.names[mix(w[i + W_NAME]!) & this.mask]!--;
    this.used -= w[i + W_CHARGE]!;
    this.count--;
    this.arena.free(e);
  }

  clear(): void {
    this.arena.clear();
    this.table = new Int32Array(INITIAL_BUCKETS).fill(NONE);
    this.names = new Int32Array(INITIAL_BUCKETS);
    this.mask = INITIAL_BUCKETS - 1;
    this.newest = this.oldest = NONE;
    this.used = 0;
    this.count = 0;
    this.cursor = NONE;
  }

  /** Starts a gradual walk from the oldest entry; false while another runs. */
  startWalk(): boolean {
    if (this.walking) return false;
    this.walking = true;
    this.cursor = this.oldest;
    return true;
  }

  /** The next entry of the walk (its cursor moved past it), or NONE at the end. */
  walkNext(): number {
    const e = this.cursor;
    if (e !== NONE) this.cursor = this.word(e, W_NEWER);
    return e;
  }

  endWalk(): void {
    this.walking = false;
    this.cursor = NONE;
  }

  /** Every entry, least recently used first, without touching recency. Entries may be removed as they are met. */
  *oldestFirst(): Generator<number> {
    for (let e = this.oldest; e !== NONE;) {
      const next = this.word(e, W_NEWER);
      yield e;
      e = next;
    }
  }

  kind(e: number): number {
    return (this.word(e, W_META) >> KIND_SHIFT) & 7;
  }

  slot(e: number): number {
    return this.word(e, W_SLOT);
  }

  /** Unsigned: seconds since the epoch pass 2^31 in 2038. */
  expires(e: number): number {
    return this.word(e, W_EXPIRES) >>> 0;
  }

  setExpires(e: number, expires: number): void {
    this.arena.words[e >>> CHUNK_BITS]![((e & OFFSET_MASK) >> 2) + W_EXPIRES] = expires;
  }

  charge(e: number): number {
    return this.word(e, W_CHARGE);
  }

  tag(e: number): number {
    return this.word(e, W_TAG) >>> 0;
  }

  setTag(e: number, tag: number): void {
    this.setWord(e, W_TAG, tag);
  }

  /** The owner name, as a new string (control commands, not the query path). */
  name(e: number): string {
    const at = (e & OFFSET_MASK) + HEADER_BYTES;
    return readLatin1(this.arena.bytes[e >>> CHUNK_BITS]!, at, at + (this.word(e, W_META) & 0xff));
  }

  /** The chunk holding the entry's data, from dataStart() for dataLength() bytes. */
  buffer(e: number): Buffer {
    return this.arena.bytes[e >>> CHUNK_BITS]!;
  }

  dataStart(e: number): number {
    return (e & OFFSET_MASK) + HEADER_BYTES + (this.word(e, W_META) & 0xff);
  }

  dataLength(e: number): number {
    return this.word(e, W_META) >>> DATA_SHIFT;
  }

  /**
   * Which of the invariants stated at the top of this file do not hold, one
   * line each (none: all hold). Walks every entry, chain and free block:
   * for tests, never the query path.
   */
  invariantViolations(): string[] {
    const out: string[] = [];
    // Recency: the list, both ways.
    const listed = new Set<number>();
    let older = NONE;
    for (let e = this.oldest; e !== NONE; e = this.word(e, W_NEWER)) {
      if (listed.has(e) || listed.size > this.count) {
        out.push('recency: the list from oldest loops or runs past size');
        break;
      }
      listed.add(e);
      if (this.word(e, W_OLDER) !== older) out.push(`recency: entry ${e}'s older link is not the entry before it`);
      older = e;
    }
    if (older !== this.newest) out.push('recency: the list from oldest does not end at newest');
    if (listed.size !== this.count) out.push(`recency: the list holds ${listed.size} entries, size is ${this.count}`);
    if ((this.oldest === NONE) !== (this.count === 0) || (this.newest === NONE) !== (this.count === 0)) {
      out.push('recency: oldest/newest are NONE other than exactly when empty');
    }
    // Index: every chain, every entry in the chain of its hash, its hashes those of its name and slot.
    if (this.table.length & (this.table.length - 1) || this.mask !== this.table.length - 1) {
      out.push('index: the table length is not a power of two matching the mask');
    }
    if (this.table.length < this.count) out.push(`index: ${this.count} entries in ${this.table.length} buckets`);
    const indexed = new Set<number>();
    const keys = new Set<string>();
    const names = new Int32Array(this.names.length);
    for (let bucket = 0; bucket < this.table.length; bucket++) {
      for (let e = this.table[bucket]!; e !== NONE; e = this.word(e, W_CHAIN)) {
        if (indexed.has(e) || !listed.has(e)) {
          out.push(`index: entry ${e} is chained twice or is not in the recency list`);
          break;
        }
        indexed.add(e);
        const name = this.name(e);
        const key = `${this.slot(e)}/${name}`;
        if (keys.has(key)) out.push(`index: two entries under slot/name ${JSON.stringify(key)}`);
        keys.add(key);
        const h = this.hashOf(name, this.slot(e));
        if (this.word(e, W_HASH) !== h || this.word(e, W_NAME) !== this.lastHash) {
          out.push(`index: entry ${e}'s stored hashes are not those of its name and slot`);
        }
        if ((h & this.mask) !== bucket) out.push(`index: entry ${e} is chained in bucket ${bucket}, not its own`);
        names[this.lastBucketHash & this.mask]!++;
      }
    }
    if (indexed.size !== this.count) out.push(`index: the chains hold ${indexed.size} entries, size is ${this.count}`);
    // Name counts.
    for (let b = 0; b < names.length; b++) {
      if (names[b] !== this.names[b]) out.push(`names: bucket ${b} counts ${this.names[b]}, holds ${names[b]}`);
    }
    // Bytes.
    let charges = 0;
    for (const e of listed) charges += this.charge(e);
    if (charges !== this.used) out.push(`bytes: ${this.used} counted, the charges sum to ${charges}`);
    if (this.used > this.maxBytes) out.push(`bytes: ${this.used} over the budget of ${this.maxBytes}`);
    // Arena: blocks big enough, apart from each other and from the free lists, summing to inUse.
    const blocks = [...listed].sort((a, b) => a - b);
    let inUse = 0;
    for (let i = 0; i < blocks.length; i++) {
      const e = blocks[i]!;
      const size = this.arena.blockSize(e);
      inUse += size;
      if (size < HEADER_BYTES + (this.word(e, W_META) & 0xff) + this.dataLength(e)) {
        out.push(`arena: entry ${e}'s block of ${size} bytes is too small for it`);
      }
      const next = blocks[i + 1];
      if (next !== undefined && next >>> CHUNK_BITS === e >>> CHUNK_BITS && e + size > next) {
        out.push(`arena: entry ${e}'s block overlaps entry ${next}'s`);
      }
    }
    for (const b of this.arena.freeBlocks()) if (listed.has(b)) out.push(`arena: entry ${b}'s block is on a free list`);
    if (inUse !== this.arena.inUse)
      out.push(`arena: inUse is ${this.arena.inUse}, the entries' blocks sum to ${inUse}`);
    // Walk.
    if (this.cursor !== NONE && (!this.walking || !listed.has(this.cursor))) {
      out.push('walk: the cursor is set with no walk running, or not on an entry');
    }
    return out;
  }

  private word(e: number, field: number): number {
    return this.arena.words[e >>> CHUNK_BITS]![((e & OFFSET_MASK) >> 2) + field]!;
  }

  private setWord(e: number, field: number, value: number): void {
    this.arena.words[e >>> CHUNK_BITS]![((e & OFFSET_MASK) >> 2) + field] = value;
  }

  /**
   * Copies every entry, oldest first, into a fresh arena with no free
   * blocks, rebuilding the table and the recency list; the old chunks go to
   * the garbage collector. Costs time in proportion to the entries held
   * (about 20 ms per 100,000 here: 400,000 in 76-86 ms), and runs only after the sizes stored have
   * shifted by a good part of the budget.
   */
  private compact(): void {
    const from = this.arena;
    let e = this.oldest;
    const cursor = this.cursor;
    this.arena = new Arena();
    this.table.fill(NONE);
    this.newest = this.oldest = NONE;
    while (e !== NONE) {
      const fw = from.words[e >>> CHUNK_BITS]!;
      const fi = (e & OFFSET_MASK) >> 2;
      const next = fw[fi + W_NEWER]!;
      const meta = fw[fi + W_META]!;
      const length = HEADER_BYTES + (meta & 0xff) + (meta >>> DATA_SHIFT);
      const c = this.arena.alloc(length);
      const cw = this.arena.words[c >>> CHUNK_BITS]!;
      const ci = (c & OFFSET_MASK) >> 2;
      // The entry word by word (blocks are 8-aligned and whole words long),
      // all but the new block's size in word 0; chain and links are rewritten.
      for (let k = 1, words = (length + 3) >> 2; k < words; k++) cw[ci + k] = fw[fi + k]!;
      this.chain(c);
      this.linkNewest(c);
      if (e === cursor) this.cursor = c;
      e = next;
    }
    this.compactionCount++;
  }

  /** Twice the buckets, every entry rechained and counted again (its hashes are in its header). */
  private grow(): void {
    this.table = new Int32Array(this.table.length * 2).fill(NONE);
    this.names = new Int32Array(this.table.length);
    this.mask = this.table.length - 1;
    for (let e = this.oldest; e !== NONE; e = this.word(e, W_NEWER)) {
      this.chain(e);
      this.names[mix(this.word(e, W_NAME)) & this.mask]!++;
    }
  }

  /** Puts an entry at the head of its bucket's chain (by the hash in its header). */
  private chain(e: number): void {
    const bucket = this.word(e, W_HASH) & this.mask;
    this.setWord(e, W_CHAIN, this.table[bucket]!);
    this.table[bucket] = e;
  }

  // unlink and linkNewest run on every hit: they index the chunk views
  // directly (through word()/setWord() they showed in a hit profile).
  private unlink(e: number): void {
    const words = this.arena.words;
    const w = words[e >>> CHUNK_BITS]!;
    const i = (e & OFFSET_MASK) >> 2;
    const older = w[i + W_OLDER]!;
    const newer = w[i + W_NEWER]!;
    if (older === NONE) this.oldest = newer;
    else words[older >>> CHUNK_BITS]![((older & OFFSET_MASK) >> 2) + W_NEWER] = newer;
    if (newer === NONE) this.newest = older;
    else words[newer >>> CHUNK_BITS]![((newer & OFFSET_MASK) >> 2) + W_OLDER] = older;
  }

  private linkNewest(e: number): void {
    const words = this.arena.words;
    const w = words[e >>> CHUNK_BITS]!;
    const i = (e & OFFSET_MASK) >> 2;
    const newest = this.newest;
    w[i + W_OLDER] = newest;
    w[i + W_NEWER] = NONE;
    if (newest === NONE) this.oldest = e;
    else words[newest >>> CHUNK_BITS]![((newest & OFFSET_MASK) >> 2) + W_NEWER] = e;
    this.newest = e;
  }
}
