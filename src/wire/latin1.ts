// Latin1 copies between strings and bytes for the per-query path.
//
// Buffer#write(s, offset, length, 'latin1') and Buffer#toString('latin1',
// start, end) normalise their arguments and look the encoding up on every
// call before reaching the native copy; a CPU profile of cache hits had that
// wrapper (write, getEncodingOps, slice) at about 8% of the hit's JS time.
// Node's Buffers carry the native latin1Write/latin1Slice methods directly
// (undocumented, but what those wrappers call, in every Node version we
// support); the unit tests exercise both through the hot path.

interface Latin1Methods {
  latin1Write(s: string, offset: number, length: number): number;
  latin1Slice(start: number, end: number): string;
}

/** Writes `length` characters of `s` (one byte each) at `offset`; returns the count written. */
export function writeLatin1(b: Buffer, s: string, offset: number, length: number = s.length): number {
  return (b as unknown as Latin1Methods).latin1Write(s, offset, length);
}

/** The bytes [start, end) as a latin1 string. */
export function readLatin1(b: Buffer, start: number, end: number): string {
  return (b as unknown as Latin1Methods).latin1Slice(start, end);
}
