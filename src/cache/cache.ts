// The one cache: RRsets, negative answers and assembled replies share a
// single LRU under one byte budget (CACHESIZE), so memory stays predictable
// whatever mix of data the clients ask for.
//
// Charges follow dnscache (spec §6.3): 22 + owner length + data, where data
// is what dnscache would store for the type. Assembled replies are charged
// their byte length plus the same 22-byte overhead.

import { TYPE } from '../wire/constants';
import { Message, parseMessage } from '../wire/message';
import { isAtOrBelow, lowerByte, Name, readName } from '../wire/name';
import { readLatin1, writeLatin1 } from '../wire/latin1';
import { copyBytes, copyOf } from '../wire/copy';
import { EntryStore } from './store';
import { PackedReply, packReply, replyAnswerEnd, replyMessageLength, ReplyBytes, replyTtlOffsets } from './replies';

// The reply entry's shapes live with its format (replies.ts); importers of the cache find them here too.
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

/**
 * Which side of a zone cut an RRset was seen on. The child's NS set and
 * addresses are what the zone says of itself; the parent's (a referral's NS
 * set and glue) are kept beside them, so that when the child's fail -
 * expired, dead, lame - resolution can go back to what the parent said.
 */
export type Side = 'child' | 'parent';

/** MINTTL and MAXTTL, in seconds: the operator's bounds on what the cache keeps. */
export interface TtlLimits {
  /** Everything is kept at least this long, TTL 0 included (negative answers too). */
  readonly min: number;
  /** Nothing is kept longer; at most MAX_TTL. */
  readonly max: number;
}

/** dnscache's own bounds: no minimum, a week at most. */
export const DNSCACHE_TTL_LIMITS: TtlLimits = { min: 0, max: MAX_TTL };

export interface StoredRecord {
  readonly name: Name;
  readonly type: number;
  readonly rdata: Buffer;
}

// What an entry is. NODATA shares the RRset's slot, so the kind tells them apart.
const KIND_RRSET = 1;
const KIND_NODATA = 2;
const KIND_NXDOMAIN = 3;
const KIND_FAILURE = 4;
const KIND_REPLY = 5;

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

function packedLength(rdatas: readonly Buffer[]): number {
  let length = 0;
  for (const r of rdatas) length += 2 + r.length;
  return length;
}

/** The RDATAs as stored - each a 2-byte length and the bytes - in the first `length` bytes of the buffer returned. */
function packRdatas(rdatas: readonly Buffer[], length: number): Buffer {
  const buf = length <= scratch.length ? scratch : Buffer.allocUnsafe(length);
  let o = 0;
  for (const r of rdatas) {
    o = buf.writeUInt16BE(r.length, o);
    copyBytes(r, 0, r.length, buf, o);
    o += r.length;
  }
  return buf;
}

const scratch = Buffer.allocUnsafe(65536 + 4);

/** Is `needle` (lower-case bytes) in buf[start, end), ASCII letters matched in either case? */
function containsIgnoringCase(buf: Buffer, start: number, end: number, needle: Buffer): boolean {
  const n = end - start;
  const lower = n <= scratch.length ? scratch : Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    lower[i] = lowerByte(buf[start + i]!);
  }
  return lower.subarray(0, n).indexOf(needle) !== -1;
}

/** Copies out of the store: its blocks are reused once an entry goes. */
function unpackRdatas(buf: Buffer, start: number, end: number, view = false): Buffer[] {
  const out: Buffer[] = [];
  for (let i = start; i < end;) {
    const len = buf.readUInt16BE(i);
    out.push(view ? buf.subarray(i + 2, i + 2 + len) : copyOf(buf, i + 2, i + 2 + len));
    i += 2 + len;
  }
  return out;
}

/** A negative entry's SOA as stored: type, name length, name, RDATA; nothing for none. */
function soaLength(soa: StoredRecord | null): number {
  return soa === null ? 0 : 3 + soa.name.length + soa.rdata.length;
}

function writeSoa(soa: StoredRecord | null, buf: Buffer, at: number): void {
  if (soa === null) return;
  at = buf.writeUInt16BE(soa.type, at);
  buf[at++] = soa.name.length;
  at += writeLatin1(buf, soa.name, at);
  soa.rdata.copy(buf, at);
}

function readSoa(buf: Buffer, start: number, length: number): StoredRecord | null {
  if (length === 0) return null;
  const nameEnd = start + 3 + buf[start + 2]!;
  return {
    name: readLatin1(buf, start + 3, nameEnd) as Name,
    type: buf.readUInt16BE(start),
    rdata: copyOf(buf, nameEnd, start + length),
  };
}

// An entry's slot among its name's entries: what it is, and for which type.
// NODATA shares the RRset's slot: a fresh RRset replaces it and vice versa.
const SLOT_RRSET = 0x10000;
const SLOT_NXDOMAIN = 0x20000;
const SLOT_FAILURE = 0x30000;
const SLOT_REPLY = 0x40000;
/** A parent-side RRset: a referral's NS set, or glue for one of its names. */
const SLOT_PARENT = 0x50000;

function rrsetSlot(side: Side, type: number): number {
  return (side === 'child' ? SLOT_RRSET : SLOT_PARENT) | type;
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
  private readonly store: EntryStore;
  private motion = 0;

  /**
   * `staleSeconds` (STALE): how long past its expiry an entry is kept for
   * serve-stale (RFC 8767); 0 keeps nothing expired for it.
   */
  constructor(
    readonly maxBytes: number,
    private readonly clock: Clock = systemClock,
    private readonly limits: TtlLimits = DNSCACHE_TTL_LIMITS,
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

  // Every put applies dnscache's clamp (spec §6.4, §6.5) and MINTTL/MAXTTL,
  // whatever the caller passed: absurd TTLs are not stored (unless MINTTL
  // raises them) and none outlives MAXTTL.
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
    return ttl > 0 && this.storeRRset(name, rrsetSlot(side, type), type, this.clock() + ttl, rdatas, rank);
  }

  /** The rank of what lives in a slot now (0: nothing live). */
  private liveRank(e: number): number {
    if (e === -1 || this.store.expires(e) <= this.clock()) return 0;
    return this.store.kind(e) === KIND_RRSET ? this.store.tag(e) : NEGATIVE_RANK;
  }

  /** Stores an RRset until `expires` (putRRset, restore); false if it is not kept (outranked, empty, or too big). */
  private storeRRset(
    name: Name,
    slot: number,
    type: number,
    expires: number,
    rdatas: readonly Buffer[],
    rank: Rank,
  ): boolean {
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
    return { ttl: this.remaining(e), rdatas: this.rdatasOf(e), rank: this.store.tag(e) as Rank };
  }

  private negativeCharge(name: Name, soa: StoredRecord | null): number {
    return ENTRY_OVERHEAD + name.length + (soa ? soa.name.length + soa.rdata.length : 0);
  }

  private putNegative(name: Name, slot: number, kind: number, expires: number, soa: StoredRecord | null): boolean {
    const e = this.add(name, slot, kind, expires, this.negativeCharge(name, soa), soaLength(soa));
    if (e !== -1) writeSoa(soa, this.store.buffer(e), this.store.dataStart(e));
    return e !== -1;
  }

  private soaOf(e: number): StoredRecord | null {
    return readSoa(this.store.buffer(e), this.store.dataStart(e), this.store.dataLength(e));
  }

  putNxdomain(name: Name, ttl: number, soa: StoredRecord | null): void {
    ttl = this.negativeTtl(ttl);
    if (ttl <= 0) return;
    this.putNegative(name, SLOT_NXDOMAIN, KIND_NXDOMAIN, this.clock() + ttl, soa);
  }

  /** NODATA lives in the RRset's slot: a fresh RRset replaces it and vice versa. */
  putNodata(name: Name, type: number, ttl: number, soa: StoredRecord | null): void {
    ttl = this.negativeTtl(ttl);
    if (ttl <= 0) return;
    this.putNegative(name, SLOT_RRSET | type, KIND_NODATA, this.clock() + ttl, soa);
  }

  /** A cached NXDOMAIN; with `stale`, also one expired less than `staleSeconds` ago (its TTL then STALE_TTL). */
  getNxdomain(name: Name, stale = false): NegativeHit | null {
    const e = this.live(name, SLOT_NXDOMAIN, stale);
    if (e === -1) return null;
    return { kind: 'nxdomain', ttl: this.remaining(e), soa: this.soaOf(e) };
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
        : { kind: 'rrset', ttl: this.remaining(e), rdatas: this.rdatasOf(e), rank: rank as Rank };
    }
    return { kind: 'nodata', ttl: this.remaining(e), soa: this.soaOf(e) };
  }

  private rdatasOf(e: number, view = false): Buffer[] {
    const start = this.store.dataStart(e);
    return unpackRdatas(this.store.buffer(e), start, start + this.store.dataLength(e), view);
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

  private storeFailure(name: Name, type: number, expires: number): boolean {
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
    return e === -1 || this.store.expires(e) <= now ? undefined : this.replyOf(e);
  }

  private replyOf(e: number): ReplyBytes {
    const start = this.store.dataStart(e);
    return {
      buf: this.store.buffer(e),
      start,
      end: start + this.store.dataLength(e),
      builtAt: this.store.tag(e),
      expires: this.store.expires(e),
    };
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

  // --- Control (dnscache-ctl): flushing, dumping and restoring entries. ---
  // None of this is on the query path; each walks the whole LRU once.

  /**
   * Removes every entry for `name` (all types; RRsets, negative, reply and
   * failure entries), and every reply for another name whose answer went
   * through it (a CNAME chain to it, or its records).
   */
  flushName(name: Name): number {
    return this.flushWhere((owner) => owner === name, name);
  }

  /** Removes every entry at or below `zone`, and every reply whose answer went through a name there. */
  flushSubtree(zone: Name): number {
    return this.flushWhere((owner) => isAtOrBelow(owner, zone), zone);
  }

  /** Empties the cache (motion is kept: it counts bytes stored since start). */
  flushAll(): number {
    const n = this.store.size;
    this.store.clear();
    return n;
  }

  /** `top`: the name or zone `match` is about, for answerMentions' quick test. */
  private flushWhere(match: (owner: Name) => boolean, top: Name): number {
    // A reply that mentions a name matching `top` spells out top's first label
    // somewhere (letter case aside): our writer compresses a name only into
    // one written before it. The root has no label, and matches every owner.
    const label = top.length > 1 ? Buffer.from(top.slice(0, 1 + top.charCodeAt(0)), 'latin1') : null;
    let doomed = 0;
    for (const e of this.store.oldestFirst()) {
      if (
        match(this.store.name(e) as Name) ||
        (this.store.kind(e) === KIND_REPLY && this.answerMentions(e, match, label))
      ) {
        this.store.remove(e);
        doomed++;
      }
    }
    return doomed;
  }

  /** Does the stored reply's answer hold a record owned by, or a CNAME to, a name `match` accepts? */
  private answerMentions(e: number, match: (name: Name) => boolean, label: Buffer | null): boolean {
    const r = this.replyOf(e);
    const end = r.start + replyMessageLength(r);
    if (label !== null && !containsIgnoringCase(r.buf, r.start, end, label)) return false;
    let message: Message;
    try {
      message = parseMessage(r.buf.subarray(r.start, end));
    } catch {
      return false; // the cache wrote these bytes itself; a reply it cannot read names nothing
    }
    for (const rr of message.answer) {
      if (match(rr.name)) return true;
      if (rr.type === TYPE.CNAME && match(readName(rr.rdata, 0).name)) return true;
    }
    return false;
  }

  /**
   * Every live entry, least recently used first (restoring them in this
   * order rebuilds the same recency), with absolute expiry times. Does not
   * touch recency; must be consumed before the cache is changed.
   */
  *snapshot(): Generator<CacheSnapshotEntry> {
    const now = this.clock();
    for (const e of this.store.oldestFirst()) {
      const s = this.entryOf(e, now);
      if (s !== null) yield s;
    }
  }

  /**
   * A snapshot taken a slice at a time, with the cache serving (and
   * changing) between slices: every entry live when it is reached, least
   * recently used first; one used meanwhile may come twice (a load keeps
   * the later), none is missed unless it goes. A walk that never ends
   * under churn is cut at twice the entries there were at its start.
   * Null while another runs.
   */
  gradualSnapshot(): GradualSnapshot | null {
    if (!this.store.startWalk()) return null;
    let budget = 2 * this.store.size + 16;
    return {
      next: <T>(max: number, use: (entry: CacheSnapshotEntry) => T): T[] => {
        const now = this.clock();
        const out: T[] = [];
        while (out.length < max && budget > 0) {
          const e = this.store.walkNext();
          if (e === -1) break;
          budget--;
          const s = this.entryOf(e, now, true);
          if (s !== null) out.push(use(s));
        }
        return out;
      },
      close: () => this.store.endWalk(),
    };
  }

  /**
   * Entry `e` as plain data with its absolute expiry; null when it has
   * expired. With `view`, its RDATA and message are views of the cache's
   * memory, good only until the cache next changes (no copy: copies of a
   * whole cache, made faster than the garbage collector frees them, pushed
   * a full cache's process past DATALIMIT during a dump).
   */
  private entryOf(e: number, now: number, view = false): CacheSnapshotEntry | null {
    const expires = this.store.expires(e);
    if (expires <= now) return null;
    const type = this.store.slot(e) & 0xffff;
    const name = this.store.name(e) as Name;
    switch (this.store.kind(e)) {
      case KIND_RRSET:
        return {
          kind: 'rrset',
          name,
          type,
          expires,
          rdatas: this.rdatasOf(e, view),
          rank: this.store.tag(e) as Rank,
          side: (this.store.slot(e) & ~0xffff) === SLOT_PARENT ? 'parent' : 'child',
        };
      case KIND_NXDOMAIN:
        return { kind: 'nxdomain', name, expires, soa: this.soaOf(e) };
      case KIND_NODATA:
        return { kind: 'nodata', name, type, expires, soa: this.soaOf(e) };
      case KIND_FAILURE:
        return { kind: 'failure', name, type, expires };
      case KIND_REPLY: {
        const r = this.replyOf(e);
        return {
          kind: 'reply',
          name,
          type,
          expires,
          builtAt: r.builtAt,
          message: view
            ? r.buf.subarray(r.start, r.start + replyMessageLength(r))
            : copyOf(r.buf, r.start, r.start + replyMessageLength(r)),
          ttlOffsets: replyTtlOffsets(r),
          answerEnd: replyAnswerEnd(r),
        };
      }
      default:
        return null;
    }
  }

  /**
   * Stores an entry from a snapshot with its absolute expiry (capped at
   * MAXTTL from now, as every put is). Returns false if it was not stored:
   * expired, or too big for the cache, as the put methods would decide.
   * The caller vouches for the contents (src/control/dumpfile.ts checks
   * what it reads: a reply entry's offsets must match its message).
   */
  restore(s: CacheSnapshotEntry): boolean {
    const now = this.clock();
    if (!(s.expires > now)) return false;
    const expires = Math.min(s.expires, now + this.limits.max);
    switch (s.kind) {
      case 'rrset':
        return this.storeRRset(s.name, rrsetSlot(s.side, s.type), s.type, expires, s.rdatas, s.rank);
      case 'nxdomain':
        return this.putNegative(s.name, SLOT_NXDOMAIN, KIND_NXDOMAIN, expires, s.soa);
      case 'nodata':
        return this.putNegative(s.name, SLOT_RRSET | s.type, KIND_NODATA, expires, s.soa);
      case 'failure':
        return this.storeFailure(s.name, s.type, expires);
      case 'reply':
        return this.putReply(s.name, s.type, packReply(s.message, s.ttlOffsets, expires, s.builtAt, s.answerEnd));
    }
  }
}

/** A snapshot taken a slice at a time (Cache.gradualSnapshot). */
export interface GradualSnapshot {
  /**
   * `use` of each of up to `max` more entries; none at the end. An entry's
   * buffers are views of the cache's memory, good only while `use` runs.
   */
  next<T>(max: number, use: (entry: CacheSnapshotEntry) => T): T[];
  /** Ends the walk (another may start). */
  close(): void;
}

/** One cache entry as snapshot() gives it and restore() takes it: absolute expiry, plain data. */
export type CacheSnapshotEntry =
  | {
      readonly kind: 'rrset';
      readonly name: Name;
      readonly type: number;
      readonly expires: number;
      readonly rdatas: readonly Buffer[];
      readonly rank: Rank;
      readonly side: Side;
    }
  | { readonly kind: 'nxdomain'; readonly name: Name; readonly expires: number; readonly soa: StoredRecord | null }
  | {
      readonly kind: 'nodata';
      readonly name: Name;
      readonly type: number;
      readonly expires: number;
      readonly soa: StoredRecord | null;
    }
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
    };
