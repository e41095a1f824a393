// Shared pieces of the iterative-resolution end-to-end tests: a lab DNS tree
// (test/lab/hierarchy.ts) per test file, real dnscache processes resolving
// from its root servers, and helpers to read the lab servers' query logs.

import assert from 'node:assert/strict';
import { PlainRecord, QueryOptions, Reply, query, records } from '../lab/client';
import { Hierarchy, startFreeHierarchy } from '../lab/hierarchy';
import { LoggedQuery } from '../lab/server';
import { CleanupScope, Dnscache, startDnscache } from './harness';

/** Starts a hierarchy on a random 127.B and port, stopped through `scope`. */
export async function startTree(scope: CleanupScope): Promise<Hierarchy> {
  const h = await startFreeHierarchy(0);
  scope.after(() => h.stop());
  return h;
}

export interface IterativeOptions {
  /** Other servers/ files (name → text), e.g. { 'example.test': '127.B.3.2:PORT\n' }. */
  extraServers?: Record<string, string>;
  env?: Record<string, string | undefined>;
}

/**
 * A dnscache resolving iteratively from the tree's root servers (servers/@ =
 * root hints, SERVERPORT = the tree's port). QMIN=0 unless `env` says
 * otherwise: most of these tests count the queries each server saw and
 * read `tx` lines, which minimisation's extra questions would change;
 * qmin.test.ts walks the whole tree with it on.
 */
export function startIterative(h: Hierarchy, scope: CleanupScope, opts: IterativeOptions = {}): Promise<Dnscache> {
  return startDnscache(
    {
      upstreams: h.rootHints.map((l) => l + '\n').join(''),
      forwardOnly: false,
      ...(opts.extraServers ? { extraServers: opts.extraServers } : {}),
      env: { SERVERPORT: String(h.port), QMIN: '0', ...opts.env },
    },
    scope,
  );
}

/**
 * Asks dnscache (UDP unless told otherwise), with a timeout longer than any
 * resolution may take, and waits until the log shows the reply as sent: log
 * lines are flushed once per event-loop turn, possibly after the reply left,
 * and a test checking them must see every line its question caused.
 */
export async function ask(dns: Dnscache, name: string, type = 'A', opts: QueryOptions = {}): Promise<Reply> {
  return (await timed(dns, name, type, opts)).reply;
}

/** Like `ask`, also measuring the wall-clock time until the reply arrived. */
export async function timed(
  dns: Dnscache,
  name: string,
  type = 'A',
  opts: QueryOptions = {},
): Promise<{ reply: Reply; ms: number }> {
  const id = opts.id ?? Math.floor(Math.random() * 0x10000);
  const t0 = performance.now();
  let reply: Reply;
  try {
    reply = await query(dns, name, type, { timeoutMs: 9000, ...opts, id });
  } catch (err) {
    const state = dns.alive ? 'dnscache is running' : 'dnscache has exited';
    throw new Error(`${(err as Error).message} (${state}); last log lines:\n${tail(dns, 40)}`, { cause: err });
  }
  const ms = performance.now() - t0;
  const queryLine = new RegExp(
    `^[uet]\\.query (\\d+) [0-9a-f]+:[0-9a-f]{4}:${id.toString(16).padStart(4, '0')} \\d+ ${esc(name.toLowerCase().replace(/\.$/, ''))}\\.$`,
  );
  const n = queryLine.exec(await dns.waitForLog(queryLine, 3000))![1];
  await dns.waitForLog(new RegExp(`^[ut]\\.sent ${n} `), 3000);
  return { reply, ms };
}

/** The data of the answer records of one type, sorted. */
export function dataOf(reply: Reply, type = 'A'): string[] {
  return records(reply.packet.answers, type)
    .map((r) => String(r.data))
    .sort();
}

export function answersOf(reply: Reply): PlainRecord[] {
  return records(reply.packet.answers);
}

/** C6 log form of an IPv4 address: 8 hex digits. */
export function hexIp(address: string): string {
  return address
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('');
}

/** A regular expression source matching `text` literally. */
export function esc(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Queries a role's server received (from line `from` of its log on), optionally only for one name and type. */
export function asked(h: Hierarchy, role: string, name?: string, type?: string, from = 0): LoggedQuery[] {
  return h
    .server(role)
    .queries.slice(from)
    .filter(
      (q) =>
        (name === undefined || q.name.toLowerCase() === name.toLowerCase()) && (type === undefined || q.type === type),
    );
}

/** Every query any server of the tree received for `name` (all roles), as 'role transport type'. */
export function whoWasAsked(h: Hierarchy, name: string): string[] {
  const out: string[] = [];
  for (const [role, s] of h.servers) {
    for (const q of s.queries)
      if (q.name.toLowerCase() === name.toLowerCase()) out.push(`${role} ${q.transport} ${q.type}`);
  }
  return out;
}

/** How many queries each role has received so far: a mark to compare against later. */
export function queryCounts(h: Hierarchy): Map<string, number> {
  return new Map([...h.servers].map(([role, s]) => [role, s.queries.length]));
}

/** The queries received since `mark`, as 'role transport name/type' lines (for messages and equality checks). */
export function queriesSince(h: Hierarchy, mark: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [role, s] of h.servers) {
    for (const q of s.queries.slice(mark.get(role) ?? 0))
      out.push(`${role} ${q.transport} ${q.name.toLowerCase()}/${q.type}`);
  }
  return out;
}

export function assertRcode(reply: Reply, rcode: string, what: string): void {
  assert.equal(
    reply.packet.rcode,
    rcode,
    `${what}: rcode ${reply.packet.rcode}, answers ${JSON.stringify(answersOf(reply))}`,
  );
}

/** The tail of dnscache's log, for assertion messages. */
export function tail(dns: Dnscache, n = 60): string {
  return dns.logs.slice(-n).join('\n');
}

/**
 * Each client question of a log (its `query` line, with the transport's
 * `u.` or `t.` in LOGFORMAT=dnscache), with the `stats`, `nodata` and
 * `nxdomain` lines printed after it, in order: 'name./type: stats stats'.
 */
export function statsPerQuestion(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    const q = /^(?:[uet]\.)?query \d+ \S+ (\d+) (\S+)$/.exec(l);
    const word = l.split(' ')[0]!;
    if (q) out.push(`${q[2]}/${q[1]}:`);
    else if (out.length > 0 && ['stats', 'nodata', 'nxdomain'].includes(word)) out[out.length - 1] += ` ${word}`;
  }
  return out;
}
