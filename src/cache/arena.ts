// Cache memory outside the V8 heap: blocks carved from 1 MB chunks.
//
// Cached data kept as JS objects and strings made V8's old space hold two
// to three times the live data between full collections (a 100k-name
// warm-up: 38 MB live in a 137 MB old space), and every entry passed
// through the young generation on its way there. Blocks in Buffers cost
// the bytes they hold, are never scanned or moved by the collector, and a
// freed block is reused by the next entry of its size class.
//
// An address is chunk index << 20 | byte offset in the chunk; blocks are
// 8-aligned and never span chunks, so a block's Int32 words are
// words[chunk][(address & OFFSET_MASK) >> 2 ...].

export const CHUNK_BITS = 20;
export const CHUNK_SIZE = 1 << CHUNK_BITS;
export const OFFSET_MASK = CHUNK_SIZE - 1;
/** Addresses stay below 2^31, so they fit the Int32 words of other blocks. */
const MAX_CHUNKS = 2047;

/** Word 0 of every block: its size (the block's class size). Word 1 links free blocks. */
const W_SIZE = 0;
const W_NEXT_FREE = 1;
export const ARENA_WORDS = 1;

/** Sizes to 1 KB go in 8-byte steps, larger ones in 1 KB steps. */
const SMALL_LIMIT = 1024;
const SMALL_CLASSES = SMALL_LIMIT >> 3;

function classOf(size: number): number {
  return size <= SMALL_LIMIT ? (size + 7) >> 3 : SMALL_CLASSES + ((size + 1023) >> 10);
}

function classSize(c: number): number {
  return c <= SMALL_CLASSES ? c << 3 : (c - SMALL_CLASSES) << 10;
}

/** The largest class a leftover of `size` bytes can serve (rounding down, not up). */
function classWithin(size: number): number {
  return size <= SMALL_LIMIT ? size >> 3 : SMALL_CLASSES + (size >> 10);
}

export class Arena {
  /** One Buffer and one Int32 view of it per chunk. */
  readonly bytes: Buffer[] = [];
  readonly words: Int32Array[] = [];
  private readonly freeHeads = new Int32Array(classOf(CHUNK_SIZE) + 1).fill(-1);
  /** Where the next fresh block starts in the last chunk. */
  private top = CHUNK_SIZE;
  private used = 0;

  /** Bytes taken from the system. */
  get committed(): number {
    return this.bytes.length * CHUNK_SIZE;
  }

  /** Bytes in blocks handed out and not freed (whole blocks, rounding included). */
  get inUse(): number {
    return this.used;
  }

  /** Whether alloc(size) would take a new chunk: no free block of its class, no room left in the last chunk. */
  needsChunk(size: number): boolean {
    const c = classOf(size);
    return this.freeHeads[c] === -1 && this.top + classSize(c) > CHUNK_SIZE;
  }

  /** A block of at least `size` bytes (word 0 holds its size); -1 when `size` is over a chunk or the address space is used up. */
  alloc(size: number): number {
    if (size > CHUNK_SIZE) return -1;
    const c = classOf(size);
    const free = this.freeHeads[c]!;
    if (free !== -1) {
      this.freeHeads[c] = this.words[free >>> CHUNK_BITS]![((free & OFFSET_MASK) >> 2) + W_NEXT_FREE]!;
      this.used += classSize(c);
      return free;
    }
    const blockSize = classSize(c);
    if (this.top + blockSize > CHUNK_SIZE) {
      if (this.bytes.length >= MAX_CHUNKS) return -1;
      this.retireTail();
      const chunk = Buffer.allocUnsafeSlow(CHUNK_SIZE);
      this.bytes.push(chunk);
      this.words.push(new Int32Array(chunk.buffer, chunk.byteOffset, CHUNK_SIZE >> 2));
      this.top = 0;
    }
    const address = ((this.bytes.length - 1) << CHUNK_BITS) | this.top;
    this.top += blockSize;
    this.used += blockSize;
    this.words[this.bytes.length - 1]![(address & OFFSET_MASK) >> 2] = blockSize;
    return address;
  }

  free(address: number): void {
    this.used -= this.words[address >>> CHUNK_BITS]![(address & OFFSET_MASK) >> 2]!;
    this.push(address);
  }

  /** Puts a block (its size in word 0) on the free list of its class. */
  private push(address: number): void {
    const w = this.words[address >>> CHUNK_BITS]!;
    const i = (address & OFFSET_MASK) >> 2;
    const c = classOf(w[i + W_SIZE]!);
    w[i + W_NEXT_FREE] = this.freeHeads[c]!;
    this.freeHeads[c] = address;
  }

  /** The size of the block at `address` (its class size). */
  blockSize(address: number): number {
    return this.words[address >>> CHUNK_BITS]![((address & OFFSET_MASK) >> 2) + W_SIZE]!;
  }

  /** Every block on a free list (for EntryStore.invariantViolations; walks them all). */
  freeBlocks(): number[] {
    const out: number[] = [];
    for (let c = 0; c < this.freeHeads.length; c++) {
      for (
        let b = this.freeHeads[c]!;
        b !== -1;
        b = this.words[b >>> CHUNK_BITS]![((b & OFFSET_MASK) >> 2) + W_NEXT_FREE]!
      ) {
        out.push(b);
      }
    }
    return out;
  }

  /** Drops every block, and every chunk but the first, which is kept for reuse. */
  clear(): void {
    this.freeHeads.fill(-1);
    this.used = 0;
    // The first chunk is kept and carved again from its start; the rest go.
    this.bytes.length = Math.min(this.bytes.length, 1);
    this.words.length = this.bytes.length;
    this.top = this.bytes.length === 0 ? CHUNK_SIZE : 0;
  }

  /** The unused end of the last chunk becomes a free block rather than waste. */
  private retireTail(): void {
    const rest = CHUNK_SIZE - this.top;
    const c = classWithin(rest);
    if (this.bytes.length === 0 || c === 0) return;
    const address = ((this.bytes.length - 1) << CHUNK_BITS) | this.top;
    this.words[this.bytes.length - 1]![(address & OFFSET_MASK) >> 2] = classSize(c);
    this.push(address);
  }
}
