// DNSCurve's base32 (dnscurve.org/in-implement.html): the alphabet
// 0-9 b-d f-h j-n p-z (no a, e, i, o), five bits per character taken from
// the LOW end of each byte first (little-endian), not RFC 4648's. Used for
// a server's key in its uz5 name and for the TXT format's query name.
// Pure functions.

const ALPHABET = '0123456789bcdfghjklmnpqrstuvwxyz';

/** Character code (lower or upper case) → 5-bit value, or -1. */
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) {
  VALUE[ALPHABET.charCodeAt(i)] = i;
  VALUE[ALPHABET.toUpperCase().charCodeAt(i)] = i;
}

/** Characters needed for `bytes` bytes. */
export function base32Length(bytes: number): number {
  return Math.ceil((8 * bytes) / 5);
}

/** `data` as DNSCurve base32 text (lower case). */
export function base32Encode(data: Uint8Array): string {
  let out = '';
  let v = 0;
  let bits = 0;
  for (let i = 0; i < data.length; i++) {
    v |= data[i]! << bits;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[v & 31];
      v >>>= 5;
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[v & 31];
  return out;
}

/**
 * Decodes DNSCurve base32 text, or null if a character is outside the
 * alphabet. `keepPartial`: a final incomplete byte is kept (a key: 51
 * characters carry 255 bits, the 32nd byte's top bit is zero); otherwise
 * leftover bits must be fewer than five and zero, as an encoder leaves
 * them.
 */
export function base32Decode(text: string, keepPartial = false): Buffer | null {
  const out = Buffer.allocUnsafe(Math.ceil((5 * text.length) / 8));
  let j = 0;
  let v = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const x = c < 128 ? VALUE[c]! : -1;
    if (x < 0) return null;
    v |= x << bits;
    bits += 5;
    if (bits >= 8) {
      out[j++] = v & 0xff;
      v >>>= 8;
      bits -= 8;
    }
  }
  if (keepPartial && bits > 0) out[j++] = v;
  else if (bits >= 5 || v !== 0) return null;
  return out.subarray(0, j);
}

/** Characters of a key in a name (after `uz5`, or `x1a`): 51, the 255 bits a Curve25519 public key has. */
export const KEY_CHARS = 51;

/**
 * A 32-byte public key in 51 characters: the last, 256th bit is left out
 * - a Curve25519 public key's top bit is always zero - as DNSCurve's
 * names carry it.
 */
export function base32Key(key: Uint8Array): string {
  return base32Encode(key).slice(0, KEY_CHARS);
}
