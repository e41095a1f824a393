// Building reply messages. Used when a reply is first assembled (from a fresh
// upstream answer or from cached RRsets); the result is kept as bytes plus the
// offsets of its TTL fields so that later cache hits only copy and patch.

import {
  CLASS,
  EDNS_UDP_SIZE,
  FLAG_AA,
  FLAG_CD,
  FLAG_QR,
  FLAG_RA,
  FLAG_RD,
  FLAG_TC,
  HEADER_LENGTH,
  OPCODE_MASK,
  TYPE,
} from './constants';
import { copyBytes } from './copy';
import { Name } from './name';
import { rdataNameLayout } from './message';

export const enum Section {
  Answer = 0,
  Authority = 1,
  Additional = 2,
}

/** One record to write; `ttl` is what goes on the wire. */
export interface OutRecord {
  readonly name: Name;
  readonly type: number;
  readonly ttl: number;
  readonly rdata: Buffer;
}

/** A finished message without OPT, with the facts needed to patch or cut it later. */
export interface BuiltMessage {
  readonly bytes: Buffer;
  /** Offsets of every record's TTL field, in record order. */
  readonly ttlOffsets: readonly number[];
  /** Where each section ends (answer, authority, additional) and how many records it holds. */
  readonly sectionEnds: readonly [number, number, number];
  readonly counts: readonly [number, number, number];
  /** End of the header and question: what a truncated reply keeps. */
  readonly questionEnd: number;
}

const MAX_MESSAGE = 65535;

/**
 * The records do not fit in one DNS message. Upstream replies are accepted
 * at any size and RDATA names are written back uncompressed, so a hostile
 * authority can hand us more than 64 KiB of answer; that must end in a
 * reply code, never in a write past the buffer.
 */
export class MessageTooLong extends Error {}
const POINTER_LIMIT = 0x3fff;

/**
 * One 64 KiB scratch area for all writers: a reply is written and copied out
 * synchronously, so one is enough, and allocating 64 KiB per reply showed up
 * on the miss path. A writer that finds it taken (nested use, or one
 * abandoned by an exception) simply gets its own.
 */
const scratch = Buffer.allocUnsafe(MAX_MESSAGE);
let scratchInUse = false;

export class MessageWriter {
  private readonly buf: Buffer;
  private readonly ownsScratch: boolean;
  private off = HEADER_LENGTH;
  private section = Section.Answer;
  private readonly counts: [number, number, number] = [0, 0, 0];
  private readonly ends: [number, number, number] = [0, 0, 0];
  private readonly ttlOffsets: number[] = [];
  private readonly questionEnd: number;
  /** Name suffix → offset of an earlier occurrence, for compression. */
  private readonly names = new Map<string, number>();

  /**
   * Starts a reply: ID, our flags (QR, RD and OPCODE copied from the query's
   * byte 2, CD from its byte 3 as RFC 6840 §5.9 asks, RA; AA only for the
   * NXDOMAIN case dnscache marks authoritative), and the question. The
   * question is written with the client's own bytes when given, so the reply
   * echoes its letter case. Only the whole question name is then a
   * compression target (0xC00C): its suffixes are not registered.
   */
  constructor(
    id: number,
    rcode: number,
    flags2: number,
    flags3: number,
    question: Buffer | null,
    qname: Name | null,
    aa = false,
  ) {
    this.ownsScratch = !scratchInUse;
    scratchInUse = true;
    this.buf = this.ownsScratch ? scratch : Buffer.allocUnsafe(MAX_MESSAGE);
    const b = this.buf;
    b.writeUInt16BE(id, 0);
    b[2] = FLAG_QR | (flags2 & (OPCODE_MASK | FLAG_RD)) | (aa ? FLAG_AA : 0);
    b[3] = FLAG_RA | (flags3 & FLAG_CD) | (rcode & 0x0f);
    b.writeUInt16BE(question ? 1 : 0, 4);
    b.fill(0, 6, 12);
    if (question) {
      question.copy(b, HEADER_LENGTH);
      this.off = HEADER_LENGTH + question.length;
      // The question name starts at 12; answers for it point there (0xC00C),
      // which also makes their owner appear in the client's letter case.
      if (qname) this.names.set(qname, HEADER_LENGTH);
    }
    this.questionEnd = this.off;
  }

  /** Moves on to a later section; records must be written in section order. */
  startSection(section: Section): void {
    for (let s = this.section; s < section; s++) this.ends[s] = this.off;
    this.section = section;
  }

  private writeName(name: Name, compress: boolean): void {
    const b = this.buf;
    for (let i = 0; i < name.length - 1; i += name.charCodeAt(i) + 1) {
      const suffix = i === 0 ? name : name.slice(i);
      if (compress) {
        const at = this.names.get(suffix);
        if (at !== undefined) {
          b.writeUInt16BE(0xc000 | at, this.off);
          this.off += 2;
          return;
        }
        if (this.off <= POINTER_LIMIT) this.names.set(suffix, this.off);
      }
      const len = name.charCodeAt(i);
      this.off += b.write(name.slice(i, i + len + 1), this.off, len + 1, 'latin1');
    }
    b[this.off++] = 0;
  }

  record(rr: OutRecord): void {
    // Worst case: owner and RDATA uncompressed (compression only shrinks them).
    if (this.off + rr.name.length + 10 + rr.rdata.length > MAX_MESSAGE)
      throw new MessageTooLong('reply longer than 65535 bytes');
    const b = this.buf;
    this.writeName(rr.name, true);
    b.writeUInt16BE(rr.type, this.off);
    b.writeUInt16BE(CLASS.IN, this.off + 2);
    this.ttlOffsets.push(this.off + 4);
    b.writeUInt32BE(rr.ttl >>> 0, this.off + 4);
    const rdlengthAt = this.off + 8;
    this.off += 10;
    const layout = rdataNameLayout(rr.type);
    // Only RFC 1035 types may carry compressed names in RDATA (RFC 3597 §4).
    if (layout && rr.type <= TYPE.MX) {
      this.writeRdataCompressed(rr.rdata, layout.prefix, layout.names);
    } else {
      rr.rdata.copy(b, this.off);
      this.off += rr.rdata.length;
    }
    b.writeUInt16BE(this.off - rdlengthAt - 2, rdlengthAt);
    this.counts[this.section]++;
  }

  private writeRdataCompressed(rdata: Buffer, prefix: number, names: number): void {
    copyBytes(rdata, 0, prefix, this.buf, this.off);
    this.off += prefix;
    let pos = prefix;
    for (let i = 0; i < names; i++) {
      let end = pos;
      while (rdata[end] !== 0) end += rdata[end]! + 1;
      end++;
      this.writeName(rdata.toString('latin1', pos, end) as Name, true);
      pos = end;
    }
    copyBytes(rdata, pos, rdata.length - pos, this.buf, this.off);
    this.off += rdata.length - pos;
  }

  get length(): number {
    return this.off;
  }

  /** Gives the shared scratch back; finish() does it, and so must anyone abandoning a writer. */
  release(): void {
    if (this.ownsScratch && this.buf === scratch) scratchInUse = false;
  }

  finish(): BuiltMessage {
    this.startSection(Section.Additional);
    this.ends[Section.Additional] = this.off;
    const bytes = Buffer.allocUnsafe(this.off);
    copyBytes(this.buf, 0, this.off, bytes, 0);
    this.release();
    bytes.writeUInt16BE(this.counts[0], 6);
    bytes.writeUInt16BE(this.counts[1], 8);
    bytes.writeUInt16BE(this.counts[2], 10);
    return {
      bytes,
      ttlOffsets: this.ttlOffsets,
      sectionEnds: [...this.ends],
      counts: [...this.counts],
      questionEnd: this.questionEnd,
    };
  }
}

/** The OPT record we attach to replies for EDNS clients (RFC 6891), with the extended RCODE bits. */
export function optRecord(extendedRcode = 0, dnssecOk = false): Buffer {
  const opt = Buffer.alloc(11);
  // opt[0] = 0: root owner.
  opt.writeUInt16BE(TYPE.OPT, 1);
  opt.writeUInt16BE(EDNS_UDP_SIZE, 3);
  opt[5] = extendedRcode;
  opt[6] = 0; // version
  opt[7] = dnssecOk ? 0x80 : 0;
  // opt[8] = 0: the rest of the flags; opt[9..10] = 0: RDLENGTH 0.
  return opt;
}

export const OPT_LENGTH = 11;

/** The whole reply fits. */
export const FIT_WHOLE = 0;
/** The answer section fits: authority and additional are left out, without TC. */
export const FIT_ANSWER = 1;
/** Not even the answer fits: only the question is kept, and TC is set. */
export const FIT_QUESTION = 2;

/**
 * How much of a reply of `length` bytes, its answer section ending at
 * `answerEnd`, goes to a client that takes `limit` bytes, with `extra` bytes
 * (the OPT record) appended. Authority and additional are left out before
 * the answer is cut: they are not needed to use the answer, and RFC 2181 §9
 * reserves TC for an incomplete answer. The one truncation rule, for replies
 * built (fitMessage) and replies served from the cache (renderReply).
 */
export function replyFit(length: number, answerEnd: number, extra: number, limit: number): number {
  if (length + extra <= limit) return FIT_WHOLE;
  return answerEnd + extra <= limit ? FIT_ANSWER : FIT_QUESTION;
}

/**
 * Produces the bytes to send for `msg` under a size limit (replyFit),
 * appending `opt` when the client spoke EDNS; counts match what is kept
 * (unlike dnscache, which keeps them when it truncates).
 */
export function fitMessage(msg: BuiltMessage, limit: number, opt: Buffer | null): Buffer {
  switch (replyFit(msg.bytes.length, msg.sectionEnds[Section.Answer], opt ? opt.length : 0, limit)) {
    case FIT_WHOLE:
      return withOpt(msg.bytes, msg.bytes.length, msg.counts, opt, false);
    case FIT_ANSWER:
      return withOpt(msg.bytes, msg.sectionEnds[Section.Answer], [msg.counts[0], 0, 0], opt, false);
    default:
      return withOpt(msg.bytes, msg.questionEnd, [0, 0, 0], opt, true);
  }
}

function withOpt(bytes: Buffer, end: number, counts: readonly number[], opt: Buffer | null, tc: boolean): Buffer {
  const out = Buffer.allocUnsafe(end + (opt ? opt.length : 0));
  bytes.copy(out, 0, 0, end);
  out.writeUInt16BE(counts[0]!, 6);
  out.writeUInt16BE(counts[1]!, 8);
  out.writeUInt16BE(counts[2]! + (opt ? 1 : 0), 10);
  if (tc) out[2] = out[2]! | FLAG_TC;
  if (opt) opt.copy(out, end);
  return out;
}
