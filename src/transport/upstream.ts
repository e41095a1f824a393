// Asking a list of upstream servers one question: servers in RTT order,
// a fresh random ID and source port per try, replies accepted only if they
// answer exactly our question, TC → the same server over TCP, timeouts and
// errors → the next server, rounds until the deadline.

import { Random } from '../random/random';
import { CLASS, EDNS_UDP_SIZE, HEADER_LENGTH, OPCODE_QUERY, RCODE, TYPE } from '../wire/constants';
import { Message, parseMessage, WireError } from '../wire/message';
import { Name, readName } from '../wire/name';
import { ServerOrder } from './policy';
import { RttTable } from './rtt';
import { Endpoint, RunningTry, startUdpTry, TryOwner, TryResult } from './udp';
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

/**
 * Builds our query: random ID, no compression, EDNS0 with our buffer size,
 * DO clear; without the OPT for a server that does not speak EDNS.
 */
export function buildQuery(q: UpstreamQuestion, id: number, edns = true): Buffer {
  // allocUnsafe takes a slice of Node's pool; alloc would malloc a backing
  // store per query (malloc, free and the ArrayBuffer sweeper were all in the
  // cold-miss profile). Every byte is written below.
  const buf = Buffer.allocUnsafe(HEADER_LENGTH + q.name.length + 4 + (edns ? 11 : 0)).fill(0, 0, HEADER_LENGTH);
  buf.writeUInt16BE(id, 0);
  buf[2] = q.rd ? 0x01 : 0x00;
  buf.writeUInt16BE(1, 4);
  if (edns) buf.writeUInt16BE(1, 10);
  let off = HEADER_LENGTH + buf.write(q.name, HEADER_LENGTH, 'latin1');
  off = buf.writeUInt16BE(q.type, off);
  off = buf.writeUInt16BE(CLASS.IN, off);
  if (!edns) return buf;
  buf[off++] = 0; // root owner of OPT
  off = buf.writeUInt16BE(TYPE.OPT, off);
  off = buf.writeUInt16BE(EDNS_UDP_SIZE, off);
  buf.fill(0, off); // extended RCODE, version, DO and flags, RDLENGTH
  return buf;
}

/**
 * Is `bytes` the reply to our query, ending the wait? Same ID, QR set, and
 * exactly our question - or no question at all, which replyFault() then
 * turns into a failed try: a server that answers so (some do, to queries
 * they dislike) will not send anything better, and waiting for the timeout
 * only delays the next server. Anything else - another question, a wrong
 * ID, stale replies, garbage - is ignored while we keep waiting, so a
 * spoofer must still match the ID on our random port to end a try early.
 */
export function answersQuestion(bytes: Buffer, id: number, q: UpstreamQuestion): boolean {
  if (bytes.length < HEADER_LENGTH) return false;
  if (bytes.readUInt16BE(0) !== id) return false;
  if (!(bytes[2]! & 0x80)) return false;
  const qdcount = bytes.readUInt16BE(4);
  if (qdcount === 0) return true;
  if (qdcount !== 1) return false;
  try {
    const { name, end } = readName(bytes, HEADER_LENGTH);
    if (end + 4 > bytes.length) return false;
    return name === q.name && bytes.readUInt16BE(end) === q.type && bytes.readUInt16BE(end + 2) === CLASS.IN;
  } catch {
    return false;
  }
}

/**
 * Why a reply answersQuestion() took cannot be used: an opcode other than
 * QUERY (ours always is), or no question section; null when neither.
 */
export function replyFault(bytes: Buffer): string | null {
  const opcode = (bytes[2]! >> 3) & 0x0f;
  if (opcode !== OPCODE_QUERY) return `opcode ${opcode} in reply`;
  if (bytes.readUInt16BE(4) === 0) return 'reply without a question';
  return null;
}

/**
 * The reply of a server that does not know EDNS to a query with our OPT
 * (RFC 6891 §7): FORMERR or NOTIMP, with no OPT of its own (one would show
 * that it knows EDNS, and the error is about something else). Whether it
 * echoes the question does not matter: many such servers do not.
 */
export function refusesEdns(bytes: Buffer): boolean {
  const rcode = bytes[3]! & 0x0f;
  if (rcode !== RCODE.FORMERR && rcode !== RCODE.NOTIMP) return false;
  if (((bytes[2]! >> 3) & 0x0f) !== OPCODE_QUERY) return false;
  if (bytes.readUInt16BE(10) === 0) return true;
  try {
    return parseMessage(bytes).edns === null;
  } catch {
    return false; // unreadable: a malformed reply, whatever it meant
  }
}

/** A reply with a fault as the failed try it is; any other result as it is. */
function faultless(result: TryResult): TryResult {
  if (result.kind !== 'reply') return result;
  const fault = replyFault(result.bytes);
  return fault === null ? result : { kind: 'error', message: fault };
}

/** How a resolver asks: the same for every question it sends upstream. */
export interface UpstreamOptions {
  readonly sendFrom: SendAddresses;
  readonly random: Random;
  readonly rtt: RttTable;
  /** Called before each try, e.g. to count or log outbound queries. */
  readonly onTry?: (server: Endpoint, transport: 'udp' | 'tcp') => void;
  /** Told when each try starts and ends (forwarding pools: queries in flight, rates, health). */
  readonly load?: TryObserver;
}

/** Sees every try of a question: its start, and its end exactly once (TCP follow-ups are tries of their own). */
export interface TryObserver {
  started(server: Endpoint): void;
  ended(server: Endpoint, result: TryResult): void;
}

/** What one question may spend (resolve/budget.ts's WorkBudget is one). */
export interface TryBudget {
  /** Absolute time (performance.now() ms) after which we give up. */
  readonly deadline: number;
  /** Asked before each try; false stops all traffic for this question (work limits). */
  take(): boolean;
  /**
   * The asking now under way for this question (null: none): stopping the
   * question cancels its try, so the socket is not held until a timeout.
   * A question asks one thing at a time, so there is at most one.
   */
  attach?(asking: RunningTry | null): void;
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
 * Asks `servers` in RTT order (or a pool's, `order`), round after round,
 * until one gives a reply the judge accepts, the deadline passes or every
 * server was passed over. `first`: the first round's order, when the caller
 * already made it (to log it): an order may be drawn at random.
 */
export function askServers<T>(
  servers: readonly Endpoint[],
  q: UpstreamQuestion,
  opts: UpstreamOptions,
  budget: TryBudget,
  judge: Judge<T>,
  rounds = 3,
  order: ServerOrder = opts.rtt,
  first: readonly Endpoint[] | null = null,
): Promise<UpstreamResult<T>> {
  return new Promise((resolve, reject) => new Asking(servers, q, opts, budget, judge, rounds, order, first, resolve, reject).tryNext());
}

/**
 * One question's walk over its servers: a loop over rounds and servers,
 * resumed by each try's outcome, settling one promise. One object per
 * question, owner of all its tries (TryOwner): per question in flight that
 * is one object and a promise (the rare TCP fallback after a truncated reply
 * still makes its own closures), where closures per step and per try (and an
 * async function before them) cost several contexts and functions, all of
 * which a GC scavenge copies while the question waits.
 */
class Asking<T> implements TryOwner, RunningTry {
  private lastReason = 'no servers';
  /** Servers passed over for good; made on the first one (most questions need none). */
  private skip: Set<Endpoint> | null = null;
  private round = 0;
  private order: readonly Endpoint[];
  private next = 0;
  // The try in progress (one at a time).
  private server: Endpoint | null = null;
  private id = 0;
  private from = '';
  private started = 0;
  /** The try carries our OPT. */
  private edns = true;
  /** The try asks again without OPT after the server refused it: its reply says whether to remember that. */
  private probing = false;
  /** The socket of the try in progress, UDP or TCP. */
  private current: RunningTry | null = null;

  constructor(
    private readonly servers: readonly Endpoint[],
    private readonly q: UpstreamQuestion,
    private readonly opts: UpstreamOptions,
    private readonly budget: TryBudget,
    private readonly judge: Judge<T>,
    private readonly rounds: number,
    private readonly chooser: ServerOrder,
    first: readonly Endpoint[] | null,
    private readonly done: (result: UpstreamResult<T>) => void,
    private readonly failed: (err: unknown) => void,
  ) {
    this.order = first ?? chooser.order(servers);
    budget.attach?.(this);
  }

  /** The question is no longer wanted (its budget was aborted): end the try in progress now. */
  cancel(): void {
    this.current?.cancel();
  }

  private resolve(result: UpstreamResult<T>): void {
    this.budget.attach?.(null);
    this.done(result);
  }

  private reject(err: unknown): void {
    this.budget.attach?.(null);
    this.failed(err);
  }

  tryNext(): void {
    for (;;) {
      if (this.next === this.order.length) {
        if (++this.round >= this.rounds || (this.skip !== null && this.skip.size === this.servers.length)) return this.resolve({ kind: 'failed', reason: this.lastReason });
        this.order = this.chooser.order(this.servers);
        this.next = 0;
        continue;
      }
      const server = this.order[this.next++]!;
      if (this.skip !== null && this.skip.has(server)) continue;
      return this.start(server, false);
    }
  }

  /**
   * One server: a UDP try (without OPT if the server is known not to speak
   * EDNS, or `probing` it after a refusal), then the same server over TCP if
   * the reply is truncated. Within the question's time and work budget.
   */
  private start(server: Endpoint, probing: boolean): void {
    this.server = server;
    const remaining = this.budget.deadline - performance.now();
    if (remaining <= 0) return this.resolve({ kind: 'failed', reason: 'timed out' });
    if (!this.budget.take()) return this.settle(STOPPED);
    this.id = this.opts.random.uint16();
    this.from = server.family === 6 ? this.opts.sendFrom.v6 : this.opts.sendFrom.v4;
    this.probing = probing;
    this.edns = !probing && !this.opts.rtt.noEdns.has(server);
    this.opts.onTry?.(server, 'udp');
    this.started = performance.now();
    this.opts.load?.started(server);
    const timeoutMs = Math.min(remaining, this.opts.rtt.timeout(server) * (1 << this.round));
    this.current = startUdpTry(server, buildQuery(this.q, this.id, this.edns), this.from, timeoutMs, this.opts.random, this);
  }

  accepts(bytes: Buffer): boolean {
    return answersQuestion(bytes, this.id, this.q);
  }

  tried(udp: TryResult): void {
    this.current = null;
    this.opts.load?.ended(this.server!, udp);
    // This runs in a socket's (or a batch's, or the timeout wheel's) handler:
    // a throw from the RTT table or the budget must end this server's try,
    // not escape into the handler and strand the other tries there.
    let result: TryResult | null;
    try {
      result = this.afterUdp(udp);
    } catch (err) {
      result = { kind: 'error', message: (err as Error).message };
    }
    if (result !== null) this.settle(result);
  }

  /**
   * The UDP try's outcome: final, or null when the same server is asked
   * again - without OPT after it refused EDNS, or over TCP (truncated).
   */
  private afterUdp(udp: TryResult): TryResult | null {
    const server = this.server!;
    if (udp.kind === 'timeout') this.opts.rtt.timedOut(server, performance.now() - this.started);
    if (udp.kind !== 'reply') return udp;
    this.opts.rtt.answered(server, udp.rttMs);
    if (this.edns && refusesEdns(udp.bytes)) {
      // Once per question and server: the probe carries no OPT, so it cannot be refused so again.
      this.start(server, true);
      return null;
    }
    // Remembered only once the server answered without OPT: one that also
    // refuses a plain query is broken, not EDNS-less, and later questions
    // should not lose EDNS (and big answers over UDP) for its sake.
    const checked = faultless(udp);
    if (this.probing && checked.kind === 'reply' && !refusesEdns(udp.bytes)) this.opts.rtt.noEdns.add(server);
    if (checked.kind !== 'reply' || !(udp.bytes[2]! & 0x02)) return checked;
    // Truncated: the same server over TCP, with a fresh ID.
    if (!this.budget.take()) return STOPPED;
    const tcpId = this.opts.random.uint16();
    const remaining = Math.max(1, this.budget.deadline - performance.now());
    this.opts.onTry?.(server, 'tcp');
    this.opts.load?.started(server);
    this.current = tcpTry(server, buildQuery(this.q, tcpId, this.edns), this.from, Math.min(remaining, 10000), (bytes) => answersQuestion(bytes, tcpId, this.q), (tcp) => {
      this.current = null;
      this.opts.load?.ended(server, tcp);
      try {
        (this.opts.rtt as RttTable & TcpOutcomeObserver).tcpOutcome?.(server, tcp);
      } catch {
        // An observer (metrics) must not cost the answer.
      }
      this.settle(faultless(tcp));
    });
    return null;
  }

  /** A server's outcome: the answer, or on to the next server. A throw (the judge's) rejects: it must not escape a socket handler. */
  private settle(result: TryResult): void {
    try {
      this.outcome(result);
    } catch (err) {
      this.reject(err);
    }
  }

  /** The outcome of the try in progress (at this.server). */
  private outcome(result: TryResult): void {
    const server = this.server!;
    if (result === STOPPED) return this.resolve({ kind: 'failed', reason: 'work limit reached' });
    if (result.kind === 'timeout') {
      this.lastReason = 'timed out';
      return this.tryNext();
    }
    if (result.kind === 'error') {
      this.passOver(server, result.message);
      return this.tryNext();
    }
    let message: Message;
    try {
      message = parseMessage(result.bytes);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      // Unlike dnscache, a malformed reply costs this server, not the query.
      this.passOver(server, `malformed reply: ${e.message}`);
      return this.tryNext();
    }
    const verdict = this.judge(message, server);
    if (verdict.use) return this.resolve({ kind: 'response', server, message, value: verdict.value });
    this.passOver(server, verdict.reason);
    this.tryNext();
  }

  private passOver(server: Endpoint, reason: string): void {
    this.lastReason = reason;
    (this.skip ??= new Set()).add(server);
  }
}
