// The bailiwick scrubber (spec §5.8): a pure function applied to every
// upstream reply before anything else looks at it. It decides which RRsets
// may enter the cache: only those whose owner is at or below the zone whose
// servers we asked, and that no other servers/ entry claims. Everything else
// - glue for other zones, poisoning attempts in any section - is dropped.

import { clampTtl } from '../cache/cache';
import { CLASS, TYPE } from '../wire/constants';
import { Message, ResourceRecord } from '../wire/message';
import { isAtOrBelow, Name } from '../wire/name';
import { sameServersZone, ServerTable } from './zones';

export interface RRset {
  readonly name: Name;
  readonly type: number;
  /** Clamped TTL of the set's first record (dnscache's rule). */
  readonly ttl: number;
  readonly rdatas: readonly Buffer[];
  /** Each record as it came, for `rr` log lines. */
  readonly records: readonly ResourceRecord[];
}

/** Types that are markers or meta-records, never cached as data. */
function cacheableType(type: number): boolean {
  return type !== TYPE.SOA && type !== TYPE.ANY && type !== TYPE.AXFR && type !== TYPE.IXFR && type !== TYPE.OPT && type !== TYPE.MAILA && type !== TYPE.MAILB;
}

/** A and AAAA records must have the address length; anything else is dropped, never served. */
export function wellFormed(rr: ResourceRecord): boolean {
  if (rr.type === TYPE.A) return rr.rdata.length === 4;
  if (rr.type === TYPE.AAAA) return rr.rdata.length === 16;
  return true;
}

/**
 * The RRsets of `message` that may be cached when it came from the servers
 * of `control`, grouped by owner and type, in dnscache's log order (type,
 * then owner length, then owner).
 */
export function scrub(message: Message, control: Name, table: ServerTable): RRset[] {
  const groups = new Map<string, ResourceRecord[]>();
  for (const section of [message.answer, message.authority, message.additional]) {
    for (const rr of section) {
      if (rr.class !== CLASS.IN || !cacheableType(rr.type) || !wellFormed(rr)) continue;
      if (!isAtOrBelow(rr.name, control) || !sameServersZone(table, rr.name, control)) continue;
      const key = rr.type + '/' + rr.name;
      const group = groups.get(key);
      if (group) group.push(rr);
      else groups.set(key, [rr]);
    }
  }
  const out: RRset[] = [];
  for (const records of groups.values()) {
    const first = records[0]!;
    // A CNAME owner has one target; if a server sends several, the last wins (dnscache).
    const kept = first.type === TYPE.CNAME ? [records[records.length - 1]!] : dedupe(records);
    out.push({ name: first.name, type: first.type, ttl: clampTtl(first.ttl), rdatas: kept.map((r) => r.rdata), records: kept });
  }
  out.sort((a, b) => a.type - b.type || a.name.length - b.name.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

/** Drops repeated records (the same A in answer and additional is one record, RFC 2181 §5). */
function dedupe(records: ResourceRecord[]): ResourceRecord[] {
  if (records.length === 1) return records;
  const out: ResourceRecord[] = [];
  for (const r of records) if (!out.some((o) => o.rdata.equals(r.rdata))) out.push(r);
  return out;
}
