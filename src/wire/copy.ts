// Byte copies for the per-query path.
//
// Buffer#copy makes a Uint8Array view of its source whenever the range is
// not the whole buffer (Node 20's _copyActual), and creating a typed array
// costs more than copying a couple of hundred bytes one by one: a profile
// of cache hits had _copyActual at 6%.

/** Up to this many bytes are copied in a loop. */
const SHORT_COPY = 256;

/** Copies src[start, start + length) to dst at `at`; the ranges must not overlap. */
export function copyBytes(src: Uint8Array, start: number, length: number, dst: Buffer, at: number): void {
  if (length <= SHORT_COPY) {
    for (let i = 0; i < length; i++) dst[at + i] = src[start + i]!;
  } else {
    dst.set(src.subarray(start, start + length), at);
  }
}
