// Randomness for query IDs, source ports and server choice.
//
// dnscache seeds its PRNG from 128 bytes on standard input. We accept the
// same seed but never rely on it alone: the output is the system CSPRNG's
// bytes XORed with an AES-256-CTR keystream keyed by SHA-256(seed ‖ fresh
// system bytes), so it is unpredictable if either source is.

import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, readSync } from 'node:fs';
import { isatty } from 'node:tty';

const POOL_SIZE = 4096;
export const SEED_LENGTH = 128;

export class Random {
  private readonly cipher;
  private pool = Buffer.alloc(0);
  private pos = 0;

  /** `system` is the CSPRNG (a parameter so a test can fix it and see what the seed alone changes). */
  constructor(
    seed: Buffer | null,
    private readonly system: (n: number) => Buffer = randomBytes,
  ) {
    const key = createHash('sha256')
      .update(seed ?? Buffer.alloc(0))
      .update(system(32))
      .digest();
    this.cipher = createCipheriv('aes-256-ctr', key, system(16));
  }

  private refill(): void {
    this.pool = this.cipher.update(this.system(POOL_SIZE));
    this.pos = 0;
  }

  uint16(): number {
    if (this.pos + 2 > this.pool.length) this.refill();
    const v = this.pool.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint32(): number {
    if (this.pos + 4 > this.pool.length) this.refill();
    const v = this.pool.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Uniform integer in [0, n) without modulo bias. */
  below(n: number): number {
    const limit = Math.floor(0x100000000 / n) * n;
    for (;;) {
      const v = this.uint32();
      if (v < limit) return v % n;
    }
  }

  /** `n` random bytes (a seed for another process's Random, say). */
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      if (this.pos >= this.pool.length) this.refill();
      out[i] = this.pool[this.pos++]!;
    }
    return out;
  }

  /** A source port outside the privileged range, as dnscache picks them (1025..65535). */
  port(): number {
    return 1025 + this.below(65535 - 1025 + 1);
  }
}

/**
 * Reads dnscache's seed from standard input (the run script does `exec <seed`):
 * up to 128 bytes. A regular file or device is read at once; a pipe is given
 * a short moment (its writer may never write); a terminal is never read.
 * A missing or empty stdin just means no seed.
 */
export async function readSeed(pipeWaitMs = 200): Promise<Buffer | null> {
  let st;
  try {
    if (isatty(0)) return null;
    st = fstatSync(0);
  } catch {
    return null;
  }
  if (st.isFIFO() || st.isSocket()) return readSeedFromStream(pipeWaitMs);
  try {
    const buf = Buffer.alloc(SEED_LENGTH);
    const n = readSync(0, buf, 0, SEED_LENGTH, null);
    closeSync(0);
    return n > 0 ? buf.subarray(0, n) : null;
  } catch {
    return null;
  }
}

function readSeedFromStream(waitMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stdin = process.stdin;
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      stdin.removeAllListeners('data');
      stdin.destroy();
      const all = Buffer.concat(chunks).subarray(0, SEED_LENGTH);
      resolve(all.length > 0 ? all : null);
    };
    const timer = setTimeout(done, waitMs);
    stdin.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= SEED_LENGTH) done();
    });
    stdin.once('end', done);
    stdin.once('error', done);
  });
}
