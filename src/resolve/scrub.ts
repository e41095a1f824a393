// The scrubber (spec §5.8): a pure function applied to every upstream reply
// before anything else reads it. What classifies the reply and what the
// cache learns from it see only what is left:
//
// - every record must be owned at or below the zone whose servers we asked,
//   and no other servers/ entry may claim it (the bailiwick rule);
// - the answer section keeps only the chain from the question: records of
//   the name asked, CNAMEs and DNAMEs leading on from it, and the records
//   of each name they lead to;
// - the authority section keeps an SOA that can be the negative answer's,
//   and the NS set the reply is about: a referral to a zone between the
//   asked zone and the name, or - only when the reply is authoritative -
//   the asked zone's own NS set. A non-authoritative reply never restates
//   the NS set of the zone it comes from (that is how one reply took over a
//   zone), and an NS set anywhere else makes the reply lame;
// - the additional section keeps only addresses of the NS names kept: glue
//   for that delegation, nothing else (an unrelated address riding along in
//   a referral must never be served to anyone).
//
// Like Unbound's iter_scrub.c, it removes; it never adds or changes.

import { CLASS, RCODE, TYPE } from '../wire/constants';
import { Message, ResourceRecord } from '../wire/message';
import { isAtOrBelow, Name, readName } from '../wire/name';
import { sameServersZone, ServerTable } from './zones';

/** A reply as the resolver may read it. */
export interface ScrubbedReply {
  readonly rcode: number;
  readonly aa: boolean;
  readonly answer: readonly ResourceRecord[];
  readonly authority: readonly ResourceRecord[];
  readonly additional: readonly ResourceRecord[];
  /**
   * The owner of an NS set the scrubber dropped from the authority section
   * for pointing up, sideways or back at the asked zone (without AA): the
   * sign of a lame server, which classification reports.
   */
  readonly strayNs: Name | null;
}

/** A and AAAA records must have the address length; anything else is dropped, never served. */
export function wellFormed(rr: ResourceRecord): boolean {
  if (rr.type === TYPE.A) return rr.rdata.length === 4;
  if (rr.type === TYPE.AAAA) return rr.rdata.length === 16;
  return true;
}

/** Two names of at least one byte, then serial, refresh, retry, expire, minimum. */
const MIN_SOA_RDATA = 22;

/** The target a DNAME owned by `owner` makes of `name` (below it), or null when it cannot (too long). */
export function dnameTarget(name: Name, owner: Name, rdata: Buffer): Name | null {
  const target = readName(rdata, 0).name;
  const synthesised = name.slice(0, name.length - owner.length) + target;
  return synthesised.length > 255 ? null : (synthesised as Name);
}

/**
 * The answer records on the chain from `qname`: its own, then for each
 * CNAME (or DNAME above a name on the chain) those of the name it leads to.
 * Nearly every reply is a chain written in order with nothing to drop; it
 * is returned as it is. Otherwise a second pass picks up a record written
 * out of order, and so on, at most once per record. (What a miss allocates
 * matters: objects made while other questions wait make the collector copy
 * those questions' state more often.)
 */
function answerChain(
  answer: readonly ResourceRecord[],
  qname: Name,
  inZone: (rr: ResourceRecord) => boolean,
): readonly ResourceRecord[] {
  let current = qname;
  let i = 0;
  for (; i < answer.length; i++) {
    const rr = answer[i]!;
    if (rr.name !== current || !inZone(rr)) break;
    if (rr.type === TYPE.CNAME) current = readName(rr.rdata, 0).name;
  }
  if (i === answer.length) return answer;
  const names: Name[] = [qname];
  const kept = new Array<boolean>(answer.length).fill(false);
  let count = 0;
  for (let grew = true, passes = 0; grew && passes < answer.length; passes++) {
    grew = false;
    for (let j = 0; j < answer.length; j++) {
      const rr = answer[j]!;
      if (kept[j] || !inZone(rr)) continue;
      let next: Name | null = null;
      if (names.includes(rr.name)) {
        if (rr.type === TYPE.CNAME) next = readName(rr.rdata, 0).name;
      } else if (rr.type === TYPE.DNAME) {
        const below = names.find((n) => isAtOrBelow(n, rr.name));
        if (below === undefined) continue;
        next = dnameTarget(below, rr.name, rr.rdata);
      } else continue;
      kept[j] = true;
      count++;
      grew = true;
      if (next !== null && !names.includes(next)) names.push(next);
    }
  }
  // Keep the server's order: clients and logs see the chain as it was sent.
  return count === answer.length ? answer : answer.filter((_, j) => kept[j]);
}

/** `records` as they are while `keep` takes each; a copy of the kept ones from the first it drops. */
function keptOf(records: readonly ResourceRecord[], keep: (rr: ResourceRecord) => boolean): readonly ResourceRecord[] {
  let out: ResourceRecord[] | null = null;
  for (let i = 0; i < records.length; i++) {
    const rr = records[i]!;
    if (keep(rr)) out?.push(rr);
    else out ??= records.slice(0, i);
  }
  return out ?? records;
}

/**
 * Scrubs `message`, the reply to (`qname`, `qtype`) from the servers of
 * `control`, given the servers/ table.
 */
export function scrub(message: Message, qname: Name, control: Name, table: ServerTable): ScrubbedReply {
  const inZone = (rr: ResourceRecord): boolean =>
    rr.class === CLASS.IN &&
    wellFormed(rr) &&
    isAtOrBelow(rr.name, control) &&
    sameServersZone(table, rr.name, control);
  const answer = answerChain(message.answer, qname, inZone);
  // Where the chain ends: the negative answer's SOA and a referral are about that name.
  let last = qname;
  for (const rr of answer)
    if (rr.type === TYPE.CNAME) last = readName(rr.rdata, 0).name;
    else if (rr.type === TYPE.DNAME) last = dnameTarget(last, rr.name, rr.rdata) ?? last;

  let strayNs: Name | null = null;
  let nsTargets: Name[] | null = null;
  const authority = keptOf(message.authority, (rr) => {
    if (rr.type === TYPE.SOA)
      return rr.class === CLASS.IN && rr.rdata.length >= MIN_SOA_RDATA && isAtOrBelow(last, rr.name) && inZone(rr);
    if (rr.type !== TYPE.NS || rr.class !== CLASS.IN) return false;
    const below = rr.name !== control && isAtOrBelow(rr.name, control) && isAtOrBelow(last, rr.name);
    if ((below || (rr.name === control && message.aa)) && inZone(rr)) {
      (nsTargets ??= []).push(readName(rr.rdata, 0).name);
      return true;
    }
    strayNs ??= rr.name;
    return false;
  });
  for (const rr of answer) if (rr.type === TYPE.NS) (nsTargets ??= []).push(readName(rr.rdata, 0).name);
  const targets: Name[] | null = nsTargets;
  const additional =
    targets === null
      ? NONE
      : keptOf(
          message.additional,
          (rr) => (rr.type === TYPE.A || rr.type === TYPE.AAAA) && targets.includes(rr.name) && inZone(rr),
        );
  return { rcode: message.rcode, aa: message.aa, answer, authority, additional, strayNs };
}

const NONE: readonly ResourceRecord[] = [];

/**
 * dnscache believes only NOERROR and NXDOMAIN; anything else means "ask
 * someone else". YXDOMAIN too is an answer (RFC 6672 §2.2: the DNAME the
 * server sends with it made the name too long), which classify checks.
 */
export function rcodeUsable(rcode: number): boolean {
  return rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN || rcode === RCODE.YXDOMAIN;
}
