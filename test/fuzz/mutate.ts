// Seeded mutation of DNS messages: what a fuzzer throws at dnscache-ts,
// from either side. Deterministic for a seed, so a failure can be replayed.

/** xorshift32: small, fast, seeded; not for anything but choosing mutations. */
export class SeededRandom {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }

  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return this.next() % n;
  }
}

/** One mutation of `msg`, chosen by `rand`: the kinds of damage real traffic and attackers do. */
export function mutate(msg: Buffer, rand: SeededRandom): Buffer {
  const out = Buffer.from(msg);
  const kind = rand.below(9);
  switch (kind) {
    case 0: {
      // Flip a few bits anywhere.
      for (let i = rand.below(4) + 1; i > 0 && out.length > 0; i--) out[rand.below(out.length)]! ^= 1 << rand.below(8);
      return out;
    }
    case 1: {
      // Random bytes over a stretch.
      if (out.length === 0) return out;
      const at = rand.below(out.length);
      for (let i = at; i < Math.min(out.length, at + 1 + rand.below(8)); i++) out[i] = rand.below(256);
      return out;
    }
    case 2:
      // Cut short.
      return out.subarray(0, rand.below(out.length + 1));
    case 3: {
      // Garbage appended.
      const tail = Buffer.alloc(1 + rand.below(64));
      for (let i = 0; i < tail.length; i++) tail[i] = rand.below(256);
      return Buffer.concat([out, tail]);
    }
    case 4:
      // Section counts that lie.
      if (out.length >= 12) out.writeUInt16BE(rand.below(0x10000), 4 + 2 * rand.below(4));
      return out;
    case 5:
      // A compression pointer planted where a label length was (loops, forward pointers).
      if (out.length > 13) {
        const at = 12 + rand.below(out.length - 13);
        out[at] = 0xc0 | rand.below(0x40);
        out[at + 1] = rand.below(256);
      }
      return out;
    case 6:
      // Header flags and RCODE at random.
      if (out.length >= 4) {
        out[2] = rand.below(256);
        out[3] = rand.below(256);
      }
      return out;
    case 7: {
      // A stretch repeated (duplicate records, overlong names).
      if (out.length < 13) return out;
      const from = 12 + rand.below(out.length - 12);
      const len = 1 + rand.below(Math.min(32, out.length - from));
      return Buffer.concat([out, out.subarray(from, from + len)]);
    }
    default:
      // Unchanged: the valid message too, among the damaged ones.
      return out;
  }
}
