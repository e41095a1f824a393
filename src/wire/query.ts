// Parsing of client queries: header, the one question, and the OPT record.
// This runs for every packet, so it reads only what it needs and never
// decodes the rest of the message.

import {
  CLASSIC_UDP_SIZE,
  CLASS,
  FLAG_QR,
  FLAG_RD,
  FLAG_TC,
  HEADER_LENGTH,
  OPCODE_QUERY,
  RCODE,
  TYPE,
} from './constants';
import { RecordReader, WireError } from './message';
import { Name, NameError, readName, ROOT } from './name';

export interface ClientEdns {
  readonly udpSize: number;
  readonly version: number;
  readonly dnssecOk: boolean;
}

export interface ClientQuery {
  readonly kind: 'query';
  readonly id: number;
  /** Byte 2 of the request header (RD, opcode), needed for replies. */
  readonly flags2: number;
  /** Byte 3 of the request header (CD). */
  readonly flags3: number;
  readonly qname: Name;
  readonly qtype: number;
  readonly qclass: number;
  /** The question exactly as the client sent it (letter case preserved), for echoing. */
  readonly questionStart: number;
  readonly questionEnd: number;
  readonly edns: ClientEdns | null;
}

/** A query we answer with an error code instead of resolving. */
export interface RejectedQuery {
  readonly kind: 'reject';
  readonly rcode: number;
  readonly id: number;
  readonly flags2: number;
  readonly flags3: number;
  /** End of the question if it was readable (so the reply can echo it), else 0. */
  readonly questionEnd: number;
  readonly qname: Name | null;
  readonly qtype: number;
  readonly edns: ClientEdns | null;
  readonly reason: string;
}

/** Not worth a reply: shorter than a header, or a response rather than a query. */
export interface IgnoredQuery {
  readonly kind: 'ignore';
  readonly reason: string;
}

export type ParsedQuery = ClientQuery | RejectedQuery | IgnoredQuery;

interface OptResult {
  edns: ClientEdns | null;
  malformed: string | null;
}

const NO_OPT: OptResult = { edns: null, malformed: null };

/** readOpt's reader, reused: it runs to the end without yielding, so one serves every query. */
const optReader = new RecordReader(Buffer.alloc(0), 0);

/**
 * Looks for the OPT record. Queries normally carry nothing but the question
 * and at most one OPT in the additional section; other records (in any
 * section, e.g. a TSIG we do not support) are skipped over rather than
 * rejected, as dnscache ignores those counts - but an OPT outside the
 * additional section, a second OPT, or a record that cannot be read is
 * malformed.
 */
function readOpt(buf: Buffer, pos: number): OptResult {
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  const total = ancount + nscount + arcount;
  // Records anywhere are read: an OPT in the answer section is an error too (RFC 6891 §6.1.1).
  if (total === 0) return NO_OPT;
  let edns: ClientEdns | null = null;
  const reader = optReader.reset(buf, pos);
  for (let i = 0; i < total; i++) {
    const start = reader.pos;
    try {
      reader.next();
    } catch (e) {
      if (e instanceof NameError) return { edns: null, malformed: `bad name in record: ${e.message}` };
      if (e instanceof WireError) return { edns: null, malformed: e.message };
      throw e;
    }
    if (reader.type === TYPE.OPT) {
      if (i < ancount + nscount) return { edns: null, malformed: 'OPT outside the additional section' };
      if (edns !== null) return { edns: null, malformed: 'more than one OPT record' };
      // The root's own zero byte: a pointer to a root elsewhere is not accepted either.
      if (reader.name !== ROOT || reader.rdataStart !== start + 11)
        return { edns: null, malformed: 'OPT owner is not the root' };
      const ttl = reader.ttl;
      edns = {
        udpSize: reader.class,
        version: (ttl >>> 16) & 0xff,
        dnssecOk: (ttl & 0x8000) !== 0,
      };
    }
  }
  return { edns, malformed: null };
}

function rejected(
  buf: Buffer,
  rcode: number,
  reason: string,
  questionEnd: number,
  qname: Name | null,
  qtype: number,
  edns: ClientEdns | null,
): RejectedQuery {
  return {
    kind: 'reject',
    rcode,
    id: buf.readUInt16BE(0),
    flags2: buf[2]!,
    flags3: buf[3]!,
    questionEnd,
    qname,
    qtype,
    edns,
    reason,
  };
}

/**
 * Classifies a client packet (spec Part A): too short or QR set → ignore;
 * opcode ≠ QUERY → NOTIMP; QDCOUNT ≠ 1, unreadable question or OPT, TC set →
 * FORMERR; EDNS version > 0 → BADVERS; AXFR/IXFR → REFUSED; question type
 * OPT, TSIG or TKEY → FORMERR; a class other than IN/ANY, or RD = 0 →
 * REFUSED; otherwise a query to answer.
 */
export function parseQuery(buf: Buffer): ParsedQuery {
  if (buf.length < HEADER_LENGTH) return { kind: 'ignore', reason: 'shorter than a header' };
  const id = buf.readUInt16BE(0);
  const flags2 = buf[2]!;
  const flags3 = buf[3]!;
  if (flags2 & FLAG_QR) return { kind: 'ignore', reason: 'QR set' };
  if (((flags2 >> 3) & 0x0f) !== OPCODE_QUERY) return rejected(buf, RCODE.NOTIMP, 'opcode not QUERY', 0, null, 0, null);
  if (buf.readUInt16BE(4) !== 1) return rejected(buf, RCODE.FORMERR, 'QDCOUNT not 1', 0, null, 0, null);
  let qname: Name;
  let nameEnd: number;
  try {
    ({ name: qname, end: nameEnd } = readName(buf, HEADER_LENGTH));
  } catch (e) {
    if (e instanceof NameError)
      return rejected(buf, RCODE.FORMERR, `bad question name: ${e.message}`, 0, null, 0, null);
    throw e;
  }
  if (nameEnd + 4 > buf.length)
    return rejected(buf, RCODE.FORMERR, 'question runs past end of packet', 0, null, 0, null);
  const qtype = buf.readUInt16BE(nameEnd);
  const qclass = buf.readUInt16BE(nameEnd + 2);
  const questionEnd = nameEnd + 4;
  const opt = readOpt(buf, questionEnd);
  if (opt.malformed) return rejected(buf, RCODE.FORMERR, opt.malformed, questionEnd, qname, qtype, null);
  const edns = opt.edns;
  if (flags2 & FLAG_TC) return rejected(buf, RCODE.FORMERR, 'TC set in a query', questionEnd, qname, qtype, edns);
  if (edns && edns.version !== 0)
    return rejected(buf, RCODE.BADVERS, `EDNS version ${edns.version}`, questionEnd, qname, qtype, edns);
  if (qtype === TYPE.AXFR || qtype === TYPE.IXFR)
    return rejected(buf, RCODE.REFUSED, 'zone transfer', questionEnd, qname, qtype, edns);
  // Meta-types that only ever travel as records (RFC 6891, RFC 8945, RFC 2930): never a question.
  if (qtype === TYPE.OPT || qtype === TYPE.TSIG || qtype === TYPE.TKEY)
    return rejected(buf, RCODE.FORMERR, `question type ${qtype}`, questionEnd, qname, qtype, edns);
  if (qclass !== CLASS.IN && qclass !== CLASS.ANY)
    return rejected(buf, RCODE.REFUSED, `class ${qclass}`, questionEnd, qname, qtype, edns);
  if (!(flags2 & FLAG_RD))
    return rejected(buf, RCODE.REFUSED, 'recursion not desired', questionEnd, qname, qtype, edns);
  return {
    kind: 'query',
    id,
    flags2,
    flags3,
    qname,
    qtype,
    qclass,
    questionStart: HEADER_LENGTH,
    questionEnd,
    edns,
  };
}

/** The UDP reply limit for a client: 512 without EDNS, else its size within [512, ours]. */
export function clientUdpLimit(edns: ClientEdns | null, ourMax: number): number {
  if (!edns) return CLASSIC_UDP_SIZE;
  return Math.max(CLASSIC_UDP_SIZE, Math.min(edns.udpSize, ourMax));
}
