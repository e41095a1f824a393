// How the cache lays out each kind of entry in its store (store.ts): the
// kinds and slots, RDATA lists and a negative answer's SOA as bytes, and
// reading them back. cache.ts writes and looks entries up through these;
// the administration modules (flush.ts, snapshot.ts) walk the store with them.

import { copyBytes, copyOf } from '../wire/copy';
import { readLatin1, writeLatin1 } from '../wire/latin1';
import { Name } from '../wire/name';
import { ReplyBytes } from './replies';
import { EntryStore } from './store';

/**
 * Which side of a zone cut an RRset was seen on. The child's NS set and
 * addresses are what the zone says of itself; the parent's (a referral's NS
 * set and glue) are kept beside them, so that when the child's fail -
 * expired, dead, lame - resolution can go back to what the parent said.
 */
export type Side = 'child' | 'parent';

export interface StoredRecord {
  readonly name: Name;
  readonly type: number;
  readonly rdata: Buffer;
}

// What an entry is. NODATA shares the RRset's slot, so the kind tells them apart.
export const KIND_RRSET = 1;
export const KIND_NODATA = 2;
export const KIND_NXDOMAIN = 3;
export const KIND_FAILURE = 4;
export const KIND_REPLY = 5;

// An entry's slot among its name's entries: what it is, and for which type.
// NODATA shares the RRset's slot: a fresh RRset replaces it and vice versa.
export const SLOT_RRSET = 0x10000;
export const SLOT_NXDOMAIN = 0x20000;
export const SLOT_FAILURE = 0x30000;
export const SLOT_REPLY = 0x40000;
/** A parent-side RRset: a referral's NS set, or glue for one of its names. */
export const SLOT_PARENT = 0x50000;

export function rrsetSlot(side: Side, type: number): number {
  return (side === 'child' ? SLOT_RRSET : SLOT_PARENT) | type;
}

export function packedLength(rdatas: readonly Buffer[]): number {
  let length = 0;
  for (const r of rdatas) length += 2 + r.length;
  return length;
}

/** The RDATAs as stored - each a 2-byte length and the bytes - in the first `length` bytes of the buffer returned. */
export function packRdatas(rdatas: readonly Buffer[], length: number): Buffer {
  const buf = length <= scratch.length ? scratch : Buffer.allocUnsafe(length);
  let o = 0;
  for (const r of rdatas) {
    o = buf.writeUInt16BE(r.length, o);
    copyBytes(r, 0, r.length, buf, o);
    o += r.length;
  }
  return buf;
}

const scratch = Buffer.allocUnsafe(65536 + 4);

/** Copies out of the store: its blocks are reused once an entry goes. */
function unpackRdatas(buf: Buffer, start: number, end: number, view = false): Buffer[] {
  const out: Buffer[] = [];
  for (let i = start; i < end;) {
    const len = buf.readUInt16BE(i);
    out.push(view ? buf.subarray(i + 2, i + 2 + len) : copyOf(buf, i + 2, i + 2 + len));
    i += 2 + len;
  }
  return out;
}

/** A negative entry's SOA as stored: type, name length, name, RDATA; nothing for none. */
export function soaLength(soa: StoredRecord | null): number {
  return soa === null ? 0 : 3 + soa.name.length + soa.rdata.length;
}

export function writeSoa(soa: StoredRecord | null, buf: Buffer, at: number): void {
  if (soa === null) return;
  at = buf.writeUInt16BE(soa.type, at);
  buf[at++] = soa.name.length;
  at += writeLatin1(buf, soa.name, at);
  soa.rdata.copy(buf, at);
}

function readSoa(buf: Buffer, start: number, length: number): StoredRecord | null {
  if (length === 0) return null;
  const nameEnd = start + 3 + buf[start + 2]!;
  return {
    name: readLatin1(buf, start + 3, nameEnd) as Name,
    type: buf.readUInt16BE(start),
    rdata: copyOf(buf, nameEnd, start + length),
  };
}

/** Entry `e`'s RDATAs: copies, or with `view` views of the store's memory (good until it next changes). */
export function rdatasOf(store: EntryStore, e: number, view = false): Buffer[] {
  const start = store.dataStart(e);
  return unpackRdatas(store.buffer(e), start, start + store.dataLength(e), view);
}

/** A negative entry's SOA, copied out. */
export function soaOf(store: EntryStore, e: number): StoredRecord | null {
  return readSoa(store.buffer(e), store.dataStart(e), store.dataLength(e));
}

/** A reply entry's bytes, in the store's memory. */
export function replyOf(store: EntryStore, e: number): ReplyBytes {
  const start = store.dataStart(e);
  return {
    buf: store.buffer(e),
    start,
    end: start + store.dataLength(e),
    builtAt: store.tag(e),
    expires: store.expires(e),
  };
}
