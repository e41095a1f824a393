// dnscache's text forms of the fields its lines carry - hex addresses and
// ports, names with '?' for odd bytes, the data of an `rr` line - and the
// byte writers that put them straight into a sink's buffer. The dnscache
// lines (dnscache.ts) are made of them; JSON lines (json.ts) carry the same
// name and RR data forms as string fields.

import { isIPv4 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { TYPE } from '../wire/constants';
import { writeLatin1 } from '../wire/latin1';
import { lowerByte, Name } from '../wire/name';

const HEX = '0123456789abcdef';
const HEX_BYTES = Buffer.from(HEX, 'latin1');

function hex2(b: number): string {
  return HEX[b >> 4]! + HEX[b & 15]!;
}

export function hex4(n: number): string {
  return hex2((n >> 8) & 0xff) + hex2(n & 0xff);
}

/** Client addresses repeat: their hex forms are memoised (bounded) for the per-query lines. */
const hexMemo = new Map<string, string>();
const HEX_MEMO_LIMIT = 4096;

/** C6 address form: IPv4 (and v4-mapped) as 8 hex digits, IPv6 as 32. */
export function hexIp(address: string): string {
  let hex = hexMemo.get(address);
  if (hex === undefined) {
    hex = formatHexIp(address);
    if (hexMemo.size >= HEX_MEMO_LIMIT) hexMemo.clear();
    hexMemo.set(address, hex);
  }
  return hex;
}

function formatHexIp(address: string): string {
  if (isIPv4(address)) {
    return address
      .split('.')
      .map((o) => hex2(Number(o)))
      .join('');
  }
  return expandIPv6(address.split('%')[0]!);
}

function expandIPv6(address: string): string {
  try {
    const ip = ipaddr.IPv6.parse(address);
    // Any spelling of a v4-mapped address (::ffff:1.2.3.4, ::FFFF:102:304) logs as IPv4.
    const bytes = ip.isIPv4MappedAddress() ? ip.toIPv4Address().toByteArray() : ip.toByteArray();
    return bytes.map(hex2).join('');
  } catch {
    return '0'.repeat(32);
  }
}

/**
 * wire/name.ts's fold, bound here: called through the import (a property
 * load of the compiled module's exports, per byte of every name logged), a
 * hit's log lines measured 7-11 ns slower than with the fold written inline.
 */
const fold = lowerByte;

const nameScratch = Buffer.allocUnsafe(512);
export const wireScratch = Buffer.allocUnsafe(256);

/**
 * Writes dnscache's form of the uncompressed wire name at `at` in `src`:
 * lower case, '?' for spaces, control and 8-bit bytes, each label followed by '.'
 * ("." for the root). Works on the bytes of a client's packet as they
 * came, so a cache hit logs its question without a string for it.
 */
export function putLogName(b: Buffer, o: number, src: Uint8Array, at: number): number {
  if (at >= src.length || src[at] === 0) {
    b[o] = 0x2e;
    return o + 1;
  }
  // Bounded by the source (and 255 bytes) whatever it holds: RDATA is only as well formed as the server made it.
  const end = Math.min(src.length, at + 256);
  for (let len = src[at]!; len !== 0 && at < end; len = at < end ? src[at]! : 0) {
    const last = Math.min(at + len, end - 1);
    for (let j = at + 1; j <= last; j++) {
      const c = src[j]!;
      b[o++] = c <= 32 || c >= 127 ? 0x3f : fold(c);
    }
    b[o++] = 0x2e;
    at += len + 1;
  }
  return o;
}

/** Offset just past the uncompressed wire name at `pos` (or the end of `src`). */
function nameEnd(src: Uint8Array, pos: number): number {
  while (pos < src.length && src[pos] !== 0) pos += src[pos]! + 1;
  return Math.min(pos + 1, src.length);
}

/**
 * dnscache's name form of a name (see putLogName). Built in a byte buffer:
 * a string grown by += is a tree of V8 cons cells costing many times its
 * length.
 */
export function logName(name: Name): string {
  writeLatin1(wireScratch, name, 0);
  return logNameAt(wireScratch, 0);
}

/** dnscache's form of `name`, written at `o`; returns the end. */
export function putName(b: Buffer, o: number, name: Name): number {
  writeLatin1(wireScratch, name, 0);
  return putLogName(b, o, wireScratch, 0);
}

/** Room for a name in dnscache's form (at most 255 bytes, each one character) and its separator. */
export const NAME_ROOM = 260;

/** dnscache's form of the uncompressed wire name at `at` in `src`, as a string. */
export function logNameAt(src: Uint8Array, at: number): string {
  return nameScratch.toString('latin1', 0, putLogName(nameScratch, 0, src, at));
}

/** dnscache's log_rr: at most 32 bytes in hex, and '...' once the 32nd is printed (even if it is the last). */
function putHexData(b: Buffer, o: number, data: Uint8Array): number {
  for (let i = 0; i < data.length; i++) {
    b[o++] = HEX_BYTES[data[i]! >> 4]!;
    b[o++] = HEX_BYTES[data[i]! & 15]!;
    if (i > 30) return putAscii(b, o, '...');
  }
  return o;
}

/** The word an `rr` line prints for types it decodes; other types print their number. */
function rrLabel(type: number): string | null {
  switch (type) {
    case TYPE.NS:
      return 'ns';
    case TYPE.CNAME:
      return 'cname';
    case TYPE.PTR:
      return 'ptr';
    case TYPE.MX:
      return 'mx';
    case TYPE.SOA:
      return 'soa';
    default:
      return null;
  }
}

/** The most an `rr` line's data takes: two names and five numbers (SOA), or 64 hex digits and '...'. */
export const RR_DATA_MAX = 2 * 257 + 5 * 11;

/** The data part of an `rr` line: a name, "<pref> <name>", the SOA's fields, or hex. */
function putRrData(b: Buffer, o: number, type: number, rdata: Buffer): number {
  switch (type) {
    case TYPE.NS:
    case TYPE.CNAME:
    case TYPE.PTR:
      return putLogName(b, o, rdata, 0);
    case TYPE.MX:
      if (rdata.length < 3) return putHexData(b, o, rdata);
      o = putDecimal(b, o, rdata.readUInt16BE(0));
      b[o++] = 0x20;
      return putLogName(b, o, rdata, 2);
    case TYPE.SOA: {
      const r = nameEnd(rdata, 0);
      const numbers = nameEnd(rdata, r);
      if (numbers + 20 > rdata.length) return putHexData(b, o, rdata);
      o = putLogName(b, o, rdata, 0);
      b[o++] = 0x20;
      o = putLogName(b, o, rdata, r);
      for (let k = 0; k < 5; k++) {
        b[o++] = 0x20;
        o = putDecimal(b, o, rdata.readUInt32BE(numbers + 4 * k));
      }
      return o;
    }
    default:
      return putHexData(b, o, rdata);
  }
}

/** `<label|type> <owner> <data>`, the type-specific tail of an `rr` line. */
export function putRrText(b: Buffer, o: number, type: number, name: Name, rdata: Buffer): number {
  const label = rrLabel(type);
  o = label === null ? putDecimal(b, o, type) : putAscii(b, o, label);
  b[o++] = 0x20;
  writeLatin1(wireScratch, name, 0);
  o = putLogName(b, o, wireScratch, 0);
  b[o++] = 0x20;
  return putRrData(b, o, type, rdata);
}

const rrScratch = Buffer.allocUnsafe(600 + RR_DATA_MAX);

/** The data part of an `rr` line, as a string (JSON lines carry it as a field). */
export function rrData(type: number, rdata: Buffer): string {
  return rrScratch.toString('latin1', 0, putRrData(rrScratch, 0, type, rdata));
}

/** The type-specific tail of an `rr` line, as a string. */
export function rrText(type: number, name: Name, rdata: Buffer): string {
  return rrScratch.toString('latin1', 0, putRrText(rrScratch, 0, type, name, rdata));
}

/** Byte writers for lines formatted in place; each returns the offset after what it wrote. */
export function putAscii(b: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[o++] = s.charCodeAt(i);
  return o;
}

export function putDecimal(b: Buffer, o: number, n: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  for (let i = o + digits - 1, x = n; i >= o; i--, x = Math.floor(x / 10)) b[i] = 0x30 + (x % 10);
  return o + digits;
}

/** A number and a space after it. */
export function putDecimalSpace(b: Buffer, o: number, n: number): number {
  o = putDecimal(b, o, n);
  b[o] = 0x20;
  return o + 1;
}

export function putHex4(b: Buffer, o: number, n: number): number {
  b[o] = HEX_BYTES[(n >> 12) & 15]!;
  b[o + 1] = HEX_BYTES[(n >> 8) & 15]!;
  b[o + 2] = HEX_BYTES[(n >> 4) & 15]!;
  b[o + 3] = HEX_BYTES[n & 15]!;
  return o + 4;
}
