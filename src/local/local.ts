// Internal answers (spec §7, C6's list without its quirks, plus RFC 6761/7686
// special-use names): answered without cache or upstream traffic.

import { Answer } from '../wire/answer';
import { RCODE, TYPE } from '../wire/constants';
import { isAtOrBelow, Name, nameFromText } from '../wire/name';
import { OutRecord } from '../wire/writer';

/** dnscache's TTL for internal answers. */
const LOCAL_TTL = 655360;

const V4_LOOPBACK = Buffer.from([127, 0, 0, 1]);
const V6_LOOPBACK = Buffer.from('00000000000000000000000000000001', 'hex');

interface Fixed {
  a?: Buffer;
  aaaa?: Buffer;
  ptr?: Name;
}

function v6(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}

/** The ip6.arpa name of an address given as 32 hex digits. */
function reverse6(hex: string): Name {
  return nameFromText([...hex].reverse().join('.') + '.ip6.arpa');
}

const NAMES: ReadonlyMap<Name, Fixed> = new Map<Name, Fixed>([
  [nameFromText('localhost'), { a: V4_LOOPBACK, aaaa: V6_LOOPBACK }],
  [nameFromText('loopback'), { a: V4_LOOPBACK, aaaa: V6_LOOPBACK }],
  [nameFromText('ip4-loopback'), { a: V4_LOOPBACK }],
  [nameFromText('ip4-localhost'), { a: V4_LOOPBACK }],
  [nameFromText('ip4-localnet'), { a: Buffer.from([0, 0, 0, 0]) }],
  [nameFromText('ip6-localhost'), { aaaa: V6_LOOPBACK }],
  [nameFromText('ip6-loopback'), { aaaa: V6_LOOPBACK }],
  [nameFromText('ip6-localnet'), { aaaa: v6('00'.repeat(16)) }],
  [nameFromText('ip6-mcastprefix'), { aaaa: v6('ff00' + '00'.repeat(14)) }],
  [nameFromText('ip6-allnodes'), { aaaa: v6('ff02' + '00'.repeat(13) + '01') }],
  [nameFromText('ip6-allrouters'), { aaaa: v6('ff02' + '00'.repeat(13) + '02') }],
  [nameFromText('1.0.0.127.in-addr.arpa'), { ptr: nameFromText('localhost') }],
  [nameFromText('0.0.0.0.in-addr.arpa'), { ptr: nameFromText('ip4-localnet') }],
  [reverse6('0'.repeat(31) + '1'), { ptr: nameFromText('localhost') }],
  // The rest of C6's reverse list (spec §7.2 item 3).
  [reverse6('0'.repeat(32)), { ptr: nameFromText('ip6-localnet') }],
  [reverse6('ff00' + '0'.repeat(28)), { ptr: nameFromText('ip6-mcastprefix') }],
  [reverse6('ff02' + '0'.repeat(27) + '1'), { ptr: nameFromText('ip6-allnodes') }],
  [reverse6('ff02' + '0'.repeat(27) + '2'), { ptr: nameFromText('ip6-allrouters') }],
]);

const LOCALHOST = nameFromText('localhost');

/**
 * The one internal answer after which dnscache logs `stats`: query.c
 * answers 1.0.0.127.in-addr.arpa (any type) with a log_stats() call, and
 * localhost and the rest without one.
 */
export const STATS_AFTER_LOCAL: Name = nameFromText('1.0.0.127.in-addr.arpa');
/** Names that must never be looked up on the network: RFC 7686 (.onion), RFC 6761 (.invalid). */
const NXDOMAIN_ZONES: readonly Name[] = [nameFromText('onion'), nameFromText('invalid')];

function record(name: Name, type: number, rdata: Buffer): OutRecord {
  return { name, type, ttl: LOCAL_TTL, rdata };
}

function answer(records: OutRecord[]): Answer {
  return { rcode: RCODE.NOERROR, answer: records, authority: [], aa: false, lifetime: 0 };
}

/**
 * `a.b.c.d` with dnscache's rules: 1-3 digits, no leading zero, each ≤ 255.
 * Read in place from the wire form: every miss asks, so a name that is not
 * one costs no allocation.
 */
export function dottedQuad(name: Name): Buffer | null {
  const octets = [0, 0, 0, 0];
  let i = 0;
  for (let k = 0; k < 4; k++) {
    const len = name.charCodeAt(i);
    if (!(len >= 1 && len <= 3)) return null;
    let v = 0;
    for (let j = i + 1; j <= i + len; j++) {
      const d = name.charCodeAt(j) - 0x30;
      if (d < 0 || d > 9 || (d === 0 && j === i + 1 && len > 1)) return null;
      v = v * 10 + d;
    }
    if (v > 255) return null;
    octets[k] = v;
    i += len + 1;
  }
  return name.charCodeAt(i) === 0 ? Buffer.from(octets) : null;
}

/** The internal answer for (name, type), or null when the name is not internal. */
export function localAnswer(name: Name, qtype: number): Answer | null {
  const wants = (t: number): boolean => qtype === t || qtype === TYPE.ANY;
  const fixed = NAMES.get(name) ?? (isAtOrBelow(name, LOCALHOST) ? NAMES.get(LOCALHOST) : undefined);
  if (fixed) {
    const out: OutRecord[] = [];
    if (fixed.a && wants(TYPE.A)) out.push(record(name, TYPE.A, fixed.a));
    if (fixed.aaaa && wants(TYPE.AAAA)) out.push(record(name, TYPE.AAAA, fixed.aaaa));
    if (fixed.ptr && wants(TYPE.PTR)) out.push(record(name, TYPE.PTR, Buffer.from(fixed.ptr, 'latin1')));
    return answer(out);
  }
  const quad = dottedQuad(name);
  if (quad) return answer(wants(TYPE.A) ? [record(name, TYPE.A, quad)] : []);
  if (NXDOMAIN_ZONES.some((z) => isAtOrBelow(name, z))) {
    return { rcode: RCODE.NXDOMAIN, answer: [], authority: [], aa: true, lifetime: 0 };
  }
  return null;
}

/** The address an internal name stands for when it is used as a name server's name (spec §5.2). */
export function localAddress(name: Name): string | null {
  if (name === LOCALHOST) return '127.0.0.1';
  const quad = dottedQuad(name);
  return quad ? [...quad].join('.') : null;
}
