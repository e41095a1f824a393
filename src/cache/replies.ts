// Assembled replies kept as bytes: the cache-hit hot path. A hit copies the
// stored bytes, patches the client's ID, RD bit and question (restoring its
// letter case and class), counts the TTLs down, and appends OPT for EDNS
// clients. Nothing is decoded or re-encoded.

import { FLAG_RD, FLAG_TC, HEADER_LENGTH } from '../wire/constants';
import { BuiltMessage } from '../wire/writer';
import { ReplyEntry } from './cache';

/**
 * Makes a cache entry from a reply built for the first asker. `ttls` are the
 * TTLs written into the message (zeros under HIDETTL); `lifetime` is how long
 * the reply stays valid (the smallest real TTL in it). Returns null when the
 * reply must not be kept (lifetime 0).
 */
export function makeReplyEntry(built: BuiltMessage, lifetime: number, now: number, logText: string): ReplyEntry | null {
  if (lifetime <= 0 || built.ttlOffsets.length > 0xffff) return null;
  const ttls = new Uint32Array(built.ttlOffsets.length);
  for (let i = 0; i < ttls.length; i++) ttls[i] = built.bytes.readUInt32BE(built.ttlOffsets[i]!);
  return {
    kind: 'reply',
    expires: now + lifetime,
    charge: 22 + built.bytes.length + ttls.length * 6 + logText.length,
    bytes: built.bytes,
    ttlOffsets: Uint16Array.from(built.ttlOffsets),
    ttls,
    builtAt: now,
    answerEnd: built.sectionEnds[0],
    answerCount: built.counts[0],
    logText,
  };
}

/**
 * Renders a cached reply for a client. `questionEnd` is where the client's
 * question ends in `query`; `limit` is the size the client can take (65535
 * over TCP); `opt` is appended for EDNS clients. The caller must only use
 * this for a question written without compression: then it has the same
 * wire length as the stored one and can be laid over it byte for byte.
 */
export function renderReply(e: ReplyEntry, query: Buffer, questionEnd: number, limit: number, opt: Buffer | null, now: number): Buffer {
  const stored = e.bytes;
  const extra = opt === null ? 0 : opt.length;
  let end = stored.length;
  let tc = false;
  let keepAuthority = true;
  if (end + extra > limit) {
    keepAuthority = false;
    if (e.answerEnd + extra <= limit) {
      end = e.answerEnd;
    } else {
      end = questionEnd;
      tc = true;
    }
  }
  const out = Buffer.allocUnsafe(end + extra);
  stored.copy(out, 0, 0, end);
  out[0] = query[0]!;
  out[1] = query[1]!;
  out[2] = (out[2]! & ~FLAG_RD) | (query[2]! & FLAG_RD) | (tc ? FLAG_TC : 0);
  query.copy(out, HEADER_LENGTH, HEADER_LENGTH, questionEnd);
  if (!keepAuthority) {
    out.writeUInt16BE(tc ? 0 : e.answerCount, 6);
    out.writeUInt16BE(0, 8);
    out.writeUInt16BE(0, 10);
  }
  const age = now - e.builtAt;
  const offsets = e.ttlOffsets;
  const ttls = e.ttls;
  for (let i = 0; i < offsets.length; i++) {
    const at = offsets[i]!;
    if (at >= end) break;
    const ttl = ttls[i]! - age;
    out.writeUInt32BE(ttl > 0 ? ttl : 0, at);
  }
  if (opt !== null) {
    opt.copy(out, end);
    out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  }
  return out;
}
