// Shared builders for the unit tests: names, raw wire bytes, records and
// messages, an adjustable clock. Kept free of assertions so every test file
// states its own expectations.

import * as dnsPacket from 'dns-packet';
import { Message, ResourceRecord } from '../../src/wire/message';
import { Name, nameFromText, readName } from '../../src/wire/name';
import { MessageWriter } from '../../src/wire/writer';

/** A canonical name from presentation text. */
export function n(text: string): Name {
  return nameFromText(text);
}

/** The wire bytes of a name (uncompressed, letter case as given). */
export function wireName(text: string): Buffer {
  const out: number[] = [];
  const trimmed = text.replace(/\.$/, '');
  if (trimmed !== '') {
    for (const label of trimmed.split('.')) {
      out.push(label.length);
      for (let i = 0; i < label.length; i++) out.push(label.charCodeAt(i));
    }
  }
  out.push(0);
  return Buffer.from(out);
}

/** Appends bytes piece by piece, for hand-made (often malformed) messages. */
export class Bytes {
  private readonly bytes: number[] = [];

  get length(): number {
    return this.bytes.length;
  }

  u8(...values: number[]): this {
    for (const v of values) this.bytes.push(v & 0xff);
    return this;
  }

  u16(v: number): this {
    return this.u8(v >> 8, v);
  }

  u32(v: number): this {
    return this.u16(Math.floor(v / 0x10000)).u16(v & 0xffff);
  }

  raw(buf: Uint8Array): this {
    for (const b of buf) this.bytes.push(b);
    return this;
  }

  /** Labels written as given (case kept), ending in the zero byte unless `pointer` follows. */
  name(text: string): this {
    return this.raw(wireName(text));
  }

  /** Labels without the terminating zero, to be followed by a pointer. */
  labels(text: string): this {
    const w = wireName(text);
    return this.raw(w.subarray(0, w.length - 1));
  }

  pointer(offset: number): this {
    return this.u16(0xc000 | offset);
  }

  header(h: HeaderFields = {}): this {
    return this.u16(h.id ?? 0x1234)
      .u8(h.flags2 ?? 0x01, h.flags3 ?? 0)
      .u16(h.qd ?? 1)
      .u16(h.an ?? 0)
      .u16(h.ns ?? 0)
      .u16(h.ar ?? 0);
  }

  /** type, class, TTL, RDLENGTH: the fixed part of a record after its owner. */
  rrFixed(type: number, cls: number, ttl: number, rdlength: number): this {
    return this.u16(type).u16(cls).u32(ttl).u16(rdlength);
  }

  /** RDLENGTH followed by the RDATA that `build` writes (its length is patched in afterwards). */
  rdata(build: (b: this) => void): this {
    const at = this.bytes.length;
    this.u16(0);
    build(this);
    const len = this.bytes.length - at - 2;
    this.bytes[at] = len >> 8;
    this.bytes[at + 1] = len & 0xff;
    return this;
  }

  /** An OPT pseudo-record (root owner). */
  opt(
    udpSize = 1232,
    opts: { extendedRcode?: number; version?: number; dnssecOk?: boolean; rdata?: Buffer } = {},
  ): this {
    const rdata = opts.rdata ?? Buffer.alloc(0);
    return this.u8(0)
      .u16(41)
      .u16(udpSize)
      .u8(opts.extendedRcode ?? 0, opts.version ?? 0, opts.dnssecOk ? 0x80 : 0, 0)
      .u16(rdata.length)
      .raw(rdata);
  }

  buffer(): Buffer {
    return Buffer.from(this.bytes);
  }
}

export interface HeaderFields {
  id?: number;
  flags2?: number;
  flags3?: number;
  qd?: number;
  an?: number;
  ns?: number;
  ar?: number;
}

export interface QueryOptions {
  id?: number;
  /** Byte 2 of the header; default RD only. */
  flags2?: number;
  flags3?: number;
  qclass?: number;
  edns?: { udpSize?: number; version?: number; dnssecOk?: boolean };
}

/** A plain client query, question written uncompressed with the given letter case. */
export function rawQuery(name: string, qtype: number, opts: QueryOptions = {}): Buffer {
  const b = new Bytes().header({
    id: opts.id ?? 0x1234,
    flags2: opts.flags2 ?? 0x01,
    flags3: opts.flags3 ?? 0,
    ar: opts.edns ? 1 : 0,
  });
  b.name(name)
    .u16(qtype)
    .u16(opts.qclass ?? 1);
  if (opts.edns)
    b.opt(opts.edns.udpSize ?? 1232, { version: opts.edns.version ?? 0, dnssecOk: opts.edns.dnssecOk ?? false });
  return b.buffer();
}

/** dns-packet's encoder, loosely typed so tests can use any record shape it supports. */
export function encodePacket(packet: Record<string, unknown>): Buffer {
  return dnsPacket.encode(packet);
}

/** dns-packet's decoder (only backward compression pointers). */
export function decodePacket(buf: Buffer): dnsPacket.DecodedPacket {
  return dnsPacket.decode(buf);
}

// ------------------------------------------------------------ RDATA builders

export function ipv4(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

export function nameRdata(text: string): Buffer {
  return Buffer.from(n(text), 'latin1');
}

export function mxRdata(preference: number, exchange: string): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(preference);
  return Buffer.concat([b, nameRdata(exchange)]);
}

export interface SoaFields {
  mname?: string;
  rname?: string;
  serial?: number;
  refresh?: number;
  retry?: number;
  expire?: number;
  minimum?: number;
}

export function soaRdata(f: SoaFields = {}): Buffer {
  const nums = Buffer.alloc(20);
  nums.writeUInt32BE(f.serial ?? 1, 0);
  nums.writeUInt32BE(f.refresh ?? 7200, 4);
  nums.writeUInt32BE(f.retry ?? 900, 8);
  nums.writeUInt32BE(f.expire ?? 1209600, 12);
  nums.writeUInt32BE(f.minimum ?? 300, 16);
  return Buffer.concat([nameRdata(f.mname ?? 'ns1.example.com'), nameRdata(f.rname ?? 'hostmaster.example.com'), nums]);
}

// ------------------------------------------------------- parsed-form builders

/** A parsed record as parseMessage would produce it. */
export function rr(name: string, type: number, rdata: Buffer, ttl = 300, cls = 1): ResourceRecord {
  return { name: n(name), type, class: cls, ttl, rdata };
}

/** A parsed response; unspecified fields are those of a plain NOERROR reply. */
export function message(m: Partial<Message> = {}): Message {
  return {
    id: 1,
    qr: true,
    opcode: 0,
    aa: false,
    tc: false,
    rd: false,
    ra: false,
    rcode: 0,
    question: null,
    answer: [],
    authority: [],
    additional: [],
    edns: null,
    ...m,
  };
}

/** A clock the test moves by hand (seconds). */
export class FakeClock {
  constructor(public t = 1_000_000) {}
  readonly now = (): number => this.t;
  advance(seconds: number): void {
    this.t += seconds;
  }
}

/** A writer for the NOERROR reply to `query`: its ID, flags and question, as a server copies them. */
export function replyWriter(query: Buffer): MessageWriter {
  return new MessageWriter(
    query.readUInt16BE(0),
    0,
    query[2]!,
    query[3]!,
    query.subarray(12),
    readName(query, 12).name,
  );
}
