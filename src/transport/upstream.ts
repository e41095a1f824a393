// Asking a list of upstream servers one question: servers in RTT order (or
// a pool's, or a route's as given), a fresh random ID and source port per
// try, replies accepted only if they answer exactly our question, TC → the
// same server over TCP, timeouts and errors → the next server, round after
// round (Rounds: a number of them, or until the deadline). A server with a
// DNSCurve key (its uz5 name) gets its queries sealed (curve/), and only a
// reply that opens with our key and nonce counts; after UZ5FALLBACK
// unanswered encrypted tries, plain ones.

import { Random } from '../random/random';
import { CLASS, EDNS_UDP_SIZE, FLAG_TC, HEADER_LENGTH, OPCODE_QUERY, RCODE, TYPE } from '../wire/constants';
import { Message, parseMessage, WireError } from '../wire/message';
import { Name, readName, ROOT } from '../wire/name';
import { CurveClient, CurveFormat, formatFor, Sealed } from './curve/client';
import { ServerOrder } from './policy';
import { RttTable } from './rtt';
import { Endpoint, RunningTry, startUdpTry, TryOwner, TryResult } from './udp';
import { TimeoutWheel } from './timeouts';
import { tcpTry } from './tcp';

export interface UpstreamQuestion {
  readonly name: Name;
  readonly type: number;
  /** RD=1 towards forwarders, RD=0 towards authorities. */
  readonly rd: boolean;
  /** The zone the question is asked at: DNSCurve's TXT format ends its query names with it (the root if absent). */
  readonly zone?: Name;
}

/** A server to ask: where it is, and its DNSCurve public key if it has one (then queries to it are encrypted). */
export interface UpstreamServer extends Endpoint {
  readonly curveKey?: Buffer | null;
}

/** How to speak DNSCurve to servers that have a key. */
export interface CurveOptions {
  readonly client: CurveClient;
  /** USETEXTFORMAT: the TXT format instead of the streamlined one. */
  readonly format: CurveFormat;
  /**
   * UZ5FALLBACK: after this many encrypted tries to a server went
   * unanswered in one question, it is asked plainly; 0 never.
   */
  readonly fallbackAfter: number;
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
  readonly onTry?: ((server: Endpoint, transport: 'udp' | 'tcp') => void) | undefined;
  /** DNSCurve for servers with a key; without it every query is plain. */
  readonly curve?: CurveOptions | null;
  /** Told when each try starts and ends (forwarding pools: queries in flight, rates, health). */
  readonly load?: TryObserver;
  /** Where tries time out; its clock is the one tries measure RTTs and waits by. */
  readonly timeouts: TimeoutWheel;
}

/** Sees every try of a question: its start, and its end exactly once (TCP follow-ups are tries of their own). */
export interface TryObserver {
  started(server: Endpoint): void;
  ended(server: Endpoint, result: TryResult): void;
}

/** What one question may spend (resolve/budget.ts's WorkBudget is one). */
export interface TryBudget {
  /** Milliseconds left before we give up (negative once past). */
  remainingMs(): number;
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
 * How many rounds a question gets: `rounds` over every server, or, with
 * 'until the deadline', as many as its time allows while a server is left
 * that has only timed out. A forwarder has nobody else to ask: a fast
 * server that went quiet for a second was written off after three tries
 * (200, 400 and 800 ms) and its clients got SERVFAIL; now each try waits
 * twice as long as the one before, as long as the question may take.
 * An iterator has other servers and the zone above to turn to instead.
 */
export type Rounds = number | 'until the deadline';

/** Tries after this many rounds wait no longer (16 times the server's own timeout). */
const MAX_BACKOFF_ROUNDS = 4;

/** How a question's servers are taken, beyond the defaults. */
export interface AskingOrder {
  /** Whose order: the RTT table's (default), a pool's, or the servers as given (routes take turns). */
  readonly order?: ServerOrder;
  /** The first round's order, when the caller already made it (to log it): an order may be drawn at random. */
  readonly first?: readonly Endpoint[] | null;
  /** Told once per server that falls back to plain queries (UZ5FALLBACK). */
  readonly onFallback?: (server: UpstreamServer) => void;
}

/** The servers as they are given: a route's backends already take turns. */
export const AS_GIVEN: ServerOrder = { order: (servers) => servers };

/**
 * Asks `servers` in RTT order (or `how.order`), round after round, until
 * one gives a reply the judge accepts, the rounds are over, the deadline
 * passes or every server was passed over.
 */
export function askServers<T>(
  servers: readonly UpstreamServer[],
  q: UpstreamQuestion,
  opts: UpstreamOptions,
  budget: TryBudget,
  judge: Judge<T>,
  rounds: Rounds = 3,
  how: AskingOrder = {},
): Promise<UpstreamResult<T>> {
  return new Promise((resolve, reject) =>
    new Asking(
      servers,
      q,
      opts,
      budget,
      judge,
      rounds,
      how.order ?? opts.rtt,
      how.first ?? null,
      resolve,
      reject,
      how.onFallback,
    ).tryNext(),
  );
}

/** Sealed or not, a try's query and how to read its replies. */
interface Outgoing {
  readonly packet: Buffer;
  readonly sealed: Sealed | null;
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
  private skip: Set<UpstreamServer> | null = null;
  private round = 0;
  private order: readonly UpstreamServer[];
  private next = 0;
  // The try in progress (one at a time).
  private server: UpstreamServer | null = null;
  private id = 0;
  private from = '';
  private started = 0;
  /** The try carries our OPT. */
  private edns = true;
  /** The try asks again without OPT after the server refused it: its reply says whether to remember that. */
  private probing = false;
  /** The socket of the try in progress, UDP or TCP. */
  private current: RunningTry | null = null;
  /** The UDP try in progress was sealed so (null: plain); `opened` is its reply's content. */
  private sealed: Sealed | null = null;
  private opened: Buffer | null = null;
  /** Encrypted tries per server that went unanswered (UZ5FALLBACK); made when the first does. */
  private curveMisses: Map<UpstreamServer, number> | null = null;
  /** Replies to sealed queries that did not open (forged, replayed, another key): dropped, never a reply. */
  private unopened = 0;

  constructor(
    private readonly servers: readonly UpstreamServer[],
    private readonly q: UpstreamQuestion,
    private readonly opts: UpstreamOptions,
    private readonly budget: TryBudget,
    private readonly judge: Judge<T>,
    private rounds: Rounds,
    private readonly chooser: ServerOrder,
    first: readonly Endpoint[] | null,
    private readonly done: (result: UpstreamResult<T>) => void,
    private readonly failed: (err: unknown) => void,
    private readonly onFallback?: (server: UpstreamServer) => void,
  ) {
    this.order = first ?? chooser.order(servers);
    budget.attach?.(this);
    // The fallback UZ5FALLBACK asks for comes after that many encrypted tries: enough rounds to reach it.
    const after = opts.curve?.fallbackAfter ?? 0;
    if (after > 0 && rounds !== 'until the deadline' && servers.some((s) => s.curveKey))
      this.rounds = Math.max(rounds, after + 1);
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
        this.round++;
        // Past the deadline, start() ends the question.
        const over = this.rounds !== 'until the deadline' && this.round >= this.rounds;
        if (over || (this.skip !== null && this.skip.size === this.servers.length))
          return this.resolve({ kind: 'failed', reason: this.lastReason });
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
  private start(server: UpstreamServer, probing: boolean): void {
    this.server = server;
    const remaining = this.budget.remainingMs();
    if (remaining <= 0) return this.resolve({ kind: 'failed', reason: 'timed out' });
    if (!this.budget.take()) return this.settle(STOPPED);
    this.id = this.opts.random.uint16();
    this.from = server.family === 6 ? this.opts.sendFrom.v6 : this.opts.sendFrom.v4;
    this.probing = probing;
    this.edns = !probing && !this.opts.rtt.noEdns.has(server);
    this.opts.onTry?.(server, 'udp');
    this.started = this.opts.timeouts.clock.now();
    this.opts.load?.started(server);
    const timeoutMs = Math.min(
      remaining,
      this.opts.rtt.timeout(server) * (1 << Math.min(this.round, MAX_BACKOFF_ROUNDS)),
    );
    this.opened = null;
    // A plain server (nearly every one) makes no Outgoing: per try, that was garbage a
    // question in flight carried into the old generation.
    if (!this.opts.curve || !server.curveKey) {
      this.sealed = null;
      this.current = startUdpTry(
        server,
        buildQuery(this.q, this.id, this.edns),
        this.from,
        timeoutMs,
        this.opts.random,
        this,
        this.opts.timeouts,
      );
      return;
    }
    const out = this.outgoing(server, this.id);
    this.sealed = out.sealed;
    this.current = startUdpTry(server, out.packet, this.from, timeoutMs, this.opts.random, this, this.opts.timeouts);
  }

  /**
   * The query for one try to `server` with `id`: sealed when the server has
   * a key - unless UZ5FALLBACK tries of that went unanswered in this
   * question (then plain, said once per server through onFallback) - or
   * when the key gives no shared secret (a bad uz5 name: plain, as for any
   * server without one).
   */
  private outgoing(server: UpstreamServer, id: number): Outgoing {
    const plain = buildQuery(this.q, id, this.edns);
    const curve = this.opts.curve;
    if (!curve || !server.curveKey) return { packet: plain, sealed: null };
    const misses = this.curveMisses?.get(server) ?? 0;
    if (curve.fallbackAfter > 0 && misses >= curve.fallbackAfter) {
      if (misses === curve.fallbackAfter) {
        this.curveMisses!.set(server, misses + 1); // said once
        this.onFallback?.(server);
      }
      return { packet: plain, sealed: null };
    }
    const zone = this.q.zone ?? ROOT;
    const sealed = curve.client.seal(plain, server.curveKey, formatFor(curve.format, this.q.name, zone), zone);
    return sealed === null ? { packet: plain, sealed: null } : { packet: sealed.packet, sealed };
  }

  /** The DNS message a reply to `sealed` carries if it opens and answers our question with `id`, else null. */
  private openReply(sealed: Sealed, bytes: Buffer, id: number): Buffer | null {
    const inner = this.opts.curve!.client.open(sealed, bytes);
    if (inner !== null && answersQuestion(inner, id, this.q)) return inner;
    this.unopened++;
    return null;
  }

  accepts(bytes: Buffer): boolean {
    if (this.sealed === null) return answersQuestion(bytes, this.id, this.q);
    // A reply that does not open is dropped like any other noise: waiting on
    // means a forger cannot end our try, only the server's true reply can.
    this.opened = this.openReply(this.sealed, bytes, this.id);
    return this.opened !== null;
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
  private afterUdp(sent: TryResult): TryResult | null {
    const server = this.server!;
    let udp = sent;
    if (this.sealed !== null) {
      if (udp.kind === 'reply') udp = { kind: 'reply', bytes: this.opened!, rttMs: udp.rttMs };
      else if (udp.kind === 'timeout') this.missedCurve(server);
    }
    if (udp.kind === 'timeout') this.opts.rtt.timedOut(server, this.opts.timeouts.clock.now() - this.started);
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
    if (checked.kind !== 'reply' || !(udp.bytes[2]! & FLAG_TC)) return checked;
    // Truncated: the same server over TCP, with a fresh ID.
    if (!this.budget.take()) return STOPPED;
    const tcpId = this.opts.random.uint16();
    const remaining = Math.max(1, this.budget.remainingMs());
    this.opts.onTry?.(server, 'tcp');
    // Sealed again (a fresh nonce) if the UDP query was: over TCP too the server gets no plain query from us.
    const out =
      this.sealed === null
        ? { packet: buildQuery(this.q, tcpId, this.edns), sealed: null }
        : this.outgoing(server, tcpId);
    let opened: Buffer | null = null;
    const accept =
      out.sealed === null
        ? (bytes: Buffer) => answersQuestion(bytes, tcpId, this.q)
        : (bytes: Buffer) => (opened = this.openReply(out.sealed!, bytes, tcpId)) !== null;
    this.opts.load?.started(server);
    const clock = this.opts.timeouts.clock;
    this.current = tcpTry(server, out.packet, this.from, Math.min(remaining, 10000), clock, accept, (sent) => {
      this.current = null;
      const tcp: TryResult =
        sent.kind === 'reply' && opened !== null ? { kind: 'reply', bytes: opened, rttMs: sent.rttMs } : sent;
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

  /** An encrypted try to `server` went unanswered: one more towards UZ5FALLBACK. */
  private missedCurve(server: UpstreamServer): void {
    const misses = (this.curveMisses ??= new Map());
    misses.set(server, (misses.get(server) ?? 0) + 1);
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
      this.lastReason =
        this.unopened > 0 ? `timed out (dropped ${this.unopened} DNSCurve replies that did not open)` : 'timed out';
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
