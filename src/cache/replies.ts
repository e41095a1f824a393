// Assembled replies kept as bytes: the cache-hit hot path. A hit copies the
// stored bytes, patches the client's ID, RD and CD bits and question
// (restoring its letter case and class), counts the TTLs down, and appends
// OPT for EDNS clients. Nothing is decoded or re-encoded.

import { FLAG_CD, FLAG_RD, FLAG_TC, HEADER_LENGTH } from '../wire/constants';
import { copyBytes } from '../wire/copy';
import { BuiltMessage, FIT_ANSWER, FIT_QUESTION, FIT_WHOLE, replyFit } from '../wire/writer';

/** A reply as stored: message, TTL offsets and trailers in buf[start, end). */
export interface ReplyBytes {
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
  /** When the message's TTLs were written (hits count them down from here). */
  readonly builtAt: number;
  /** When it expires: with builtAt, how much of its life is left (prefetch). */
  readonly expires: number;
}

/** A reply ready to be stored: made by makeReplyEntry or packReply. */
export interface PackedReply extends ReplyBytes {
  readonly charge: number;
}

/**
 * Makes a cache entry from a reply built for the first asker. `ttls` are the
 * TTLs written into the message (zeros under HIDETTL); `lifetime` is how long
 * the reply stays valid (the smallest real TTL in it). Returns null when the
 * reply must not be kept (lifetime 0).
 */
export function makeReplyEntry(built: BuiltMessage, lifetime: number, now: number): PackedReply | null {
  if (lifetime <= 0) return null;
  return packReply(built.bytes, built.ttlOffsets, now + lifetime, now, built.sectionEnds[0]);
}

/**
 * A reply as the cache keeps it: the message, then each TTL offset as two
 * bytes, then two 2-byte trailers - where the answer section ends, and the
 * message length - read from the end. (The answer's record count is the
 * message's own ANCOUNT.) Also how restored snapshot entries are rebuilt.
 */
export function packReply(
  message: Buffer,
  ttlOffsets: readonly number[],
  expires: number,
  builtAt: number,
  answerEnd: number,
): PackedReply {
  const packed = Buffer.allocUnsafe(message.length + 2 * ttlOffsets.length + TRAILER);
  let o = message.copy(packed, 0);
  for (const at of ttlOffsets) o = packed.writeUInt16BE(at, o);
  o = packed.writeUInt16BE(answerEnd, o);
  packed.writeUInt16BE(message.length, o);
  // Charged 22 + the message and its TTL offsets: the trailers are bookkeeping, as an entry's header is.
  return { buf: packed, start: 0, end: packed.length, builtAt, expires, charge: 22 + packed.length - TRAILER };
}

const TRAILER = 4;

/** The stored message's length. */
export function replyMessageLength(r: ReplyBytes): number {
  return r.buf.readUInt16BE(r.end - 2);
}

/** Where the stored message's answer section ends. */
export function replyAnswerEnd(r: ReplyBytes): number {
  return r.buf.readUInt16BE(r.end - 4);
}

/** The TTL offsets kept after the message. */
export function replyTtlOffsets(r: ReplyBytes): number[] {
  const out: number[] = [];
  for (let i = r.start + replyMessageLength(r); i < r.end - TRAILER; i += 2) out.push(r.buf.readUInt16BE(i));
  return out;
}

/**
 * Renders a cached reply for a client. `questionEnd` is where the client's
 * question ends in `query`; `limit` is the size the client can take (65535
 * over TCP); `opt` is appended for EDNS clients. The caller must only use
 * this for a question written without compression: then it has the same
 * wire length as the stored one and can be laid over it byte for byte.
 * TTLs are the stored ones less the entry's age, so no TTL table is kept.
 */
export function renderReply(
  r: ReplyBytes,
  query: Buffer,
  questionEnd: number,
  limit: number,
  opt: Buffer | null,
  now: number,
): Buffer {
  const extra = opt === null ? 0 : opt.length;
  const messageLength = replyMessageLength(r);
  const answerEnd = replyAnswerEnd(r);
  const fit = replyFit(messageLength, answerEnd, extra, limit);
  const end = fit === FIT_WHOLE ? messageLength : fit === FIT_ANSWER ? answerEnd : questionEnd;
  const tc = fit === FIT_QUESTION;
  const out = Buffer.allocUnsafe(end + extra);
  copyBytes(r.buf, r.start, end, out, 0);
  out[0] = query[0]!;
  out[1] = query[1]!;
  out[2] = (out[2]! & ~FLAG_RD) | (query[2]! & FLAG_RD) | (tc ? FLAG_TC : 0);
  // The stored reply carries the first asker's CD bit; this client gets its own (RFC 6840 §5.9).
  out[3] = (out[3]! & ~FLAG_CD) | (query[3]! & FLAG_CD);
  copyBytes(query, HEADER_LENGTH, questionEnd - HEADER_LENGTH, out, HEADER_LENGTH);
  if (fit !== FIT_WHOLE) {
    // The answer section stays (its count was copied with the header) unless it is cut too.
    if (tc) out.writeUInt16BE(0, 6);
    out.writeUInt16BE(0, 8);
    out.writeUInt16BE(0, 10);
  }
  const age = now - r.builtAt;
  if (age > 0) {
    const data = r.buf;
    const last = r.end - TRAILER;
    for (let i = r.start + messageLength; i < last; i += 2) {
      const at = (data[i]! << 8) | data[i + 1]!;
      if (at >= end) break;
      const ttl = out.readUInt32BE(at) - age;
      out.writeUInt32BE(ttl > 0 ? ttl : 0, at);
    }
  }
  if (opt !== null) {
    opt.copy(out, end);
    out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  }
  return out;
}
