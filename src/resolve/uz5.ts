// Which servers speak DNSCurve, and which we may ask at all.
//
// A name server whose name has a label of 54 bytes starting with `uz5`
// carries its DNSCurve public key in the other 51 (DNSCurve's base32):
// queries to it are encrypted. djbdnscurve6 (cns_pubkey) looks at every
// label, not only the first, and so do we: a name like
// uz5….ns.example.com is the usual form, but a key further down means the
// same thing to the dnscache we replace.
//
// FLAGEDSERVER (djbdnscurve6's serverok): ip/%ADDRESS is never asked,
// ip/-ADDRESS is asked plainly even if its name carries a key.

import { Endpoint } from '../transport/udp';
import { base32Decode, KEY_CHARS } from '../transport/curve/base32';
import { UpstreamServer } from '../transport/upstream';
import { Name } from '../wire/name';

/** What ip/ says of a server under FLAGEDSERVER: never ask it, ask it plainly, or nothing. */
export type ServerFlag = 'omit' | 'plain' | null;

const KEY_LABEL = 3 + KEY_CHARS;

/** The DNSCurve public key an NS name carries, or null. Pure. */
export function curveKeyOf(ns: Name): Buffer | null {
  for (let i = 0; i < ns.length;) {
    const len = ns.charCodeAt(i);
    if (len === 0) break;
    // Names are lower-cased (wire/name.ts), so `uz5` is matched in any case.
    if (len === KEY_LABEL && ns.startsWith('uz5', i + 1)) {
      const key = base32Decode(ns.slice(i + 4, i + 1 + len), true);
      if (key !== null && key.length === 32) return key;
    }
    i += len + 1;
  }
  return null;
}

/** `servers` as servers of an NS name that carries `key` (null: none). */
export function withCurveKey(servers: readonly Endpoint[], key: Buffer | null): UpstreamServer[] {
  return key === null ? [...servers] : servers.map((s) => ({ ...s, curveKey: key }));
}

/**
 * `servers` as ip/ flags them: without those never to be asked, and
 * without the key of those to be asked plainly. `usable` says whether a
 * key gives a shared secret at all (a bad one means plain queries).
 */
export function qualify(
  servers: readonly UpstreamServer[],
  flag: ((address: string) => ServerFlag) | null,
  usable: (key: Buffer) => boolean,
): UpstreamServer[] {
  const out: UpstreamServer[] = [];
  for (const s of servers) {
    const f = flag === null ? null : flag(s.address);
    if (f === 'omit') continue;
    out.push(
      s.curveKey && (f === 'plain' || !usable(s.curveKey)) ? { address: s.address, port: s.port, family: s.family } : s,
    );
  }
  return out;
}
