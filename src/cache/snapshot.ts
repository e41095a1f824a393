// Snapshots of the cache and restoring from them (dnscache-ctl dump and
// load; control/dumpfile.ts turns entries into lines and back): every
// entry as plain data with its absolute expiry. Not on the query path.

import { copyOf } from '../wire/copy';
import { Name } from '../wire/name';
import { Cache, Rank } from './cache';
import {
  KIND_FAILURE,
  KIND_NODATA,
  KIND_NXDOMAIN,
  KIND_REPLY,
  KIND_RRSET,
  rdatasOf,
  replyOf,
  Side,
  SLOT_PARENT,
  soaOf,
  StoredRecord,
} from './entries';
import { packReply, replyAnswerEnd, replyMessageLength, replyTtlOffsets } from './replies';
import { EntryStore } from './store';

/**
 * Every live entry, least recently used first (restoring them in this
 * order rebuilds the same recency), with absolute expiry times. Does not
 * touch recency; must be consumed before the cache is changed.
 */
export function* snapshot(cache: Cache): Generator<CacheSnapshotEntry> {
  const now = cache.now();
  for (const e of cache.store.oldestFirst()) {
    const s = entryOf(cache.store, e, now);
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
export function gradualSnapshot(cache: Cache): GradualSnapshot | null {
  const store = cache.store;
  if (!store.startWalk()) return null;
  let budget = 2 * store.size + 16;
  return {
    next: <T>(max: number, use: (entry: CacheSnapshotEntry) => T): T[] => {
      const now = cache.now();
      const out: T[] = [];
      while (out.length < max && budget > 0) {
        const e = store.walkNext();
        if (e === -1) break;
        budget--;
        const s = entryOf(store, e, now, true);
        if (s !== null) out.push(use(s));
      }
      return out;
    },
    close: () => store.endWalk(),
  };
}

/**
 * Entry `e` as plain data with its absolute expiry; null when it has
 * expired. With `view`, its RDATA and message are views of the cache's
 * memory, good only until the cache next changes (no copy: copies of a
 * whole cache, made faster than the garbage collector frees them, pushed
 * a full cache's process past DATALIMIT during a dump).
 */
function entryOf(store: EntryStore, e: number, now: number, view = false): CacheSnapshotEntry | null {
  const expires = store.expires(e);
  if (expires <= now) return null;
  const type = store.slot(e) & 0xffff;
  const name = store.name(e) as Name;
  switch (store.kind(e)) {
    case KIND_RRSET:
      return {
        kind: 'rrset',
        name,
        type,
        expires,
        rdatas: rdatasOf(store, e, view),
        rank: store.tag(e) as Rank,
        side: (store.slot(e) & ~0xffff) === SLOT_PARENT ? 'parent' : 'child',
      };
    case KIND_NXDOMAIN:
      return { kind: 'nxdomain', name, expires, soa: soaOf(store, e) };
    case KIND_NODATA:
      return { kind: 'nodata', name, type, expires, soa: soaOf(store, e) };
    case KIND_FAILURE:
      return { kind: 'failure', name, type, expires };
    case KIND_REPLY: {
      const r = replyOf(store, e);
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
export function restore(cache: Cache, s: CacheSnapshotEntry): boolean {
  const now = cache.now();
  if (!(s.expires > now)) return false;
  const expires = Math.min(s.expires, now + cache.limits.max);
  switch (s.kind) {
    case 'rrset':
      return cache.storeRRset(s.name, s.type, s.side, expires, s.rdatas, s.rank);
    case 'nxdomain':
      return cache.storeNxdomain(s.name, expires, s.soa);
    case 'nodata':
      return cache.storeNodata(s.name, s.type, expires, s.soa);
    case 'failure':
      return cache.storeFailure(s.name, s.type, expires);
    case 'reply':
      return cache.putReply(s.name, s.type, packReply(s.message, s.ttlOffsets, expires, s.builtAt, s.answerEnd));
  }
}

/** A snapshot taken a slice at a time (gradualSnapshot). */
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
