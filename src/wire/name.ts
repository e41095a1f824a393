// Domain names.
//
// A `Name` is the lower-cased wire form of a domain name held in a latin1
// string: length-prefixed labels ending in the zero byte ("\x03www\x07example\x03com\x00").
// That one representation serves as cache key, map key, comparison operand and
// (via Buffer.write(name, 'latin1')) the bytes we put on the wire, so no code
// has to remember which of several spellings it holds. The brand keeps
// arbitrary strings (presentation text, raw client bytes with upper case)
// from being passed where a canonical name is required.

import { readLatin1 } from './latin1';

export type Name = string & { readonly __brand: 'Name' };

export const ROOT = '\x00' as Name;
export const MAX_NAME_LENGTH = 255;
const MAX_LABEL_LENGTH = 63;
const MAX_POINTER_STEPS = 128;
const scratch = Buffer.alloc(MAX_NAME_LENGTH + 1);

export class NameError extends Error {}

/** An ASCII letter in lower case; any other byte as it is. */
export function lowerByte(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

/** Result of reading a (possibly compressed) name out of a message. */
export interface ReadName {
  name: Name;
  /** Offset just past the name in the original position (past the first pointer). */
  end: number;
}

/**
 * Reads a name at `offset`, following compression pointers (forward ones too,
 * as dnscache does), lower-casing ASCII letters. Throws NameError on
 * malformed input: reads past the end, label types 0x40/0x80, pointer loops,
 * names over 255 bytes.
 */
export function readName(buf: Uint8Array, offset: number): ReadName {
  // Bytes are collected in a scratch buffer and turned into one string at the
  // end: this runs for every query, and per-character string building is slow.
  const out = scratch;
  let length = 0;
  let pos = offset;
  let end = -1;
  let steps = 0;
  for (;;) {
    if (pos >= buf.length) throw new NameError('name runs past end of message');
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if (len >= 0xc0) {
      if (pos + 1 >= buf.length) throw new NameError('compression pointer runs past end of message');
      if (++steps > MAX_POINTER_STEPS) throw new NameError('compression pointer loop');
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (len > MAX_LABEL_LENGTH) throw new NameError(`bad label type 0x${len.toString(16)}`);
    if (pos + 1 + len > buf.length) throw new NameError('label runs past end of message');
    if (length + len + 2 > MAX_NAME_LENGTH) throw new NameError('name longer than 255 bytes');
    out[length++] = len;
    for (let i = pos + 1; i <= pos + len; i++) out[length++] = lowerByte(buf[i]!);
    pos += len + 1;
  }
  out[length++] = 0;
  return { name: readLatin1(out, 0, length) as Name, end };
}

/**
 * Parses presentation text ("www.example.com", "www.example.com.", "." or "@"
 * for the root). Backslash escapes are `\ooo` octal (1-3 digits) as in
 * djbdns's servers/ file names, or `\DDD` decimal as in RFC 1035 zone text
 * when `escapes` is 'decimal'; `\c` quotes any other character.
 */
export function nameFromText(text: string, escapes: 'octal' | 'decimal' = 'octal'): Name {
  if (text === '') throw new NameError('empty name');
  if (text === '.' || text === '@') return ROOT;
  const labels: number[][] = [];
  let cur: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (cur.length > 0) labels.push(cur);
      else if (i !== text.length - 1 && !(i === 0)) throw new NameError(`empty label in "${text}"`);
      cur = [];
      continue;
    }
    if (c === 0x5c /* \ */) {
      // Octal escapes take only the digits 0-7 (djbdns: `\18` is byte 1 then '8').
      const digits = (escapes === 'decimal' ? /^[0-9]{1,3}/ : /^[0-7]{1,3}/).exec(text.slice(i + 1, i + 4));
      if (digits) {
        const d = digits[0];
        const value = escapes === 'decimal' ? parseInt(d, 10) : parseInt(d, 8);
        if (Number.isNaN(value) || value > 255) throw new NameError(`bad escape \\${d} in "${text}"`);
        cur.push(value);
        i += d.length;
      } else if (i + 1 < text.length) {
        cur.push(text.charCodeAt(++i) & 0xff);
      } else {
        throw new NameError(`trailing backslash in "${text}"`);
      }
      continue;
    }
    if (c > 0xff) throw new NameError(`non-ASCII character in "${text}"`);
    cur.push(c);
  }
  if (cur.length > 0) labels.push(cur);
  let out = '';
  let length = 1;
  for (const label of labels) {
    if (label.length > MAX_LABEL_LENGTH) throw new NameError(`label longer than 63 bytes in "${text}"`);
    length += label.length + 1;
    out += String.fromCharCode(label.length);
    for (const b of label) out += String.fromCharCode(lowerByte(b));
  }
  if (length > MAX_NAME_LENGTH) throw new NameError(`name longer than 255 bytes: "${text}"`);
  return (out + '\x00') as Name;
}

/** The name with its first label removed; the root's parent is the root. */
export function parentName(name: Name): Name {
  if (name.length === 1) return name;
  return name.slice(name.charCodeAt(0) + 1) as Name;
}

/** True if `name` equals `zone` or lies below it (label-aligned). */
export function isAtOrBelow(name: Name, zone: Name): boolean {
  if (zone.length > name.length) return false;
  if (!name.endsWith(zone)) return false;
  // Only a suffix that starts on a label boundary counts: walk the labels.
  const start = name.length - zone.length;
  for (let i = 0; i <= start; i += name.charCodeAt(i) + 1) {
    if (i === start) return true;
  }
  return false;
}

/** Writes the name into `buf` at `offset` (no compression); returns the new offset. */
export function writeName(buf: Buffer, name: Name, offset: number): number {
  return offset + buf.write(name, offset, name.length, 'latin1');
}

export function nameToBuffer(name: Name): Buffer {
  return Buffer.from(name, 'latin1');
}

/**
 * Presentation form with a trailing dot, escaping as RFC 1035 text does
 * (`\.` and `\\` inside labels, `\DDD` for non-printable bytes).
 */
export function nameToText(name: Name): string {
  if (name.length === 1) return '.';
  let out = '';
  for (let i = 0; ;) {
    const len = name.charCodeAt(i);
    if (len === 0) break;
    for (let j = i + 1; j <= i + len; j++) {
      const c = name.charCodeAt(j);
      if (c === 0x2e || c === 0x5c) out += '\\' + String.fromCharCode(c);
      else if (c <= 0x20 || c >= 0x7f) out += '\\' + c.toString(10).padStart(3, '0');
      else out += String.fromCharCode(c);
    }
    out += '.';
    i += len + 1;
  }
  return out;
}

/** Builds a name from labels (leftmost first); labels are lower-cased. */
export function nameFromLabels(labels: readonly string[]): Name {
  let out = '';
  let length = 1;
  for (const label of labels) {
    if (label.length === 0 || label.length > MAX_LABEL_LENGTH) throw new NameError(`bad label length ${label.length}`);
    length += label.length + 1;
    out += String.fromCharCode(label.length);
    for (let i = 0; i < label.length; i++) out += String.fromCharCode(lowerByte(label.charCodeAt(i)));
  }
  if (length > MAX_NAME_LENGTH) throw new NameError('name longer than 255 bytes');
  return (out + '\x00') as Name;
}
