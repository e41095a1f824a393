// Flushing (dnscache-ctl flush, flush-subtree, flush-all): removing entries by
// name from a running cache. Not on the query path; flush and flush-subtree
// walk the whole LRU once.

import { TYPE } from '../wire/constants';
import { Message, parseMessage } from '../wire/message';
import { isAtOrBelow, lowerByte, Name, readName } from '../wire/name';
import { Cache } from './cache';
import { KIND_REPLY, replyOf } from './entries';
import { replyMessageLength } from './replies';
import { EntryStore } from './store';

/**
 * Removes every entry for `name` (all types; RRsets, negative, reply and
 * failure entries), and every reply for another name whose answer went
 * through it (a CNAME chain to it, or its records).
 */
export function flushName(cache: Cache, name: Name): number {
  return flushWhere(cache.store, (owner) => owner === name, name);
}

/** Removes every entry at or below `zone`, and every reply whose answer went through a name there. */
export function flushSubtree(cache: Cache, zone: Name): number {
  return flushWhere(cache.store, (owner) => isAtOrBelow(owner, zone), zone);
}

/** Empties the cache (motion is kept: it counts bytes stored since start). */
export function flushAll(cache: Cache): number {
  const n = cache.store.size;
  cache.store.clear();
  return n;
}

/** `top`: the name or zone `match` is about, for answerMentions' quick test. */
function flushWhere(store: EntryStore, match: (owner: Name) => boolean, top: Name): number {
  // A reply that mentions a name matching `top` spells out top's first label
  // somewhere (letter case aside): our writer compresses a name only into
  // one written before it. The root has no label, and matches every owner.
  const label = top.length > 1 ? Buffer.from(top.slice(0, 1 + top.charCodeAt(0)), 'latin1') : null;
  let doomed = 0;
  for (const e of store.oldestFirst()) {
    if (match(store.name(e) as Name) || (store.kind(e) === KIND_REPLY && answerMentions(store, e, match, label))) {
      store.remove(e);
      doomed++;
    }
  }
  return doomed;
}

/** Does the stored reply's answer hold a record owned by, or a CNAME to, a name `match` accepts? */
function answerMentions(store: EntryStore, e: number, match: (name: Name) => boolean, label: Buffer | null): boolean {
  const r = replyOf(store, e);
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

/** A stored message case-folded, for the search below (a message is at most 65535 bytes). */
let folded: Buffer | null = null;

/** Is `needle` (lower-case bytes) in buf[start, end), ASCII letters matched in either case? */
function containsIgnoringCase(buf: Buffer, start: number, end: number, needle: Buffer): boolean {
  const n = end - start;
  const lower = (folded ??= Buffer.allocUnsafe(65536));
  for (let i = 0; i < n; i++) {
    lower[i] = lowerByte(buf[start + i]!);
  }
  return lower.subarray(0, n).indexOf(needle) !== -1;
}
