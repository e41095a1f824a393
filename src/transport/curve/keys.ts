// Our DNSCurve key pair, and the key we share with each server.
//
// The pair is made once at start from the same randomness as everything
// else (random/random.ts: the system CSPRNG mixed with dnscache's seed).
// A shared key (crypto_box_beforenm) costs a Curve25519 operation, about
// 35 µs through libsodium; once made it is kept, so a query to a known
// server costs one symmetric box. Kept here, not in the DNS cache: the
// cache can be dumped to a file, and a shared key is a secret.

import { Random } from '../../random/random';
import { beforenm, KEY_BYTES, publicKeyOf } from './crypto';

/** At most this many shared keys are kept (about 200 bytes each with the Map's share: ~200 KB). */
export const MAX_SHARED_KEYS = 1024;

/** Kept for a server key that gives no shared secret: it is not tried again while kept. */
const UNUSABLE = Buffer.alloc(0);

export class ClientKeys {
  readonly publicKey: Buffer;
  private readonly secretKey: Buffer;
  /** Server public key (latin1 text) → shared key, oldest use first. */
  private readonly shared = new Map<string, Buffer>();
  /** Curve25519 operations made (tests and metrics: a known server costs none). */
  sharedKeysMade = 0;

  constructor(
    random: Random,
    private readonly maxShared = MAX_SHARED_KEYS,
  ) {
    this.secretKey = random.bytes(KEY_BYTES);
    this.publicKey = publicKeyOf(this.secretKey);
  }

  /** The key shared with the server whose public key this is; null when the key gives none (a low-order point). */
  sharedWith(serverKey: Buffer): Buffer | null {
    const id = serverKey.toString('latin1');
    const known = this.shared.get(id);
    if (known !== undefined) {
      // Least recently used goes first: re-inserting moves this one to the end.
      this.shared.delete(id);
      this.shared.set(id, known);
      return known === UNUSABLE ? null : known;
    }
    // A bad key in a uz5 name is kept too: else every question to its zone would pay the Curve25519 operation again.
    const made = beforenm(serverKey, this.secretKey) ?? UNUSABLE;
    this.sharedKeysMade++;
    if (this.shared.size >= this.maxShared) this.shared.delete(this.shared.keys().next().value!);
    this.shared.set(id, made);
    return made === UNUSABLE ? null : made;
  }

  get sharedKeysKept(): number {
    return this.shared.size;
  }
}
