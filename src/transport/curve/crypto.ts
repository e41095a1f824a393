// The NaCl operations DNSCurve is made of, from libsodium through
// sodium-native - except HSalsa20, which sodium-native does not expose and
// @noble/ciphers does. Nothing here is our own cryptography: this module
// only adapts the two libraries to NaCl's names.
//
// crypto_box_beforenm(pk, sk) = HSalsa20(X25519(sk, pk), 16 zero bytes),
// and crypto_box_afternm / crypto_box_open_afternm with that key are
// XSalsa20-Poly1305, which libsodium calls crypto_secretbox (its own
// crypto_box_easy_afternm is crypto_secretbox_easy). The easy layout puts
// the 16-byte authenticator before the ciphertext: NaCl's box output
// without its 16 leading zero bytes, which is what goes on the wire.

import { endianness } from 'node:os';

interface Sodium {
  crypto_scalarmult_base(q: Buffer, n: Buffer): void;
  crypto_scalarmult(q: Buffer, n: Buffer, p: Buffer): void;
  crypto_secretbox_easy(c: Buffer, m: Buffer, n: Buffer, k: Buffer): void;
  crypto_secretbox_open_easy(m: Buffer, c: Buffer, n: Buffer, k: Buffer): boolean;
}

type HSalsa = (s: Uint32Array, k: Uint32Array, i: Uint32Array, o32: Uint32Array) => void;

// Loaded at first use, not with the module: loading sodium-native costs a
// process ~36 ms of CPU, which one in forward-only mode (no DNSCurve) should
// not pay at every start. The iterative resolver makes its key pair at start.
let loaded: { sodium: Sodium; hsalsa: HSalsa } | null = null;
function libs(): { sodium: Sodium; hsalsa: HSalsa } {
  // require, not import: sodium-native ships no type declarations, and an
  // import would load both with this module.
  return (loaded ??= {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    sodium: require('sodium-native') as Sodium,
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    hsalsa: (require('@noble/ciphers/salsa') as { hsalsa: HSalsa }).hsalsa,
  });
}

export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
/** The authenticator a box adds in front of the ciphertext. */
export const MAC_BYTES = 16;

/** "expand 32-byte k", Salsa20's constant, as little-endian words. */
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
const ZERO_NONCE = new Uint32Array(4);
// Uint32Array views are host-endian and HSalsa20's words little-endian:
// on a big-endian host the shared key would be wrong, silently.
if (endianness() !== 'LE') throw new Error('DNSCurve: HSalsa20 through Uint32Array views needs a little-endian host');

/** The public key of a Curve25519 secret key (crypto_scalarmult_base). */
export function publicKeyOf(secretKey: Buffer): Buffer {
  const pk = Buffer.alloc(KEY_BYTES);
  libs().sodium.crypto_scalarmult_base(pk, secretKey);
  return pk;
}

/**
 * crypto_box_beforenm: the key both sides of a box share. Null for a
 * public key that gives no shared secret (a low-order point: libsodium
 * refuses it), which a uz5 name can carry as easily as a good one.
 */
export function beforenm(publicKey: Buffer, secretKey: Buffer): Buffer | null {
  const shared = new Uint8Array(KEY_BYTES);
  try {
    libs().sodium.crypto_scalarmult(Buffer.from(shared.buffer), secretKey, publicKey);
  } catch {
    return null;
  }
  const out = new Uint32Array(8);
  libs().hsalsa(SIGMA, new Uint32Array(shared.buffer), ZERO_NONCE, out);
  shared.fill(0);
  return Buffer.from(out.buffer);
}

/** crypto_box_afternm into `out` (plain.length + MAC_BYTES bytes, authenticator first). */
export function boxAfternm(out: Buffer, plain: Buffer, nonce: Buffer, key: Buffer): void {
  libs().sodium.crypto_secretbox_easy(out, plain, nonce, key);
}

/** crypto_box_open_afternm of `boxed` (authenticator first): the plaintext, or null if it does not authenticate. */
export function openAfternm(boxed: Buffer, nonce: Buffer, key: Buffer): Buffer | null {
  if (boxed.length < MAC_BYTES) return null;
  const plain = Buffer.allocUnsafe(boxed.length - MAC_BYTES);
  return libs().sodium.crypto_secretbox_open_easy(plain, boxed, nonce, key) ? plain : null;
}
