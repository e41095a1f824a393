// A DNSCurve client: seals a DNS query for one server in the format asked
// for, and opens what comes back - or says it does not open.

import { Random } from '../../random/random';
import { HEADER_LENGTH } from '../../wire/constants';
import { Name } from '../../wire/name';
import { ClientKeys } from './keys';
import { NonceCounter } from './nonce';
import { openStreamlined, streamlinedQuery } from './streamlined';
import { openTxt, txtFits, txtQuery } from './txt';

export type CurveFormat = 'streamlined' | 'txt';

/** Our OPT record (upstream.ts buildQuery): root owner, type, class, TTL, RDLENGTH. */
const OPT_LENGTH = 11;

/**
 * The format a question about `name` asked at `zone` goes in when `wanted`
 * is asked for: TXT only if the query, OPT included, fits into a TXT query
 * name (255 bytes); else the streamlined one. Decided on the question alone,
 * so the log (resolve/iterate.ts) and the query agree.
 */
export function formatFor(wanted: CurveFormat, name: Name, zone: Name): CurveFormat {
  return wanted === 'txt' && txtFits(HEADER_LENGTH + name.length + 4 + OPT_LENGTH, zone) ? 'txt' : 'streamlined';
}

/** One query as sent: what its response must match. */
export interface Sealed {
  readonly format: CurveFormat;
  /** The bytes to send. */
  readonly packet: Buffer;
  readonly nonce: Buffer;
  readonly key: Buffer;
}

export class CurveClient {
  readonly keys: ClientKeys;
  private readonly nonces: NonceCounter;

  constructor(private readonly random: Random) {
    this.keys = new ClientKeys(random);
    this.nonces = new NonceCounter(random);
  }

  /**
   * `query` sealed for the server with public key `serverKey`, in `format`
   * (TXT needs the zone the question is asked at, which ends its query
   * name); null when the key gives no shared secret. The TXT format is
   * used only if the name fits (formatFor decides so beforehand), else the
   * streamlined one.
   */
  seal(query: Buffer, serverKey: Buffer, format: CurveFormat, zone: Name): Sealed | null {
    const key = this.keys.sharedWith(serverKey);
    if (key === null) return null;
    const nonce = this.nonces.next();
    if (format === 'txt' && txtFits(query.length, zone)) {
      return {
        format,
        packet: txtQuery(query, this.keys.publicKey, nonce, key, zone, this.random.uint16()),
        nonce,
        key,
      };
    }
    return { format: 'streamlined', packet: streamlinedQuery(query, this.keys.publicKey, nonce, key), nonce, key };
  }

  /** Does this server key give a shared secret (else its queries cannot be sealed)? */
  usable(serverKey: Buffer): boolean {
    return this.keys.sharedWith(serverKey) !== null;
  }

  /** The DNS message in a response to `sealed`, or null (not a response to it: forged, replayed, damaged). */
  open(sealed: Sealed, reply: Buffer): Buffer | null {
    return sealed.format === 'txt'
      ? openTxt(reply, sealed.packet, sealed.nonce, sealed.key)
      : openStreamlined(reply, sealed.nonce, sealed.key);
  }
}
