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
  const groups: ResourceRecord[][] = [];
  // Most replies carry a handful of records: a linear search beats a map
  // (and its key strings) there; a long reply gets the map.
  const total = message.answer.length + message.authority.length + message.additional.length;
  const index = total > 16 ? new Map<string, ResourceRecord[]>() : null;
  const add = (rr: ResourceRecord): void => {
    if (rr.class !== CLASS.IN || !cacheableType(rr.type) || !wellFormed(rr)) return;
    if (!isAtOrBelow(rr.name, control) || !sameServersZone(table, rr.name, control)) return;
    const key = index === null ? '' : rr.type + '/' + rr.name;
    let group = index === null ? groupOf(groups, rr) : index.get(key);
    if (group === undefined) {
      group = [];
      groups.push(group);
      index?.set(key, group);
    }
    group.push(rr);
  };
  message.answer.forEach(add);
  message.authority.forEach(add);
  message.additional.forEach(add);
  const out: RRset[] = [];
  for (const records of groups) {
    const first = records[0]!;
    // A CNAME owner has one target; if a server sends several, the last wins (dnscache).
    const kept = first.type === TYPE.CNAME ? [records[records.length - 1]!] : dedupe(records);
    out.push({ name: first.name, type: first.type, ttl: clampTtl(first.ttl), rdatas: kept.map((r) => r.rdata), records: kept });
  }
  return sortSmall(out, logOrder);
}

/** The group of rr's owner and type, by a plain loop (a find() callback is a closure per record). */
function groupOf(groups: ResourceRecord[][], rr: ResourceRecord): ResourceRecord[] | undefined {
  for (const g of groups) if (g[0]!.type === rr.type && g[0]!.name === rr.name) return g;
  return undefined;
}

/** dnscache's log order of RRsets: type, then owner length, then owner. */
function logOrder(a: RRset, b: RRset): number {
  return a.type - b.type || a.name.length - b.name.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Sorts in place; an insertion sort for the few sets of a typical reply (Array#sort allocates a work area). */
function sortSmall<T>(items: T[], compare: (a: T, b: T) => number): T[] {
  if (items.length > 16) return items.sort(compare);
  for (let i = 1; i < items.length; i++) {
    const x = items[i]!;
    let j = i - 1;
    for (; j >= 0 && compare(items[j]!, x) > 0; j--) items[j + 1] = items[j]!;
    items[j + 1] = x;
  }
  return items;
}

/** Drops repeated records (the same A in answer and additional is one record, RFC 2181 §5). */
function dedupe(records: ResourceRecord[]): ResourceRecord[] {
  if (records.length === 1) return records;
  const out: ResourceRecord[] = [];
  for (const r of records) if (!out.some((o) => o.rdata.equals(r.rdata))) out.push(r);
  return out;
}
