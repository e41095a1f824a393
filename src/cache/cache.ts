// The one cache: RRsets, negative answers and assembled replies share a
// single LRU under one byte budget (CACHESIZE), so memory stays predictable
// whatever mix of data the clients ask for.
//
// Charges follow dnscache (spec §6.3): 22 + owner length + data, where data
// is what dnscache would store for the type. Assembled replies are charged
// their byte length plus the same 22-byte overhead.

import { TYPE } from '../wire/constants';
import { isAtOrBelow, Name } from '../wire/name';
import { ByteLru, LruEntry } from './lru';
import { packReply, replyAnswerCount, replyAnswerEnd, replyMessageLength, replyTtlOffsets } from './replies';

/** Seconds since the epoch; injectable so tests can move time. */
export type Clock = () => number;
export const systemClock: Clock = () => Math.floor(Date.now() / 1000);

/** dnscache's caps (spec §6.4, §6.5). */
export const MAX_TTL = 604800;
const HUGE_TTL = 1000000000;
/** dnscache never stores more than this much data for one RRset. */
const MAX_RRSET_DATA = 8192;
const ENTRY_OVERHEAD = 22;

/** dnscache's TTL clamp for incoming records: absurd values mean "do not keep". */
export function clampTtl(ttl: number): number {
  if (ttl > HUGE_TTL) return 0;
  return ttl > MAX_TTL ? MAX_TTL : ttl;
}

export interface StoredRecord {
  readonly name: Name;
  readonly type: number;
  readonly rdata: Buffer;
}

/**
 * Entries hold their bytes in latin1 strings: one compact heap object each,
 * where Buffers and typed arrays cost a view object and often a backing
 * store apiece - several times the few bytes of an A record.
 */
interface RRsetEntry extends LruEntry {
  readonly kind: 'rrset';
  /** Mutable: the same data stored again only moves the expiry (see putRRset). */
  expires: number;
  readonly charge: number;
  /** Each RDATA as a 2-byte length and the bytes. */
  readonly data: string;
}

interface NegativeEntry extends LruEntry {
  readonly kind: 'nxdomain' | 'nodata';
  readonly expires: number;
  readonly charge: number;
  /** The SOA that made it negative, served in the authority section. */
  readonly soa: StoredRecord | null;
}

/** An assembled reply kept as bytes (see replies.ts). */
export interface ReplyEntry extends LruEntry {
  readonly kind: 'reply';
  readonly expires: number;
  readonly charge: number;
  /** The message (latin1), then the offset of each TTL field as two bytes. */
  readonly data: string;
  readonly builtAt: number;
}

/** A resolution that failed recently (RFC 9520): answered SERVFAIL without asking again. */
interface FailureEntry extends LruEntry {
  readonly kind: 'failure';
  readonly expires: number;
  readonly charge: number;
}

type Entry = RRsetEntry | NegativeEntry | ReplyEntry | FailureEntry;

// Entries are made only here (and packReply in replies.ts), all with the
// LRU's fields in the literal: one hidden class per kind, links in-object.
function rrsetEntry(expires: number, charge: number, data: string): RRsetEntry {
  return { name: '', slot: 0, older: null, newer: null, sibling: null, kind: 'rrset', expires, charge, data };
}

function negativeEntry(kind: 'nxdomain' | 'nodata', expires: number, charge: number, soa: StoredRecord | null): NegativeEntry {
  return { name: '', slot: 0, older: null, newer: null, sibling: null, kind, expires, charge, soa };
}

function failureEntry(expires: number, charge: number): FailureEntry {
  return { name: '', slot: 0, older: null, newer: null, sibling: null, kind: 'failure', expires, charge };
}

export interface RRsetHit {
  readonly ttl: number;
  readonly rdatas: readonly Buffer[];
}

export type TypedHit = ({ readonly kind: 'rrset' } & RRsetHit) | (NegativeHit & { readonly kind: 'nodata' });

export interface NegativeHit {
  readonly kind: 'nxdomain' | 'nodata';
  readonly ttl: number;
  readonly soa: StoredRecord | null;
}

/** What dnscache would count as the data size of a set (spec §6.3). */
export function rrsetDataCharge(type: number, rdatas: readonly Buffer[]): number {
  let n = 0;
  const plain = type === TYPE.A || type === TYPE.AAAA || type === TYPE.NS || type === TYPE.PTR || type === TYPE.CNAME || type === TYPE.MX;
  for (const r of rdatas) n += r.length + (plain ? 0 : 2);
  return n;
}

/**
 * Kept strings are built in a byte buffer and decoded once: V8 makes a
 * string grown by + or += a tree of cons cells (32 bytes each), which in a
 * cache of 100k entries costs more than the data.
 */
function packRdatas(rdatas: readonly Buffer[]): string {
  let length = 0;
  for (const r of rdatas) length += 2 + r.length;
  const buf = length <= scratch.length ? scratch : Buffer.allocUnsafe(length);
  let o = 0;
  for (const r of rdatas) {
    o = buf.writeUInt16BE(r.length, o);
    o += r.copy(buf, o);
  }
  return buf.toString('latin1', 0, o);
}

const scratch = Buffer.allocUnsafe(65536 + 4);

function unpackRdatas(data: string): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; ) {
    const len = (data.charCodeAt(i) << 8) | data.charCodeAt(i + 1);
    out.push(Buffer.from(data.slice(i + 2, i + 2 + len), 'latin1'));
    i += 2 + len;
  }
  return out;
}

// An entry's slot among its name's entries: what it is, and for which type.
// NODATA shares the RRset's slot: a fresh RRset replaces it and vice versa.
const SLOT_RRSET = 0x10000;
const SLOT_NXDOMAIN = 0x20000;
const SLOT_FAILURE = 0x30000;
const SLOT_REPLY = 0x40000;

export interface CacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
  /** dnscache's cache_motion: bytes stored since start. */
  readonly motion: number;
}

export class Cache {
  private readonly lru: ByteLru<Entry>;
  private motion = 0;

  constructor(readonly maxBytes: number, private readonly clock: Clock = systemClock) {
    this.lru = new ByteLru<Entry>(maxBytes);
  }

  now(): number {
    return this.clock();
  }

  private store(name: Name, slot: number, entry: Entry, first = false): void {
    if (entry.charge > this.maxBytes) return;
    this.motion += entry.charge;
    this.lru.set(name, slot, entry, first);
  }

  /**
   * A live entry, or undefined. An expired entry is left where it is until
   * a fresh one replaces it in place, the LRU evicts it or sweep() drops it:
   * deleting a name from V8's Map and adding it again leaves a dead entry in
   * that name's hash chain until the next rehash, so a popular short-TTL
   * name would make its own lookups slower each time it expired.
   */
  private live(name: Name, slot: number): Entry | undefined {
    const e = this.lru.get(name, slot);
    return e === undefined || e.expires <= this.clock() ? undefined : e;
  }

  private remaining(e: Entry): number {
    return Math.min(MAX_TTL, e.expires - this.clock());
  }

  // Every put applies dnscache's clamp (spec §6.4, §6.5): absurd TTLs are not
  // stored and none outlives a week, whatever the caller passed.
  putRRset(name: Name, type: number, ttl: number, rdatas: readonly Buffer[]): void {
    ttl = clampTtl(ttl);
    if (ttl <= 0 || rdatas.length === 0) return;
    const charge = rrsetDataCharge(type, rdatas);
    if (charge > MAX_RRSET_DATA) return;
    const data = packRdatas(rdatas);
    const expires = this.clock() + ttl;
    // Every answer from a zone carries its NS RRset and their addresses
    // again. Storing the same data again refreshes the entry in place
    // (expiry and recency, as a replacement would): a new entry per answer
    // lived long enough to be promoted to V8's old space, so each one
    // became old-space garbage - in a 100k-name warm-up about half the old
    // space, and RSS with it.
    const old = this.lru.get(name, SLOT_RRSET | type);
    if (old !== undefined && old.kind === 'rrset' && old.data === data) {
      old.expires = expires;
      this.motion += old.charge;
      return;
    }
    this.store(name, SLOT_RRSET | type, rrsetEntry(expires, ENTRY_OVERHEAD + name.length + charge, data));
  }

  getRRset(name: Name, type: number): RRsetHit | null {
    const hit = this.getTyped(name, type);
    return hit !== null && hit.kind === 'rrset' ? hit : null;
  }

  private negativeCharge(name: Name, soa: StoredRecord | null): number {
    return ENTRY_OVERHEAD + name.length + (soa ? soa.name.length + soa.rdata.length : 0);
  }

  putNxdomain(name: Name, ttl: number, soa: StoredRecord | null): void {
    ttl = clampTtl(ttl);
    if (ttl <= 0) return;
    this.store(name, SLOT_NXDOMAIN, negativeEntry('nxdomain', this.clock() + ttl, this.negativeCharge(name, soa), soa));
  }

  /** NODATA lives in the RRset's slot: a fresh RRset replaces it and vice versa. */
  putNodata(name: Name, type: number, ttl: number, soa: StoredRecord | null): void {
    ttl = clampTtl(ttl);
    if (ttl <= 0) return;
    this.store(name, SLOT_RRSET | type, negativeEntry('nodata', this.clock() + ttl, this.negativeCharge(name, soa), soa));
  }

  getNxdomain(name: Name): NegativeHit | null {
    const e = this.live(name, SLOT_NXDOMAIN);
    if (!e || e.kind !== 'nxdomain') return null;
    return { kind: 'nxdomain', ttl: this.remaining(e), soa: e.soa };
  }

  /**
   * The RRset or the NODATA cached for (name, type): both live under one
   * slot, so a resolution asks once.
   */
  getTyped(name: Name, type: number): TypedHit | null {
    const e = this.live(name, SLOT_RRSET | type);
    if (e === undefined) return null;
    if (e.kind === 'rrset') return { kind: 'rrset', ttl: this.remaining(e), rdatas: unpackRdatas(e.data) };
    if (e.kind === 'nodata') return { kind: 'nodata', ttl: this.remaining(e), soa: e.soa };
    return null;
  }

  getNodata(name: Name, type: number): NegativeHit | null {
    const hit = this.getTyped(name, type);
    return hit !== null && hit.kind === 'nodata' ? hit : null;
  }

  /** A name that now has data is no longer NXDOMAIN. */
  forgetNxdomain(name: Name): void {
    this.lru.delete(name, SLOT_NXDOMAIN);
  }

  putFailure(name: Name, type: number, seconds: number): void {
    this.store(name, SLOT_FAILURE | type, failureEntry(this.clock() + seconds, ENTRY_OVERHEAD + name.length));
  }

  hasFailure(name: Name, type: number): boolean {
    return this.live(name, SLOT_FAILURE | type) !== undefined;
  }

  /** Replies go first in their name's chain: the hot path looks there first. */
  putReply(name: Name, type: number, entry: ReplyEntry): void {
    if (entry.expires <= this.clock()) return;
    this.store(name, SLOT_REPLY | type, entry, true);
  }

  /** The hot-path lookup: one map probe, no allocation. */
  getReply(name: Name, type: number, now: number = this.clock()): ReplyEntry | undefined {
    const e = this.lru.get(name, SLOT_REPLY | type);
    return e === undefined || e.kind !== 'reply' || e.expires <= now ? undefined : e;
  }

  /** Drops expired entries; called from a slow timer so dead data does not hold the budget. */
  sweep(): number {
    const now = this.clock();
    let dead = 0;
    for (const e of this.lru.oldestFirst()) {
      if (e.expires <= now) {
        this.lru.remove(e);
        dead++;
      }
    }
    return dead;
  }

  stats(): CacheStats {
    return { entries: this.lru.size, bytes: this.lru.bytes, maxBytes: this.maxBytes, motion: this.motion };
  }

  // --- Control (dnscache-ctl): flushing, dumping and restoring entries. ---
  // None of this is on the query path; each walks the whole LRU once.

  /** Removes every entry for `name` (all types; RRsets, negative, reply and failure entries). */
  flushName(name: Name): number {
    return this.flushWhere((owner) => owner === name);
  }

  /** Removes every entry at or below `zone`. */
  flushSubtree(zone: Name): number {
    return this.flushWhere((owner) => isAtOrBelow(owner, zone));
  }

  /** Empties the cache (motion is kept: it counts bytes stored since start). */
  flushAll(): number {
    const n = this.lru.size;
    this.lru.clear();
    return n;
  }

  private flushWhere(match: (owner: Name) => boolean): number {
    let doomed = 0;
    for (const e of this.lru.oldestFirst()) {
      if (match(e.name as Name)) {
        this.lru.remove(e);
        doomed++;
      }
    }
    return doomed;
  }

  /**
   * Every live entry, least recently used first (restoring them in this
   * order rebuilds the same recency), with absolute expiry times. Does not
   * touch recency; must be consumed before the cache is changed.
   */
  *snapshot(): Generator<CacheSnapshotEntry> {
    const now = this.clock();
    for (const e of this.lru.oldestFirst()) {
      if (e.expires <= now) continue;
      const type = e.slot & 0xffff;
      const name = e.name as Name;
      switch (e.kind) {
        case 'rrset':
          yield { kind: 'rrset', name, type, expires: e.expires, rdatas: unpackRdatas(e.data) };
          break;
        case 'nxdomain':
          yield { kind: 'nxdomain', name, expires: e.expires, soa: e.soa };
          break;
        case 'nodata':
          yield { kind: 'nodata', name, type, expires: e.expires, soa: e.soa };
          break;
        case 'failure':
          yield { kind: 'failure', name, type, expires: e.expires };
          break;
        case 'reply': {
          yield {
            kind: 'reply',
            name,
            type,
            expires: e.expires,
            builtAt: e.builtAt,
            message: Buffer.from(e.data.slice(0, replyMessageLength(e)), 'latin1'),
            ttlOffsets: replyTtlOffsets(e),
            answerEnd: replyAnswerEnd(e),
            answerCount: replyAnswerCount(e),
          };
          break;
        }
      }
    }
  }

  /**
   * Stores an entry from a snapshot with its absolute expiry (capped at a
   * week from now, as every put is). Returns false if it was not stored:
   * expired, or too big for the cache, as the put methods would decide.
   * The caller vouches for the contents (src/control/dumpfile.ts checks
   * what it reads: a reply entry's offsets must match its message).
   */
  restore(s: CacheSnapshotEntry): boolean {
    const now = this.clock();
    if (!(s.expires > now)) return false;
    const expires = Math.min(s.expires, now + MAX_TTL);
    let slot: number;
    let entry: Entry;
    switch (s.kind) {
      case 'rrset': {
        if (s.rdatas.length === 0) return false;
        const data = rrsetDataCharge(s.type, s.rdatas);
        if (data > MAX_RRSET_DATA) return false;
        slot = SLOT_RRSET | s.type;
        entry = rrsetEntry(expires, ENTRY_OVERHEAD + s.name.length + data, packRdatas(s.rdatas));
        break;
      }
      case 'nxdomain':
        slot = SLOT_NXDOMAIN;
        entry = negativeEntry('nxdomain', expires, this.negativeCharge(s.name, s.soa), s.soa);
        break;
      case 'nodata':
        slot = SLOT_RRSET | s.type;
        entry = negativeEntry('nodata', expires, this.negativeCharge(s.name, s.soa), s.soa);
        break;
      case 'failure':
        slot = SLOT_FAILURE | s.type;
        entry = failureEntry(expires, ENTRY_OVERHEAD + s.name.length);
        break;
      case 'reply':
        slot = SLOT_REPLY | s.type;
        entry = packReply(s.message, s.ttlOffsets, expires, s.builtAt, s.answerEnd, s.answerCount);
        break;
    }
    if (entry.charge > this.maxBytes) return false;
    this.store(s.name, slot, entry, s.kind === 'reply');
    return true;
  }
}

/** One cache entry as snapshot() gives it and restore() takes it: absolute expiry, plain data. */
export type CacheSnapshotEntry =
  | { readonly kind: 'rrset'; readonly name: Name; readonly type: number; readonly expires: number; readonly rdatas: readonly Buffer[] }
  | { readonly kind: 'nxdomain'; readonly name: Name; readonly expires: number; readonly soa: StoredRecord | null }
  | { readonly kind: 'nodata'; readonly name: Name; readonly type: number; readonly expires: number; readonly soa: StoredRecord | null }
  | { readonly kind: 'failure'; readonly name: Name; readonly type: number; readonly expires: number }
  | {
      readonly kind: 'reply';
      readonly name: Name;
      readonly type: number;
      readonly expires: number;
      /** When the message's TTLs were written (hits count them down from here). */
      readonly builtAt: number;
      /** The reply as first built, without OPT. */
      readonly message: Buffer;
      /** Offsets of every record's TTL field, ascending. */
      readonly ttlOffsets: readonly number[];
      readonly answerEnd: number;
      readonly answerCount: number;
    };
