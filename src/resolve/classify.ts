// What an accepted upstream reply means for the name we asked about (spec
// §5.6): an answer, a CNAME to follow, NXDOMAIN, NODATA, a referral, or a
// lame reply. Pure: reads the scrubbed reply (scrub.ts) only, touches nothing.

import { clampTtl } from '../cache/cache';
import { CLASS, RCODE, TYPE } from '../wire/constants';
import { ResourceRecord } from '../wire/message';
import { isAtOrBelow, Name, nameToBuffer, readName } from '../wire/name';
import { dnameTarget, ScrubbedReply } from './scrub';

/** dnscache caps every negative TTL at an hour. */
export const MAX_NEGATIVE_TTL = 3600;

export type Verdict =
  | { readonly kind: 'answer'; readonly records: readonly ResourceRecord[] }
  | {
      readonly kind: 'cname';
      readonly target: Name;
      readonly ttl: number;
      /** The CNAME to follow (synthesised from the DNAME when the server did not send one). */
      readonly record: ResourceRecord;
      /** The DNAME it comes from, which the client is sent too (RFC 6672 §3.4). */
      readonly dname: ResourceRecord | null;
    }
  | { readonly kind: 'nxdomain'; readonly soa: ResourceRecord | null; readonly negativeTtl: number }
  | { readonly kind: 'nodata'; readonly soa: ResourceRecord | null; readonly negativeTtl: number }
  | { readonly kind: 'referral'; readonly zone: Name; readonly ns: readonly Name[] }
  /** The DNAME above the name would make it longer than a name may be (RFC 6672 §2.2). */
  | { readonly kind: 'yxdomain'; readonly dname: ResourceRecord }
  | { readonly kind: 'lame'; readonly referral: Name };

/** RFC 2308 §5: the negative TTL is the smaller of the SOA's TTL and its MINIMUM; dnscache caps it at 3600. */
export function negativeTtl(soa: ResourceRecord | null): number {
  if (!soa) return 0;
  let ttl = Math.min(clampTtl(soa.ttl), MAX_NEGATIVE_TTL);
  if (soa.rdata.length >= 4) ttl = Math.min(ttl, soa.rdata.readUInt32BE(soa.rdata.length - 4));
  return ttl;
}

/**
 * Interprets `reply` (scrubbed: scrub.ts) as the answer for (`name`,
 * `type`) from the servers of `control`. A referral is an NS set the
 * scrubber kept below `control`; a reply with no answer and no SOA is NODATA
 * when authoritative (RFC 2308 type 3 has only the zone's own NS) or when
 * it says nothing else, and lame when it points anywhere the scrubber would
 * not go.
 */
export function classify(reply: ScrubbedReply, name: Name, type: number, control: Name): Verdict {
  const matching: ResourceRecord[] = [];
  let cname: ResourceRecord | null = null;
  let dname: ResourceRecord | null = null;
  for (const rr of reply.answer) {
    if (rr.name !== name) {
      if (rr.type === TYPE.DNAME && isAtOrBelow(name, rr.name)) dname ??= rr;
    } else if (rr.type === type || type === TYPE.ANY) matching.push(rr);
    else if (rr.type === TYPE.CNAME) cname = rr;
  }
  // Only a DNAME that cannot be applied explains YXDOMAIN (the judge passes over any other).
  if (reply.rcode === RCODE.YXDOMAIN && dname !== null && dnameTarget(name, dname.name, dname.rdata) === null)
    return { kind: 'yxdomain', dname };
  if (matching.length === 0 && (cname !== null || dname !== null)) {
    // A DNAME's synthesised CNAME says where to go; without one we make it (RFC 6672 §3.1).
    const target = cname !== null ? readName(cname.rdata, 0).name : dnameTarget(name, dname!.name, dname!.rdata);
    if (target !== null) {
      const ttl = clampTtl((cname ?? dname)!.ttl);
      return { kind: 'cname', target, ttl, record: cname ?? synthesisedCname(name, target, dname!.ttl), dname };
    }
  }
  let soa: ResourceRecord | null = null;
  let referral: Name | null = null;
  for (const rr of reply.authority) {
    if (rr.type === TYPE.SOA) soa = rr;
    else if (rr.type === TYPE.NS && rr.name !== control) referral = rr.name;
  }
  if (reply.rcode === RCODE.NXDOMAIN) return { kind: 'nxdomain', soa, negativeTtl: negativeTtl(soa) };
  if (matching.length > 0) return { kind: 'answer', records: matching };
  if (referral !== null && soa === null) {
    const ns: Name[] = [];
    for (const rr of reply.authority)
      if (rr.type === TYPE.NS && rr.name === referral) ns.push(readName(rr.rdata, 0).name);
    return { kind: 'referral', zone: referral, ns };
  }
  if (soa === null && reply.strayNs !== null) return { kind: 'lame', referral: reply.strayNs };
  return { kind: 'nodata', soa, negativeTtl: negativeTtl(soa) };
}

/** The CNAME a DNAME stands for, when the server did not send it. */
function synthesisedCname(name: Name, target: Name, ttl: number): ResourceRecord {
  return { name, type: TYPE.CNAME, class: CLASS.IN, ttl, rdata: nameToBuffer(target) };
}
