// The one cache: RRsets, negative answers and assembled replies share a
// single LRU under one byte budget (CACHESIZE), so memory stays predictable
// whatever mix of data the clients ask for.
//
// Charges follow dnscache (spec §6.3): 22 + owner length + data, where data
// is what dnscache would store for the type. Assembled replies are charged
// the same 22-byte overhead plus their message and its TTL offsets
// (replies.ts's packReply).

import { TYPE } from '../wire/constants';
import { Name } from '../wire/name';
import { copyBytes } from '../wire/copy';
import {
  KIND_FAILURE,
  KIND_NODATA,
  KIND_NXDOMAIN,
  KIND_REPLY,
  KIND_RRSET,
  packedLength,
  packRdatas,
  rdatasOf,
  replyOf,
  rrsetSlot,
  Side,
  SLOT_FAILURE,
  SLOT_NXDOMAIN,
  SLOT_REPLY,
  SLOT_RRSET,
  soaLength,
  soaOf,
  StoredRecord,
  writeSoa,
} from './entries';
import { EntryStore } from './store';
import { PackedReply, ReplyBytes } from './replies';

// The shapes of entries live with their formats (entries.ts, replies.ts); importers of the cache find them here too.
export type { Side, StoredRecord } from './entries';
export type { PackedReply, ReplyBytes } from './replies';

/** Seconds since the epoch; injectable so tests can move time. */
export type Clock = () => number;
export const systemClock: Clock = () => Math.floor(Date.now() / 1000);

/** The TTL stale data is served with (RFC 8767 §4 recommends 30 s). */
export const STALE_TTL = 30;

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

/**
 * How far an RRset is trusted, by where it came from (RFC 2181 §5.4.1),
 * lowest first. While an RRset lives, data of a lower rank never replaces it.
 */
export const RANK = {
  /** The additional section: glue, good only for reaching the delegation's name servers. */
  ADDITIONAL: 1,
  /** The authority section of a non-authoritative reply: a referral's NS set, the parent's view. */
  AUTHORITY: 2,
  /** The authority section of an authoritative reply: the zone's own NS set. */
  AUTHORITY_AA: 3,
  /** The answer section of a non-authoritative reply (a forwarder's, or a CNAME's target). */
  ANSWER: 4,
  /** The answer section of an authoritative reply. */
  ANSWER_AA: 5,
} as const;
export type Rank = (typeof RANK)[keyof typeof RANK];

/** The least rank a client is answered from: glue and referrals only lead the way to the answer. */
export const ANSWERABLE: Rank = RANK.AUTHORITY_AA;

/** A negative entry stands for the answer section it replaced. */
const NEGATIVE_RANK: Rank = RANK.ANSWER;

/** MINTTL and MAXTTL, in seconds: the operator's bounds on what the cache keeps. */
export interface TtlLimits {
  /** Everything is kept at least this long, TTL 0 included (negative answers too). */
  readonly min: number;
  /** Nothing is kept longer; at most MAX_TTL. */
  readonly max: number;
}

/** dnscache's own bounds: no minimum, a week at most. */
export const DNSCACHE_TTL_LIMITS: TtlLimits = { min: 0, max: MAX_TTL };

export interface RRsetHit {
  readonly ttl: number;
  readonly rdatas: readonly Buffer[];
  readonly rank: Rank;
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
  const plain =
    type === TYPE.A ||
    type === TYPE.AAAA ||
    type === TYPE.NS ||
    type === TYPE.PTR ||
    type === TYPE.CNAME ||
    type === TYPE.MX;
  for (const r of rdatas) n += r.length + (plain ? 0 : 2);
  return n;
}

export interface CacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
  /** dnscache's cache_motion: bytes stored since start. */
  readonly motion: number;
  /** Entries stored since start, replacements included. */
  readonly inserted: number;
  /** Entries the LRU pushed out to make room (expired and flushed ones are not counted). */
  readonly evicted: number;
  /** Memory the entries really take: the arena's chunks, outside the V8 heap. */
  readonly memory: number;
}

export class Cache {
  /**
   * The entries. The cache's administration (flush.ts, snapshot.ts) walks
   * and removes them here; everything else goes through the methods below,
   * which apply the TTL rules and count motion.
   */
  readonly store: EntryStore;
  private motion = 0;

  /**
   * `staleSeconds` (STALE): how long past its expiry an entry is kept for
   * serve-stale (RFC 8767); 0 keeps nothing expired for it.
   */
  constructor(
    readonly maxBytes: number,
    private readonly clock: Clock = systemClock,
    readonly limits: TtlLimits = DNSCACHE_TTL_LIMITS,
    readonly staleSeconds = 0,
  ) {
    this.store = new EntryStore(maxBytes);
  }

  /**
   * The TTL an RRset is stored with, and so what an answer made from the
   * same records must show: dnscache's clamp (absurd TTLs read as 0), then
   * MAXTTL, then MINTTL, which raises 0 as well (as Unbound's cache-min-ttl).
   */
  rrsetTtl(ttl: number): number {
    const t = Math.min(clampTtl(ttl), this.limits.max);
    return t < this.limits.min ? this.limits.min : t;
  }

  /**
   * The same for a negative answer's TTL. MINTTL raises it too, a NODATA
   * without an SOA (TTL 0) included: Unbound's cache-min-ttl bounds
   * messages as well as RRsets, and an operator who sets it wants fewer
   * upstream queries for whatever the answer was.
   */
  negativeTtl(ttl: number): number {
    return this.rrsetTtl(ttl);
  }

  now(): number {
    return this.clock();
  }

  /** Stores a new entry and counts its motion; the caller writes its data at the address returned (-1: not stored). */
  private add(
    name: Name,
    slot: number,
    kind: number,
    expires: number,
    charge: number,
    dataLength: number,
    tag = 0,
    old?: number,
  ): number {
    const e = this.store.add(name, slot, { kind, expires, charge, tag, dataLength }, old);
    if (e !== -1) this.motion += charge;
    return e;
  }

  /**
   * A live entry's address, or -1, now the most recently used. An expired
   * entry stays until a fresh one replaces it, the LRU evicts it or sweep()
   * drops it.
   */
  private live(name: Name, slot: number, stale = false): number {
    const e = this.store.get(name, slot);
    if (e === -1) return -1;
    const past = this.clock() - this.store.expires(e);
    return past < 0 || (stale && past < this.staleSeconds) ? e : -1;
  }

  /** Seconds an entry has left; a stale one is served as if it had STALE_TTL (RFC 8767 §4). */
  private remaining(e: number): number {
    const left = this.store.expires(e) - this.clock();
    return left > 0 ? Math.min(this.limits.max, left) : STALE_TTL;
  }

  // Every put of records (putRRset, putNxdomain, putNodata) applies
  // dnscache's clamp (spec §6.4, §6.5) and MINTTL/MAXTTL, whatever the
  // caller passed: absurd TTLs are not stored (unless MINTTL raises them)
  // and none outlives MAXTTL.
  /**
   * Stores an RRset of rank `rank` unless a live one of a higher rank holds
   * the slot (false then, and when it is not kept at all).
   */
  putRRset(
    name: Name,
    type: number,
    ttl: number,
    rdatas: readonly Buffer[],
    rank: Rank,
    side: Side = 'child',
  ): boolean {
    ttl = this.rrsetTtl(ttl);
    return ttl > 0 && this.storeRRset(name, type, side, this.clock() + ttl, rdatas, rank);
  }

  /** The rank of what lives in a slot now (0: nothing live). */
  private liveRank(e: number): number {
    if (e === -1 || this.store.expires(e) <= this.clock()) return 0;
    return this.store.kind(e) === KIND_RRSET ? this.store.tag(e) : NEGATIVE_RANK;
  }

  // The store* methods take an absolute expiry that the caller has already
  // brought within the TTL rules (the put* methods, snapshot.ts's restore).

  /** Stores an RRset until `expires`; false if it is not kept (outranked, empty, or too big). */
  storeRRset(name: Name, type: number, side: Side, expires: number, rdatas: readonly Buffer[], rank: Rank): boolean {
    const slot = rrsetSlot(side, type);
    if (rdatas.length === 0) return false;
    const charge = rrsetDataCharge(type, rdatas);
    if (charge > MAX_RRSET_DATA) return false;
    const old = this.store.get(name, slot);
    const oldRank = this.liveRank(old);
    if (oldRank > rank) return false;
    const length = packedLength(rdatas);
    const data = packRdatas(rdatas, length);
    // Every answer from a zone carries its NS RRset and their addresses
    // again: the same data stored again only moves the expiry and rank (and
    // recency, as a replacement would).
    if (old !== -1 && this.store.kind(old) === KIND_RRSET && this.store.dataLength(old) === length) {
      const start = this.store.dataStart(old);
      if (this.store.buffer(old).compare(data, 0, length, start, start + length) === 0) {
        this.store.setExpires(old, expires);
        this.store.setTag(old, rank);
        this.motion += this.store.charge(old);
        return true;
      }
    }
    const e = this.add(name, slot, KIND_RRSET, expires, ENTRY_OVERHEAD + name.length + charge, length, rank, old);
    if (e !== -1) copyBytes(data, 0, length, this.store.buffer(e), this.store.dataStart(e));
    return e !== -1;
  }

  /** A live RRset of at least `minRank` (default: any), from the child's side unless told. */
  getRRset(name: Name, type: number, minRank: Rank = RANK.ADDITIONAL, side: Side = 'child'): RRsetHit | null {
    const e = this.live(name, rrsetSlot(side, type));
    if (e === -1 || this.store.kind(e) !== KIND_RRSET || this.store.tag(e) < minRank) return null;
    return { ttl: this.remaining(e), rdatas: rdatasOf(this.store, e), rank: this.store.tag(e) as Rank };
  }

  private negativeCharge(name: Name, soa: StoredRecord | null): number {
    return ENTRY_OVERHEAD + name.length + (soa ? soa.name.length + soa.rdata.length : 0);
  }

  private putNegative(name: Name, slot: number, kind: number, expires: number, soa: StoredRecord | null): boolean {
    const e = this.add(name, slot, kind, expires, this.negativeCharge(name, soa), soaLength(soa));
    if (e !== -1) writeSoa(soa, this.store.buffer(e), this.store.dataStart(e));
    return e !== -1;
  }

  putNxdomain(name: Name, ttl: number, soa: StoredRecord | null): void {
    ttl = this.negativeTtl(ttl);
    if (ttl > 0) this.storeNxdomain(name, this.clock() + ttl, soa);
  }

  /** NODATA lives in the RRset's slot: a fresh RRset replaces it and vice versa. */
  putNodata(name: Name, type: number, ttl: number, soa: StoredRecord | null): void {
    ttl = this.negativeTtl(ttl);
    if (ttl > 0) this.storeNodata(name, type, this.clock() + ttl, soa);
  }

  storeNxdomain(name: Name, expires: number, soa: StoredRecord | null): boolean {
    return this.putNegative(name, SLOT_NXDOMAIN, KIND_NXDOMAIN, expires, soa);
  }

  storeNodata(name: Name, type: number, expires: number, soa: StoredRecord | null): boolean {
    return this.putNegative(name, SLOT_RRSET | type, KIND_NODATA, expires, soa);
  }

  /** A cached NXDOMAIN; with `stale`, also one expired less than `staleSeconds` ago (its TTL then STALE_TTL). */
  getNxdomain(name: Name, stale = false): NegativeHit | null {
    const e = this.live(name, SLOT_NXDOMAIN, stale);
    if (e === -1) return null;
    return { kind: 'nxdomain', ttl: this.remaining(e), soa: soaOf(this.store, e) };
  }

  /**
   * What a client may be answered from for (name, type): an RRset of an
   * answerable rank, or a NODATA. Both live under one slot, so a resolution
   * asks once. With `stale`, also one expired less than `staleSeconds` ago.
   */
  getTyped(name: Name, type: number, stale = false): TypedHit | null {
    const e = this.live(name, SLOT_RRSET | type, stale);
    if (e === -1) return null;
    if (this.store.kind(e) === KIND_RRSET) {
      const rank = this.store.tag(e);
      return rank < ANSWERABLE
        ? null
        : { kind: 'rrset', ttl: this.remaining(e), rdatas: rdatasOf(this.store, e), rank: rank as Rank };
    }
    return { kind: 'nodata', ttl: this.remaining(e), soa: soaOf(this.store, e) };
  }

  getNodata(name: Name, type: number): NegativeHit | null {
    const hit = this.getTyped(name, type);
    return hit !== null && hit.kind === 'nodata' ? hit : null;
  }

  /** A name that now has data is no longer NXDOMAIN. */
  forgetNxdomain(name: Name): void {
    const e = this.store.find(name, SLOT_NXDOMAIN);
    if (e !== -1) this.store.remove(e);
  }

  putFailure(name: Name, type: number, seconds: number): void {
    this.storeFailure(name, type, this.clock() + seconds);
  }

  storeFailure(name: Name, type: number, expires: number): boolean {
    return this.add(name, SLOT_FAILURE | type, KIND_FAILURE, expires, ENTRY_OVERHEAD + name.length, 0) !== -1;
  }

  hasFailure(name: Name, type: number): boolean {
    return this.live(name, SLOT_FAILURE | type) !== -1;
  }

  /** False if the reply is not kept (already expired, or too big). */
  putReply(name: Name, type: number, r: PackedReply): boolean {
    if (r.expires <= this.clock()) return false;
    const e = this.add(name, SLOT_REPLY | type, KIND_REPLY, r.expires, r.charge, r.end - r.start, r.builtAt);
    if (e !== -1) copyBytes(r.buf, r.start, r.end - r.start, this.store.buffer(e), this.store.dataStart(e));
    return e !== -1;
  }

  /** The hot-path lookup: a view of the stored bytes, valid until the cache next changes. */
  getReply(name: Name, type: number, now: number = this.clock()): ReplyBytes | undefined {
    const e = this.store.get(name, SLOT_REPLY | type);
    return e === -1 || this.store.expires(e) <= now ? undefined : replyOf(this.store, e);
  }

  /**
   * Drops expired entries - those past serve-stale's window too - from a
   * slow timer, so dead data does not hold the budget. (Stale entries are
   * the same entries, charged once; the LRU evicts them like any other.)
   */
  sweep(): number {
    const now = this.clock() - this.staleSeconds;
    let dead = 0;
    for (const e of this.store.oldestFirst()) {
      if (this.store.expires(e) <= now) {
        this.store.remove(e);
        dead++;
      }
    }
    return dead;
  }

  stats(): CacheStats {
    return {
      entries: this.store.size,
      bytes: this.store.bytes,
      maxBytes: this.maxBytes,
      motion: this.motion,
      memory: this.store.committed,
      inserted: this.store.inserted,
      evicted: this.store.evicted,
    };
  }
}
