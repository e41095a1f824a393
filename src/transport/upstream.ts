// Asking a list of upstream servers one question: servers in RTT order,
// a fresh random ID and source port per try, replies accepted only if they
// answer exactly our question, TC → the same server over TCP, timeouts and
// errors → the next server, rounds until the deadline.

import { Random } from '../random/random';
import { CLASS, EDNS_UDP_SIZE, HEADER_LENGTH, TYPE } from '../wire/constants';
import { Message, parseMessage, WireError } from '../wire/message';
import { Name, readName } from '../wire/name';
import { RttTable } from './rtt';
import { Acceptor, Endpoint, TryResult, udpTry } from './udp';
import { tcpTry } from './tcp';

export interface UpstreamQuestion {
  readonly name: Name;
  readonly type: number;
  /** RD=1 towards forwarders, RD=0 towards authorities. */
  readonly rd: boolean;
}

export interface SendAddresses {
  readonly v4: string;
  readonly v6: string;
}

export type UpstreamResult<T> =
  | { readonly kind: 'response'; readonly server: Endpoint; readonly message: Message; readonly value: T }
  | { readonly kind: 'failed'; readonly reason: string };

/**
 * The caller's verdict on a parsed reply: use it (with what the caller made
 * of it, so it is worked out once), or pass over this server (SERVFAIL,
 * REFUSED, lame, ...) and ask the next one. The reason is kept for the
 * failure report.
 */
export type Judged<T> = { readonly use: true; readonly value: T } | { readonly use: false; readonly reason: string };
export type Judge<T> = (message: Message, server: Endpoint) => Judged<T>;

/** Builds our query: random ID, no compression, EDNS0 with our buffer size, DO clear. */
export function buildQuery(q: UpstreamQuestion, id: number): Buffer {
  // allocUnsafe takes a slice of Node's pool; alloc would malloc a backing
  // store per query (malloc, free and the ArrayBuffer sweeper were all in the
  // cold-miss profile). Every byte is written below.
  const buf = Buffer.allocUnsafe(HEADER_LENGTH + q.name.length + 4 + 11).fill(0, 0, HEADER_LENGTH);
  buf.writeUInt16BE(id, 0);
  buf[2] = q.rd ? 0x01 : 0x00;
  buf.writeUInt16BE(1, 4);
  buf.writeUInt16BE(1, 10);
  let off = HEADER_LENGTH + buf.write(q.name, HEADER_LENGTH, 'latin1');
  off = buf.writeUInt16BE(q.type, off);
  off = buf.writeUInt16BE(CLASS.IN, off);
  buf[off++] = 0; // root owner of OPT
  off = buf.writeUInt16BE(TYPE.OPT, off);
  off = buf.writeUInt16BE(EDNS_UDP_SIZE, off);
  buf.fill(0, off); // extended RCODE, version, DO and flags, RDLENGTH
  return buf;
}

/**
 * Is `bytes` a reply to our query? Same ID, QR set, exactly our question.
 * Anything else - spoofing attempts, stale replies, garbage - is ignored
 * while we keep waiting for the real answer.
 */
export function answersQuestion(bytes: Buffer, id: number, q: UpstreamQuestion): boolean {
  if (bytes.length < HEADER_LENGTH) return false;
  if (bytes.readUInt16BE(0) !== id) return false;
  if (!(bytes[2]! & 0x80)) return false;
  if (bytes.readUInt16BE(4) !== 1) return false;
  try {
    const { name, end } = readName(bytes, HEADER_LENGTH);
    if (end + 4 > bytes.length) return false;
    return name === q.name && bytes.readUInt16BE(end) === q.type && bytes.readUInt16BE(end + 2) === CLASS.IN;
  } catch {
    return false;
  }
}

export interface UpstreamOptions {
  readonly sendFrom: SendAddresses;
  readonly random: Random;
  readonly rtt: RttTable;
  /** Absolute time (performance.now() ms) after which we give up. */
  readonly deadline: number;
  /** How many passes over the server list. */
  readonly rounds?: number;
  /** Called before each try, e.g. to count or log outbound queries. */
  readonly onTry?: (server: Endpoint, transport: 'udp' | 'tcp') => void;
  /** Asked before each try; false stops all traffic for this question (work limits). */
  readonly mayTry?: () => boolean;
}

/**
 * An RTT table may also want the outcome of TCP tries (metrics: RTT
 * histogram, timeouts); the plain RttTable does not, as a TCP exchange
 * (handshake included) says little about which server to ask first.
 */
export interface TcpOutcomeObserver {
  tcpOutcome?(server: Endpoint, result: TryResult): void;
}

const STOPPED: TryResult = { kind: 'error', message: 'work limit reached' };

async function oneServer(server: Endpoint, q: UpstreamQuestion, opts: UpstreamOptions, timeoutMs: number): Promise<{ result: TryResult; id: number; tcp: boolean }> {
  const id = opts.random.uint16();
  const query = buildQuery(q, id);
  const accept: Acceptor = (bytes) => answersQuestion(bytes, id, q);
  const from = server.family === 6 ? opts.sendFrom.v6 : opts.sendFrom.v4;
  if (opts.mayTry && !opts.mayTry()) return { result: STOPPED, id, tcp: false };
  opts.onTry?.(server, 'udp');
  const started = performance.now();
  const udp = await udpTry(server, query, from, timeoutMs, opts.random, accept);
  if (udp.kind === 'timeout') opts.rtt.timedOut(server, performance.now() - started);
  if (udp.kind !== 'reply') return { result: udp, id, tcp: false };
  opts.rtt.answered(server, udp.rttMs);
  if (!(udp.bytes[2]! & 0x02)) return { result: udp, id, tcp: false };
  // Truncated: the same server over TCP, with a fresh ID.
  const tcpId = opts.random.uint16();
  const tcpQuery = buildQuery(q, tcpId);
  const remaining = Math.max(1, opts.deadline - performance.now());
  if (opts.mayTry && !opts.mayTry()) return { result: STOPPED, id: tcpId, tcp: true };
  opts.onTry?.(server, 'tcp');
  const tcp = await tcpTry(server, tcpQuery, from, Math.min(remaining, 10000), (bytes) => answersQuestion(bytes, tcpId, q));
  (opts.rtt as RttTable & TcpOutcomeObserver).tcpOutcome?.(server, tcp);
  return { result: tcp, id: tcpId, tcp: true };
}

export async function askServers<T>(servers: readonly Endpoint[], q: UpstreamQuestion, opts: UpstreamOptions, judge: Judge<T>): Promise<UpstreamResult<T>> {
  const rounds = opts.rounds ?? 3;
  let lastReason = 'no servers';
  // Servers passed over for good; made on the first one (most questions need none).
  let skip: Set<Endpoint> | null = null;
  for (let round = 0; round < rounds; round++) {
    for (const server of opts.rtt.order(servers)) {
      if (skip !== null && skip.has(server)) continue;
      const remaining = opts.deadline - performance.now();
      if (remaining <= 0) return { kind: 'failed', reason: 'timed out' };
      const timeout = Math.min(remaining, opts.rtt.timeout(server) * (1 << round));
      const { result } = await oneServer(server, q, opts, timeout);
      if (result === STOPPED) return { kind: 'failed', reason: 'work limit reached' };
      if (result.kind === 'timeout') {
        lastReason = 'timed out';
        continue;
      }
      if (result.kind === 'error') {
        lastReason = result.message;
        (skip ??= new Set()).add(server);
        continue;
      }
      let message: Message;
      try {
        message = parseMessage(result.bytes);
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
        // Unlike dnscache, a malformed reply costs this server, not the query.
        lastReason = `malformed reply: ${e.message}`;
        (skip ??= new Set()).add(server);
        continue;
      }
      const verdict = judge(message, server);
      if (verdict.use) return { kind: 'response', server, message, value: verdict.value };
      lastReason = verdict.reason;
      (skip ??= new Set()).add(server);
    }
    if (skip !== null && skip.size === servers.length) break;
  }
  return { kind: 'failed', reason: lastReason };
}
