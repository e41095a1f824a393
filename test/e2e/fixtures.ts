// Shared pieces of the end-to-end tests: the lab zone dnscache forwards to,
// starting labs and dnscache together, reading header bits, and checking
// that dnscache stays silent without sleeping for a fixed time.

import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after } from 'node:test';
import { freeLoopback } from '../lab/addresses';
import { Endpoint, encodeQuery, openUdp, query } from '../lab/client';
import { exampleTestZone } from '../lab/example-zone';
import { Behaviour, LabServer, LabServerOptions, LoggedQuery } from '../lab/server';
import { a, LabRecord, LabZone } from '../lab/zone';
import { parseExposition, Parsed } from '../unit/metrics-parse';
import { CleanupScope, Dnscache, startDnscache, StartOptions } from './harness';

export const WILDCARD_ADDRESS = '192.0.2.99';
/** The 60 A records of every name under many.example.test: too many for 512 bytes, fine for 1232. */
export const MANY_ADDRESSES: readonly string[] = Array.from({ length: 60 }, (_, i) => `198.51.100.${i + 1}`);

/**
 * The demo's example.test zone plus wildcards, so every test can ask names
 * nobody asked before: *.wild (one A record) and *.many (60 A records).
 */
export const ZONE: LabZone = exampleTestZone(
  [['ns1.example.test', '127.53.0.1']],
  a('*.wild.example.test', WILDCARD_ADDRESS),
  MANY_ADDRESSES.map((address) => a('*.many.example.test', address)),
);

/**
 * A cleanup scope for a whole file or describe block: call it at the top
 * level (or in the describe body); what is registered runs, newest first,
 * after the block's tests.
 */
export function suiteScope(): CleanupScope {
  const cleanups: Array<() => unknown> = [];
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  return { after: (fn) => void cleanups.push(fn) };
}

let unique = 0;
/** A name under a wildcard ('wild' or 'many') that no other query in this process has used. */
export function freshName(tag = 'n', under: 'wild' | 'many' = 'wild'): string {
  return `${tag}-${process.pid}-${++unique}.${under}.example.test`;
}

/** The records the lab holds for (name, type). */
export function zoneRecords(name: string, type: string): LabRecord[] {
  return ZONE.records.filter((r) => r.name.toLowerCase() === name.toLowerCase() && r.type === type);
}

export async function startLab(scope: CleanupScope, opts: Partial<LabServerOptions> = {}): Promise<LabServer> {
  const lab = await LabServer.start({
    address: await freeLoopback(),
    zones: [ZONE],
    recursionAvailable: true,
    ...opts,
  });
  scope.after(() => lab.stop());
  return lab;
}

export interface Setup {
  labs: LabServer[];
  lab: LabServer;
  dns: Dnscache;
}

/**
 * One lab per behaviour (in servers/@ order) and a dnscache forwarding to
 * them; everything is stopped through `scope`.
 */
export async function startSetup(
  scope: CleanupScope,
  behaviours: Behaviour[] = ['answer'],
  opts: Omit<StartOptions, 'upstreams'> & { delayMs?: number } = {},
): Promise<Setup> {
  const { delayMs, ...start } = opts;
  const labs = await Promise.all(
    behaviours.map((behaviour) => startLab(scope, delayMs === undefined ? { behaviour } : { behaviour, delayMs })),
  );
  const dns = await startDnscache({ ...start, upstreams: labs }, scope);
  return { labs, lab: labs[0]!, dns };
}

/**
 * The queries a lab received for clients' sake: without the health checks a
 * forwarding dnscache sends its idle upstreams (HEALTHQUERY, `. SOA` by default).
 */
export function clientQueries(lab: LabServer): LoggedQuery[] {
  return lab.queries.filter((q) => !(q.name === '' && q.type === 'SOA'));
}

/** Queries the lab received for `name` (case-insensitive). */
export function queriesFor(lab: LabServer, name: string): LoggedQuery[] {
  return lab.queries.filter((q) => q.name.toLowerCase() === name.toLowerCase());
}

export interface Header {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export function header(raw: Buffer): Header {
  return {
    id: raw.readUInt16BE(0),
    qr: (raw[2]! & 0x80) !== 0,
    opcode: (raw[2]! >> 3) & 0x0f,
    aa: (raw[2]! & 0x04) !== 0,
    tc: (raw[2]! & 0x02) !== 0,
    rd: (raw[2]! & 0x01) !== 0,
    ra: (raw[3]! & 0x80) !== 0,
    rcode: raw[3]! & 0x0f,
    qdcount: raw.readUInt16BE(4),
    ancount: raw.readUInt16BE(6),
    nscount: raw.readUInt16BE(8),
    arcount: raw.readUInt16BE(10),
  };
}

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value other than undefined; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 3000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Sends `packets` over UDP from `source` and returns every datagram that came
 * back. Instead of waiting a fixed time for nothing, it then asks a probe
 * question (localhost, answered internally) from 127.0.0.1 and waits for
 * that answer: dnscache handles datagrams in order, so any reply to
 * `packets` has been sent by then. (So 127.0.0.1 must be in ip/, as it is
 * by default.)
 */
export async function udpRepliesTo(
  server: Endpoint,
  packets: Buffer[],
  source = '127.0.0.1',
  timeoutMs = 3000,
): Promise<Buffer[]> {
  const sock = await openUdp(server, source);
  const replies: Buffer[] = [];
  sock.on('message', (msg) => replies.push(msg));
  try {
    for (const p of packets)
      await new Promise<void>((resolve) => sock.send(p, server.port, server.address, () => resolve()));
    await query(server, 'localhost', 'A', { timeoutMs });
    // Let our own event loop deliver anything already queued on `sock`.
    await new Promise((resolve) => setImmediate(resolve));
    await sleep(20);
    return replies;
  } finally {
    sock.close();
  }
}

/**
 * Whether the server answers a UDP query from `source` (its ACL lets it in).
 * The query is for localhost, answered internally: a name to resolve could
 * take longer on a loaded machine than udpRepliesTo waits after its
 * barrier query, and read as a refusal.
 */
export async function answersUdpFrom(server: Endpoint, source: string): Promise<boolean> {
  return (await udpRepliesTo(server, [queryBytes('localhost', 'A')], source)).length > 0;
}

/** Frames a message for TCP (2-byte length prefix). */
export function framed(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

/** A well-formed query's bytes (RD set), to send raw or to tamper with. */
export function queryBytes(name: string, type = 'A', opts: Parameters<typeof encodeQuery>[2] = {}): Buffer {
  return encodeQuery(name, type, opts).bytes;
}

/** The port METRICS listens on in the tests (the address is a free 127.x.y.z). */
export const METRICS_PORT = 9153;

export interface HttpReply {
  status: number;
  contentType: string;
  body: string;
}

export function httpGet(address: string, port: number, path: string): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: address, port, path, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${address}:${port}${path}: timed out`)));
    req.on('error', reject);
  });
}

/** GET /metrics from a dnscache started with METRICS=<address>:METRICS_PORT, parsed strictly. */
export async function scrapeMetrics(address: string): Promise<Parsed> {
  const r = await httpGet(address, METRICS_PORT, '/metrics');
  assert.equal(r.status, 200, r.body);
  return parseExposition(r.body);
}
