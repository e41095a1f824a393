// Asking a list of upstream servers one question: servers in RTT order,
// a fresh random ID and source port per try, replies accepted only if they
// answer exactly our question, TC → the same server over TCP, timeouts and
// errors → the next server, rounds until the deadline.

import { Random } from '../random/random';
import { CLASS, EDNS_UDP_SIZE, HEADER_LENGTH, TYPE } from '../wire/constants';
import { Message, parseMessage, WireError } from '../wire/message';
import { Name, readName } from '../wire/name';
import { RttTable } from './rtt';
import { Endpoint, startUdpTry, TryResult } from './udp';
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

/**
 * One server: a UDP try, then the same server over TCP if the reply is
 * truncated. `done` gets the outcome exactly once, possibly before this
 * returns.
 */
function oneServer(server: Endpoint, q: UpstreamQuestion, opts: UpstreamOptions, timeoutMs: number, done: (result: TryResult) => void): void {
  if (opts.mayTry && !opts.mayTry()) return done(STOPPED);
  const id = opts.random.uint16();
  const from = server.family === 6 ? opts.sendFrom.v6 : opts.sendFrom.v4;
  opts.onTry?.(server, 'udp');
  const started = performance.now();
  startUdpTry(server, buildQuery(q, id), from, timeoutMs, opts.random, (bytes) => answersQuestion(bytes, id, q), (udp) => {
    // This runs in a socket's (or a batch's, or the timeout wheel's) handler:
    // a throw from the RTT table or the budget must end this server's try,
    // not escape into the handler and strand the other tries there.
    try {
      afterUdp(server, q, opts, from, started, udp, done);
    } catch (err) {
      done({ kind: 'error', message: (err as Error).message });
    }
  });
}

/** The UDP try's outcome: done, or over TCP to the same server when truncated. */
function afterUdp(server: Endpoint, q: UpstreamQuestion, opts: UpstreamOptions, from: string, started: number, udp: TryResult, done: (result: TryResult) => void): void {
  if (udp.kind === 'timeout') opts.rtt.timedOut(server, performance.now() - started);
  if (udp.kind !== 'reply') return done(udp);
  opts.rtt.answered(server, udp.rttMs);
  if (!(udp.bytes[2]! & 0x02)) return done(udp);
  // Truncated: the same server over TCP, with a fresh ID.
  if (opts.mayTry && !opts.mayTry()) return done(STOPPED);
  const tcpId = opts.random.uint16();
  const remaining = Math.max(1, opts.deadline - performance.now());
  opts.onTry?.(server, 'tcp');
  tcpTry(server, buildQuery(q, tcpId), from, Math.min(remaining, 10000), (bytes) => answersQuestion(bytes, tcpId, q)).then(
    (tcp) => {
      try {
        (opts.rtt as RttTable & TcpOutcomeObserver).tcpOutcome?.(server, tcp);
      } catch {
        // An observer (metrics) must not cost the answer.
      }
      done(tcp);
    },
    (err: Error) => done({ kind: 'error', message: err.message }),
  );
}

/**
 * Asks `servers` in RTT order, round after round, until one gives a reply
 * the judge accepts, the deadline passes or every server was passed over.
 * A loop over rounds and servers resumed by each try's outcome, settling
 * one promise: the former async version cost a promise and a generator per
 * try, and two more microtask turns per miss.
 */
export function askServers<T>(servers: readonly Endpoint[], q: UpstreamQuestion, opts: UpstreamOptions, judge: Judge<T>): Promise<UpstreamResult<T>> {
  return new Promise((resolve, reject) => {
    const rounds = opts.rounds ?? 3;
    let lastReason = 'no servers';
    // Servers passed over for good; made on the first one (most questions need none).
    let skip: Set<Endpoint> | null = null;
    let round = 0;
    let order = opts.rtt.order(servers);
    let next = 0;
    const passOver = (server: Endpoint, reason: string): void => {
      lastReason = reason;
      (skip ??= new Set()).add(server);
    };
    const tryNext = (): void => {
      for (;;) {
        if (next === order.length) {
          if (++round >= rounds || (skip !== null && skip.size === servers.length)) return resolve({ kind: 'failed', reason: lastReason });
          order = opts.rtt.order(servers);
          next = 0;
          continue;
        }
        const server = order[next++]!;
        if (skip !== null && skip.has(server)) continue;
        const remaining = opts.deadline - performance.now();
        if (remaining <= 0) return resolve({ kind: 'failed', reason: 'timed out' });
        const timeout = Math.min(remaining, opts.rtt.timeout(server) * (1 << round));
        return oneServer(server, q, opts, timeout, (result) => {
          // This runs in socket event handlers: a throw must reject, not escape.
          try {
            outcome(server, result);
          } catch (err) {
            reject(err);
          }
        });
      }
    };
    const outcome = (server: Endpoint, result: TryResult): void => {
      if (result === STOPPED) return resolve({ kind: 'failed', reason: 'work limit reached' });
      if (result.kind === 'timeout') {
        lastReason = 'timed out';
        return tryNext();
      }
      if (result.kind === 'error') {
        passOver(server, result.message);
        return tryNext();
      }
      let message: Message;
      try {
        message = parseMessage(result.bytes);
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
        // Unlike dnscache, a malformed reply costs this server, not the query.
        passOver(server, `malformed reply: ${e.message}`);
        return tryNext();
      }
      const verdict = judge(message, server);
      if (verdict.use) return resolve({ kind: 'response', server, message, value: verdict.value });
      passOver(server, verdict.reason);
      tryNext();
    };
    tryNext();
  });
}
