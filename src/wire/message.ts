// Full, lossless parsing of DNS messages received from upstream servers.
//
// We do not round-trip records through a typed decoder: RDATA is kept as raw
// bytes; only the embedded names of types that may arrive compressed are
// expanded (NAME_LAYOUTS: RFC 1035's, and RP, AFSDB, RT, KX, SRV and DNAME,
// after RFC 3597 §4), so any record type - known or not - is cached and
// served as the authority sent it, its names aside.

import { FLAG_TC, HEADER_LENGTH, TYPE } from './constants';
import { copyBytes, copyOf } from './copy';
import { writeLatin1 } from './latin1';
import { Name, NameError, readName, ROOT } from './name';

export class WireError extends Error {}

export interface ResourceRecord {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  /** RDATA with embedded names decompressed (and lower-cased). */
  readonly rdata: Buffer;
}

export interface Question {
  readonly name: Name;
  readonly type: number;
  readonly class: number;
}

export interface Edns {
  readonly udpSize: number;
  readonly version: number;
  readonly dnssecOk: boolean;
  /** Upper 8 bits of the extended RCODE. */
  readonly extendedRcode: number;
}

export interface Message {
  readonly id: number;
  readonly qr: boolean;
  readonly opcode: number;
  readonly aa: boolean;
  readonly tc: boolean;
  readonly rd: boolean;
  readonly ra: boolean;
  /** Full RCODE: the header's 4 bits plus the OPT record's upper bits. */
  readonly rcode: number;
  readonly question: Question | null;
  readonly answer: readonly ResourceRecord[];
  readonly authority: readonly ResourceRecord[];
  /** Additional section without the OPT pseudo-record. */
  readonly additional: readonly ResourceRecord[];
  readonly edns: Edns | null;
}

/** How the names inside RDATA are laid out, per type: fixed bytes before, names, then the rest raw. */
interface RdataLayout {
  readonly prefix: number;
  readonly names: number;
}

const NAME_LAYOUTS: ReadonlyMap<number, RdataLayout> = new Map([
  [TYPE.NS, { prefix: 0, names: 1 }],
  [TYPE.MD, { prefix: 0, names: 1 }],
  [TYPE.MF, { prefix: 0, names: 1 }],
  [TYPE.CNAME, { prefix: 0, names: 1 }],
  [TYPE.MB, { prefix: 0, names: 1 }],
  [TYPE.MG, { prefix: 0, names: 1 }],
  [TYPE.MR, { prefix: 0, names: 1 }],
  [TYPE.PTR, { prefix: 0, names: 1 }],
  [TYPE.DNAME, { prefix: 0, names: 1 }],
  [TYPE.SOA, { prefix: 0, names: 2 }],
  [TYPE.MINFO, { prefix: 0, names: 2 }],
  [TYPE.RP, { prefix: 0, names: 2 }],
  [TYPE.MX, { prefix: 2, names: 1 }],
  [TYPE.AFSDB, { prefix: 2, names: 1 }],
  [TYPE.RT, { prefix: 2, names: 1 }],
  [TYPE.KX, { prefix: 2, names: 1 }],
  // RFC 2782 forbids compressing SRV targets, but some servers do it anyway.
  [TYPE.SRV, { prefix: 6, names: 1 }],
]);

/** Types whose RDATA names we decompress on input and may compress on output. */
export function rdataNameLayout(type: number): RdataLayout | undefined {
  return NAME_LAYOUTS.get(type);
}

function decompressRdata(buf: Buffer, start: number, end: number, layout: RdataLayout): Buffer {
  if (start + layout.prefix > end) throw new WireError('RDATA shorter than its fixed fields');
  // Read the names first, then write prefix, names and rest into one buffer:
  // no list of parts and no concatenation per record.
  const first = readName(buf, start + layout.prefix);
  if (first.end > end) throw new WireError('name in RDATA runs past RDLENGTH');
  const second = layout.names === 2 ? readName(buf, first.end) : null;
  if (second !== null && second.end > end) throw new WireError('name in RDATA runs past RDLENGTH');
  const restStart = second === null ? first.end : second.end;
  const out = Buffer.allocUnsafe(
    layout.prefix + first.name.length + (second === null ? 0 : second.name.length) + (end - restStart),
  );
  copyBytes(buf, start, layout.prefix, out, 0);
  let o = layout.prefix;
  o += writeLatin1(out, first.name, o);
  if (second !== null) o += writeLatin1(out, second.name, o);
  copyBytes(buf, restStart, end - restStart, out, o);
  return out;
}

/**
 * Reads a message's records in place, one at a time: where each one's
 * fields are, with nothing decoded but the owner name. The one record
 * reader: parseMessage reads every record through it, the client query
 * reader (query.ts) looks for OPT with it, and the dump loader
 * (control/dumpfile.ts) finds a stored reply's TTL fields with it.
 */
export class RecordReader {
  buf: Buffer;
  /** Where the next record starts. */
  pos: number;
  // The record next() read last:
  name: Name = ROOT;
  type = 0;
  class = 0;
  /** Offset of its TTL field. */
  ttlAt = 0;
  rdataStart = 0;
  rdataEnd = 0;

  constructor(buf: Buffer, pos: number) {
    this.buf = buf;
    this.pos = pos;
  }

  /** Starts over on `buf` at `pos`: a reader kept for reuse saves an allocation per message. */
  reset(buf: Buffer, pos: number): this {
    this.buf = buf;
    this.pos = pos;
    return this;
  }

  get ttl(): number {
    return this.buf.readUInt32BE(this.ttlAt);
  }

  /**
   * Reads the record at `pos` and moves past it. Throws NameError for an
   * unreadable owner name, WireError for a record that runs past the end.
   */
  next(): void {
    const buf = this.buf;
    const { name, end } = readName(buf, this.pos);
    if (end + 10 > buf.length) throw new WireError('record header runs past the end of the message');
    this.name = name;
    this.type = buf.readUInt16BE(end);
    this.class = buf.readUInt16BE(end + 2);
    this.ttlAt = end + 4;
    this.rdataStart = end + 10;
    this.rdataEnd = this.rdataStart + buf.readUInt16BE(end + 8);
    if (this.rdataEnd > buf.length) throw new WireError('RDATA runs past the end of the message');
    this.pos = this.rdataEnd;
  }
}

/** parseMessage's reader (it runs to the end without yielding, so one serves every call). */
const records = new RecordReader(Buffer.alloc(0), 0);

function readRecords(reader: RecordReader, count: number, out: ResourceRecord[]): void {
  const buf = reader.buf;
  for (let i = 0; i < count; i++) {
    reader.next();
    const type = reader.type;
    const layout = NAME_LAYOUTS.get(type);
    // A copy, not a view: the buffer a message came in may be reused.
    const rdata = layout
      ? decompressRdata(buf, reader.rdataStart, reader.rdataEnd, layout)
      : copyOf(buf, reader.rdataStart, reader.rdataEnd);
    out.push({ name: reader.name, type, class: reader.class, ttl: reader.ttl, rdata });
  }
}

/** Parses a whole message; throws WireError on anything malformed. */
export function parseMessage(buf: Buffer): Message {
  try {
    return parseMessageUnchecked(buf);
  } catch (e) {
    if (e instanceof NameError) throw new WireError(e.message);
    throw e;
  }
}

function parseMessageUnchecked(buf: Buffer): Message {
  if (buf.length < HEADER_LENGTH) throw new WireError('message shorter than a header');
  const b2 = buf[2]!;
  const b3 = buf[3]!;
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  if (qdcount > 1) throw new WireError(`QDCOUNT ${qdcount}`);
  let pos = HEADER_LENGTH;
  let question: Question | null = null;
  if (qdcount === 1) {
    const { name, end } = readName(buf, pos);
    if (end + 4 > buf.length) throw new WireError('question runs past the end of the message');
    question = { name, type: buf.readUInt16BE(end), class: buf.readUInt16BE(end + 2) };
    pos = end + 4;
  }
  const answer: ResourceRecord[] = [];
  const authority: ResourceRecord[] = [];
  const rawAdditional: ResourceRecord[] = [];
  const reader = records.reset(buf, pos);
  readRecords(reader, ancount, answer);
  readRecords(reader, nscount, authority);
  readRecords(reader, arcount, rawAdditional);

  let edns: Edns | null = null;
  const additional: ResourceRecord[] = [];
  for (const rr of rawAdditional) {
    if (rr.type !== TYPE.OPT) {
      additional.push(rr);
      continue;
    }
    if (edns !== null) throw new WireError('more than one OPT record');
    edns = {
      udpSize: rr.class,
      extendedRcode: rr.ttl >>> 24,
      version: (rr.ttl >>> 16) & 0xff,
      dnssecOk: (rr.ttl & 0x8000) !== 0,
    };
  }
  return {
    id: buf.readUInt16BE(0),
    qr: (b2 & 0x80) !== 0,
    opcode: (b2 >> 3) & 0x0f,
    aa: (b2 & 0x04) !== 0,
    tc: (b2 & FLAG_TC) !== 0,
    rd: (b2 & 0x01) !== 0,
    ra: (b3 & 0x80) !== 0,
    rcode: (b3 & 0x0f) | ((edns?.extendedRcode ?? 0) << 4),
    question,
    answer,
    authority,
    additional,
    edns,
  };
}

/** Reads the names out of decompressed RDATA (NS target, MX exchange, ...). */
export function rdataNames(type: number, rdata: Buffer): Name[] {
  const layout = NAME_LAYOUTS.get(type);
  if (!layout) return [];
  const names: Name[] = [];
  let pos = layout.prefix;
  for (let i = 0; i < layout.names; i++) {
    const { name, end } = readName(rdata, pos);
    names.push(name);
    pos = end;
  }
  return names;
}
