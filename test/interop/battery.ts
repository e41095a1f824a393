// The interop battery: questions, what the lab's zone data says the answers
// are (an oracle that walks the layout's zones from the root with the lab's
// own authoritative `lookup`, following referrals, glue, glueless NS names
// and CNAMEs across zones), and a comparable form of a resolver's reply:
// rcode, TC and the sorted answer RRs as 'name TYPE data' (TTLs left out).

import ipaddr from 'ipaddr.js';
import { Endpoint, query } from '../lab/client';
import { RoleSpec } from '../lab/hierarchy';
import { lookup } from '../lab/server';
import { canonical } from '../lab/zone';

export interface Question {
  name: string;
  type: string;
  /** How the client asks the resolver; default UDP with EDNS 1232. */
  transport?: 'udp' | 'tcp';
  edns?: number | false;
  /** Only rcode and TC are compared (the answer is cut short). */
  truncated?: boolean;
  /**
   * The answer may be any non-empty part of the zone data (ANY: RFC 8482
   * lets servers and resolvers answer with some of the RRsets only).
   */
  subset?: boolean;
  /** What the question exercises. */
  what: string;
  /**
   * Set when dnscache-ts and Unbound may rightly differ (a policy limit, not
   * a data question): the pair is reported, not asserted equal.
   */
  policy?: string;
}

export const label = (q: Question): string =>
  `${q.name}/${q.type}${q.transport === 'tcp' ? ' tcp' : ''}${q.edns === false ? ' noedns' : ''}`;

/** A reply (or the oracle's answer) in comparable form. */
export interface Outcome {
  rcode: string;
  tc: boolean;
  rows: string[];
}

export const show = (o: Outcome | Error): string =>
  o instanceof Error ? `error: ${o.message}` : `${o.rcode}${o.tc ? ' TC' : ''} [${o.rows.join(', ')}]`;

/** The comparable text of one record's data; names lower case, no trailing dot. */
export function dataText(type: string, data: any): string {
  const name = (n: unknown): string => canonical(String(n)) || '.';
  const str = (s: unknown): string => JSON.stringify(Buffer.isBuffer(s) ? s.toString('latin1') : String(s));
  switch (type) {
    case 'A':
    case 'AAAA':
      return ipaddr.parse(String(data)).toString();
    case 'NS':
    case 'CNAME':
    case 'PTR':
    case 'DNAME':
      return name(data);
    case 'MX':
      return `${data.preference} ${name(data.exchange)}`;
    case 'SRV':
      return `${data.priority} ${data.weight} ${data.port} ${name(data.target)}`;
    case 'CAA':
      return `${data.flags ?? 0} ${data.tag} ${str(data.value)}`;
    case 'TXT':
      return (Array.isArray(data) ? data : [data]).map(str).join(' ');
    case 'SOA':
      return `${name(data.mname)} ${name(data.rname)} ${data.serial} ${data.refresh} ${data.retry} ${data.expire} ${data.minimum}`;
    default:
      return Buffer.isBuffer(data) ? data.toString('hex') : JSON.stringify(data);
  }
}

export function rowsOf(records: ReadonlyArray<{ name: string; type: string; data?: unknown }>): string[] {
  return records
    .filter((r) => r.type !== 'OPT' && r.type !== 'RRSIG')
    .map((r) => `${canonical(r.name) || '.'} ${r.type} ${dataText(r.type, r.data)}`)
    .sort();
}

/**
 * Asks `server` one battery question the way a stub does: a try that gets no
 * reply in time is repeated (Unbound, for one, drops the reply to a question
 * that took longer than its discard-timeout and answers the repeat from its
 * cache). Errors after the last try come back as an Error.
 */
export async function ask(
  server: Endpoint,
  q: Question,
  tries: readonly number[] = [2500, 3000, 4000],
): Promise<Outcome | Error> {
  let last: Error = new Error('not asked');
  for (const timeoutMs of tries) {
    try {
      const { packet } = await query(server, q.name, q.type, {
        transport: q.transport ?? 'udp',
        edns: q.edns === undefined ? 1232 : q.edns,
        timeoutMs,
      });
      return {
        rcode: packet.rcode,
        tc: Boolean(packet.flag_tc),
        rows: q.truncated ? [] : rowsOf(packet.answers ?? []),
      };
    } catch (err) {
      last = err as Error;
      if (!/timeout|closed/.test(last.message)) break;
    }
  }
  return last;
}

/**
 * Equal for the battery: same rcode and TC, and the same answer rows, except
 * for SERVFAIL, whose answer section carries no answer (`servfailNote` tells
 * when one has records anyway).
 */
export function sameOutcome(x: Outcome | Error, y: Outcome | Error): boolean {
  if (x instanceof Error || y instanceof Error) return false;
  if (x.rcode !== y.rcode || x.tc !== y.tc) return false;
  return x.rcode === 'SERVFAIL' || x.rows.join('\n') === y.rows.join('\n');
}

/** A note when a SERVFAIL reply has answer records (compared by rcode only). */
export function servfailNote(o: Outcome | Error): string | null {
  if (o instanceof Error || o.rcode !== 'SERVFAIL' || o.rows.length === 0) return null;
  return `SERVFAIL with ${o.rows.length} answer record(s): ${o.rows.slice(0, 3).join(', ')}${o.rows.length > 3 ? ', ...' : ''}`;
}

// --- the oracle ---------------------------------------------------------------

/** The limits HIERARCHY_ANSWERS assumes (and dnscache-ts has). */
export const ORACLE_MAX_CNAMES = 16;
export const ORACLE_MAX_GLUELESS_DEPTH = 5;

const SERVFAIL: Outcome = { rcode: 'SERVFAIL', tc: false, rows: [] };

type Rec = { name: string; type: string; data?: any };

/**
 * What a correct resolver answers for `name`/`type`, from the zone data of
 * the roles for which `usable(role)` holds (the others count as unreachable).
 */
export function expectedOutcome(
  layout: RoleSpec[],
  usable: (spec: RoleSpec) => boolean,
  name: string,
  type: string,
): Outcome {
  const byAddress = new Map(layout.map((s) => [s.address, s]));
  const root = layout.find((s) => s.role === 'root1' || s.role === 'root2');
  if (!root) throw new Error('oracle: the layout has no root server');
  const qtype = type.toUpperCase();

  const resolve = (qname: string, t: string, depth: number): { rcode: string; answers: Rec[] } | null => {
    if (depth > ORACLE_MAX_GLUELESS_DEPTH) return null;
    const answers: Rec[] = [];
    let current = canonical(qname);
    for (let restart = 0; restart <= ORACLE_MAX_CNAMES + 1; restart++) {
      let server: RoleSpec = root;
      let done = false;
      for (let step = 0; step < 30 && !done; step++) {
        const out = lookup(server.zones, current, t);
        if (out.rcode === 5) return null; // REFUSED: the data has a hole
        const nsRecords = (out.authorities as Rec[]).filter((r) => r.type === 'NS');
        if (!out.aa && out.answers.length === 0 && nsRecords.length > 0) {
          let next: RoleSpec | undefined;
          for (const nsr of nsRecords) {
            const target = canonical(String(nsr.data));
            let addrs = (out.additionals as Rec[])
              .filter((g) => g.type === 'A' && canonical(g.name) === target)
              .map((g) => String(g.data));
            if (addrs.length === 0) {
              const sub = resolve(target, 'A', depth + 1);
              const owner = sub ? lastOfChain(sub.answers, target) : null;
              addrs = sub
                ? sub.answers.filter((r) => r.type === 'A' && canonical(r.name) === owner).map((r) => String(r.data))
                : [];
            }
            next = addrs.map((a) => byAddress.get(a)).find((s): s is RoleSpec => s !== undefined && usable(s));
            if (next) break;
          }
          if (!next) return null;
          server = next;
          continue;
        }
        answers.push(...(out.answers as Rec[]));
        if (answers.filter((r) => r.type === 'CNAME').length > ORACLE_MAX_CNAMES) return null;
        if (out.rcode === 3) return { rcode: 'NXDOMAIN', answers };
        const end = lastOfChain(answers, canonical(qname));
        if (end === null) return null; // a CNAME loop
        const negative = (out.authorities as Rec[]).some((r) => r.type === 'SOA');
        const found = answers.some((r) => canonical(r.name) === end && (r.type === t || t === 'ANY'));
        if (negative || found || t === 'CNAME' || end === current) return { rcode: 'NOERROR', answers };
        current = end; // the chain leaves this zone: start again from the root
        done = true;
      }
      if (!done) return null;
    }
    return null;
  };

  const result = resolve(name, qtype, 0);
  if (!result) return SERVFAIL;
  return { rcode: result.rcode, tc: false, rows: rowsOf(result.answers) };
}

/** Where the CNAMEs in `answers` starting at `from` lead (`from` itself if none); null for a loop. */
function lastOfChain(answers: Rec[], from: string): string | null {
  const seen = new Set<string>();
  let cur = canonical(from);
  for (;;) {
    const c = answers.find((r) => r.type === 'CNAME' && canonical(r.name) === cur);
    if (!c) return cur;
    if (seen.has(cur)) return null;
    seen.add(cur);
    cur = canonical(String(c.data));
  }
}

/** The addresses (records of `type`, A or AAAA) in an outcome, sorted: to check against HIERARCHY_ANSWERS. */
export function finalAddresses(o: Outcome, type = 'A'): string[] {
  return o.rows
    .filter((r) => r.split(' ')[1] === type)
    .map((r) => r.split(' ')[2]!)
    .sort();
}

/** True if every row of `part` is one of `whole`'s and there is at least one (ANY, RFC 8482). */
export function nonEmptySubset(part: Outcome | Error, whole: Outcome): boolean {
  if (part instanceof Error || part.rcode !== whole.rcode || part.tc) return false;
  return part.rows.length > 0 && part.rows.every((r) => whole.rows.includes(r));
}
