// The client's half of a DNSCurve nonce (12 bytes): a counter then random
// bytes. The spec asks that a nonce never repeat for a key pair; the key
// pair lives as long as the process, and the counter only goes up in it,
// so no two queries share one - the random tail keeps the counter's start
// (itself random) from telling an observer how many queries we sent.

import { Random } from '../../random/random';

export const CLIENT_NONCE_BYTES = 12;

export class NonceCounter {
  /** The counter as two 32-bit halves (high, low): no BigInt per query. */
  private high: number;
  private low: number;

  constructor(private readonly random: Random) {
    // A random start below 2^52: it cannot wrap in the life of a process.
    this.high = random.uint32() >>> 12;
    this.low = random.uint32();
  }

  /** A fresh 12-byte client nonce: 8 bytes of counter (big-endian), 4 random. */
  next(): Buffer {
    if (++this.low > 0xffffffff) {
      this.low = 0;
      this.high++;
    }
    const nonce = Buffer.allocUnsafe(CLIENT_NONCE_BYTES);
    nonce.writeUInt32BE(this.high, 0);
    nonce.writeUInt32BE(this.low, 4);
    nonce.writeUInt32BE(this.random.uint32(), 8);
    return nonce;
  }
}
