// What the cache learns from a scrubbed reply: its records grouped into
// RRsets, each ranked by the section it came from and whether the reply was
// authoritative (RFC 2181 §5.4.1). A referral's NS set and glue are also
// kept on the parent's side (Side, cache/entries.ts), beside whatever the child says
// of itself. Pure.

import { clampTtl, Rank, RANK, Side } from '../cache/cache';
import { TYPE } from '../wire/constants';
import { ResourceRecord } from '../wire/message';
import { Name } from '../wire/name';
import { ScrubbedReply } from './scrub';

export interface RRset {
  readonly name: Name;
  readonly type: number;
  /** Clamped TTL of the set's first record (dnscache's rule). */
  readonly ttl: number;
  readonly rdatas: readonly Buffer[];
  /** Each record as it came, for `rr` log lines. */
  readonly records: readonly ResourceRecord[];
  readonly rank: Rank;
  readonly side: Side;
}

/** Types that are markers or meta-records, never cached as data. */
function cacheableType(type: number): boolean {
  return (
    type !== TYPE.SOA &&
    type !== TYPE.ANY &&
    type !== TYPE.AXFR &&
    type !== TYPE.IXFR &&
    type !== TYPE.OPT &&
    type !== TYPE.MAILA &&
    type !== TYPE.MAILB
  );
}

interface Group {
  readonly records: ResourceRecord[];
  rank: Rank;
  /** A referral's NS set or glue: also kept on the parent's side. */
  parent: boolean;
}

/**
 * The RRsets `reply` teaches, in dnscache's log order (type, then owner
 * length, then owner); a referral's NS set and glue twice, once per side.
 */
export function rrsetsOf(reply: ScrubbedReply, referral: boolean): RRset[] {
  const groups: Group[] = [];
  const add = (rr: ResourceRecord, rank: Rank, parent: boolean): void => {
    if (!cacheableType(rr.type)) return;
    let group = groupOf(groups, rr);
    if (group === undefined) groups.push((group = { records: [], rank, parent }));
    // The same record in two sections is one record, ranked by the better (RFC 2181 §5.4.1).
    if (rank > group.rank) group.rank = rank;
    group.parent ||= parent;
    group.records.push(rr);
  };
  const aa = reply.aa;
  for (const rr of reply.answer) add(rr, aa ? RANK.ANSWER_AA : RANK.ANSWER, false);
  for (const rr of reply.authority) add(rr, aa ? RANK.AUTHORITY_AA : RANK.AUTHORITY, referral);
  for (const rr of reply.additional) add(rr, RANK.ADDITIONAL, referral);
  const out: RRset[] = [];
  for (const g of groups) {
    const first = g.records[0]!;
    // A CNAME owner has one target; if a server sends several, the last wins (dnscache).
    const kept = first.type === TYPE.CNAME ? [g.records[g.records.length - 1]!] : dedupe(g.records);
    const ttl = clampTtl(first.ttl);
    const rdatas = kept.map((r) => r.rdata);
    out.push({ name: first.name, type: first.type, ttl, rdatas, records: kept, rank: g.rank, side: 'child' });
    if (g.parent)
      out.push({
        name: first.name,
        type: first.type,
        ttl,
        rdatas,
        records: kept,
        rank: RANK.AUTHORITY,
        side: 'parent',
      });
  }
  return sortSmall(out, logOrder);
}

/** The group of rr's owner and type, by a plain loop (a find() callback is a closure per record). */
function groupOf(groups: Group[], rr: ResourceRecord): Group | undefined {
  for (const g of groups) if (g.records[0]!.type === rr.type && g.records[0]!.name === rr.name) return g;
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
