// What an accepted upstream reply means for the name we asked about (spec
// §5.6): an answer, a CNAME to follow, NXDOMAIN, NODATA, a referral, or a
// lame reply. Pure: reads the message, touches nothing.

import { clampTtl } from '../cache/cache';
import { CLASS, RCODE, TYPE } from '../wire/constants';
import { Message, ResourceRecord } from '../wire/message';
import { isAtOrBelow, Name, readName } from '../wire/name';
import { wellFormed } from './scrub';

/** dnscache caps every negative TTL at an hour. */
export const MAX_NEGATIVE_TTL = 3600;

export type Verdict =
  | { readonly kind: 'answer'; readonly records: readonly ResourceRecord[] }
  | { readonly kind: 'cname'; readonly target: Name; readonly ttl: number; readonly record: ResourceRecord }
  | { readonly kind: 'nxdomain'; readonly soa: ResourceRecord | null; readonly negativeTtl: number }
  | { readonly kind: 'nodata'; readonly soa: ResourceRecord | null; readonly negativeTtl: number }
  | { readonly kind: 'referral'; readonly zone: Name; readonly ns: readonly Name[] }
  | { readonly kind: 'lame'; readonly referral: Name };

/** Two names of at least one byte, then serial, refresh, retry, expire, minimum. */
const MIN_SOA_RDATA = 22;

function usableSoa(rr: ResourceRecord, name: Name, control: Name): boolean {
  return rr.class === CLASS.IN && rr.rdata.length >= MIN_SOA_RDATA && isAtOrBelow(name, rr.name) && isAtOrBelow(rr.name, control);
}

/** RFC 2308 §5: the negative TTL is the smaller of the SOA's TTL and its MINIMUM; dnscache caps it at 3600. */
export function negativeTtl(soa: ResourceRecord | null): number {
  if (!soa) return 0;
  let ttl = Math.min(clampTtl(soa.ttl), MAX_NEGATIVE_TTL);
  if (soa.rdata.length >= 4) ttl = Math.min(ttl, soa.rdata.readUInt32BE(soa.rdata.length - 4));
  return ttl;
}

/**
 * Interprets `message` as the reply for (`name`, `type`) from the servers of
 * `control`. A referral is only a referral if it points strictly below
 * `control` and at or above `name`; otherwise it is lame (spec §5.6 step 4).
 */
export function classify(message: Message, name: Name, type: number, control: Name): Verdict {
  const matching: ResourceRecord[] = [];
  let cname: ResourceRecord | null = null;
  for (const rr of message.answer) {
    if (rr.class !== CLASS.IN || rr.name !== name || !wellFormed(rr)) continue;
    if (rr.type === type || type === TYPE.ANY) matching.push(rr);
    else if (rr.type === TYPE.CNAME) cname = rr;
  }
  let soa: ResourceRecord | null = null;
  let referral: Name | null = null;
  for (const rr of message.authority) {
    if (rr.type === TYPE.SOA) {
      // The SOA is stored with the negative answer and served from it, so it
      // gets the bailiwick check the scrubber gives cached records: it must
      // be the SOA of a zone between the name and the zone we asked.
      if (usableSoa(rr, name, control)) soa = rr;
    }
    else if (rr.type === TYPE.NS && rr.class === CLASS.IN) referral = rr.name;
  }
  if (cname && matching.length === 0) {
    return { kind: 'cname', target: readName(cname.rdata, 0).name, ttl: clampTtl(cname.ttl), record: cname };
  }
  if (message.rcode === RCODE.NXDOMAIN) return { kind: 'nxdomain', soa, negativeTtl: negativeTtl(soa) };
  if (matching.length > 0) return { kind: 'answer', records: matching };
  if (soa || referral === null) return { kind: 'nodata', soa, negativeTtl: negativeTtl(soa) };
  if (referral === control || !isAtOrBelow(referral, control) || !isAtOrBelow(name, referral)) {
    return { kind: 'lame', referral };
  }
  const ns: Name[] = [];
  for (const rr of message.authority) {
    if (rr.type === TYPE.NS && rr.class === CLASS.IN && rr.name === referral) ns.push(readName(rr.rdata, 0).name);
  }
  return { kind: 'referral', zone: referral, ns };
}
