// Where log lines go: a byte slab written to a stream once per event-loop
// turn. Both line formats (dnscache.ts, json.ts) write through a LineSink.

import { writeLatin1 } from '../wire/latin1';

/**
 * Where finished lines go; batched so a burst of events costs one write.
 * Besides whole lines it takes bytes written in place (reserve, then
 * commit), so the per-query lines of a cache hit are formatted straight
 * into the output without building strings.
 */
export interface LineSink {
  write(line: string): void;
  /** A buffer with at least `n` free bytes from `used` on. */
  reserve(n: number): Buffer;
  /** Where the next byte goes in the buffer `reserve` returned. */
  readonly used: number;
  /** The bytes up to `end` are finished lines (each ending in a newline). */
  commit(end: number): void;
}

/**
 * Writes lines to a stream, flushing once per event-loop turn (still one
 * line per event). Lines go straight into a byte slab - they are ASCII by
 * construction (names print odd bytes as '?') - so each line is copied once,
 * and a burst of queries costs one write. Flushed bytes are handed to the
 * stream as a view and never written again (a pipe may still be sending
 * them); the slab is only replaced when full, not at every flush.
 */
export class StreamSink implements LineSink {
  private slab = Buffer.allocUnsafe(SLAB_SIZE);
  /** Bytes before `start` were handed to the stream; lines go after `used`. */
  private start = 0;
  used = 0;
  private scheduled = false;

  /**
   * `atomic`: each write is whole lines and at most PIPE_BUF bytes, which a
   * pipe takes in one piece; with WORKERS processes writing to one log
   * pipe, their lines then never interleave mid-line.
   */
  constructor(
    private readonly stream: NodeJS.WritableStream = process.stderr,
    private readonly atomic = false,
  ) {}

  write(line: string): void {
    const slab = this.reserve(line.length + 1);
    let o = this.used;
    o += writeLatin1(slab, line, o);
    slab[o++] = 0x0a;
    this.commit(o);
  }

  reserve(n: number): Buffer {
    if (this.used + n > this.slab.length) {
      this.flush();
      // Only a full slab is replaced: flushed bytes may still be in flight.
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n));
      this.start = this.used = 0;
    }
    return this.slab;
  }

  commit(end: number): void {
    this.used = end;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.used === this.start) return;
    if (this.atomic) {
      while (this.used - this.start > PIPE_BUF) {
        // The last line end within PIPE_BUF bytes; a single longer line (a
        // tx line for a hundred servers, say) goes out whole, as one write.
        let end = this.slab.lastIndexOf(0x0a, this.start + PIPE_BUF - 1) + 1;
        if (end <= this.start) end = this.slab.indexOf(0x0a, this.start) + 1;
        this.stream.write(this.slab.subarray(this.start, end));
        this.start = end;
      }
    }
    this.stream.write(this.slab.subarray(this.start, this.used));
    this.start = this.used;
  }
}

const SLAB_SIZE = 64 * 1024;
/**
 * Linux's PIPE_BUF: a write of at most this much to a pipe is never
 * interleaved with another. POSIX only promises 512; on a system with less
 * than 4096, lines of WORKERS processes could interleave (dnscache-ts is
 * built and tested on Linux).
 */
const PIPE_BUF = 4096;

/** Collects lines in memory, for tests: the same sink as in production, over a stream kept in memory. */
export class MemorySink extends StreamSink {
  private readonly chunks: Buffer[];

  constructor() {
    const chunks: Buffer[] = [];
    super({ write: (b: Buffer) => chunks.push(Buffer.from(b)) > 0 } as unknown as NodeJS.WritableStream);
    this.chunks = chunks;
  }

  /** Every line written so far. */
  get lines(): string[] {
    this.flush();
    const text = Buffer.concat(this.chunks).toString('latin1');
    return text === '' ? [] : text.slice(0, -1).split('\n');
  }
}
