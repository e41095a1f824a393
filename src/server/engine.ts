// What happens to one client packet, whatever transport brought it: parse,
// the abuse rules' verdict, then the cached reply (the hot path: copy and
// patch bytes), an internal answer, or a resolution shared with identical
// questions in flight.

import { Cache } from '../cache/cache';
import { makeReplyEntry, renderReply } from '../cache/replies';
import { localAnswer, STATS_AFTER_LOCAL } from '../local/local';
import { Log, Transport } from '../log/log';
import { Resolver } from '../resolve/resolver';
import { EngineCounters, QueryRecorder, RCODE_SLOTS, TYPE_SLOTS } from '../stats/engine';
import {
  IMMEDIATE_SOURCES,
  SOURCE_CACHE,
  SOURCE_LOCAL,
  SOURCE_OTHER,
  SOURCE_RESOLUTION,
  SOURCE_STALE,
  sourceLatencyHistograms,
} from '../stats/latency';
import { ClientRule, DROP, PASS, RuleBook, TRUNCATE, Verdict, NXDOMAIN as RULE_NXDOMAIN } from '../rules/book';
import { Answer } from '../wire/answer';
import { EDNS_UDP_SIZE, FLAG_TC, RCODE } from '../wire/constants';
import { clientUdpLimit, ClientQuery, parseQuery } from '../wire/query';
import { fitMessage, MessageWriter, optRecord } from '../wire/writer';
import { buildReply, errorReply, isPlainQuestion, questionBytes } from './reply';

/** Sends the replies of queries that waited (a listener); `to` is what it attached them with. */
export interface ReplySender<To> {
  /** The reply is ready (null: none could be made; log a drop). Called once per attached query. */
  replyReady(p: Pending, bytes: Buffer | null, to: To): void;
}

/**
 * A query waiting for its resolution, holding what its reply is made
 * from. The listener attaches itself, and where the reply goes, as soon as
 * handle() returns, and is called when the reply is ready; it logs `sent`
 * or `drop`. One object and one then() per waiting query: closures over
 * these values, a catch() and the listener's own then() cost three more
 * functions, two contexts and two promises, which every GC scavenge copies
 * while the query waits, and a microtask turn when it ends.
 */
export class Pending {
  private sender: ReplySender<unknown> | null = null;
  private to: unknown = null;
  /** The reply, for a caller that would rather wait for it (tests). */
  readonly reply: Promise<Buffer | null>;
  /** When the listener began the turn that read the question (Engine.now() ms), for its latency. */
  readonly started: number;
  /** Its answer was expired data served because resolution failed (serve-stale). */
  stale = false;

  constructor(
    private readonly engine: Engine,
    readonly n: number,
    readonly q: ClientQuery,
    /** A copy of the query packet (the listener's memory is reused). */
    readonly packet: Buffer,
    readonly limit: number,
    readonly opt: Buffer | null,
    /** The question is plain: its reply may be stored for hits. */
    readonly keep: boolean,
    answer: Promise<Answer>,
    /** Its number in the ring of recent questions (-1: none kept), for the reply's RCODE. */
    readonly serial: number,
  ) {
    this.started = engine.turnStarted;
    this.reply = answer.then(
      (a) => {
        this.stale = a.stale === true;
        return this.deliver(engine.replyFor(this, a));
      },
      (err: Error) => this.deliver(engine.failed(n, err)),
    );
  }

  get edns(): boolean {
    return this.q.edns !== null;
  }

  /** `sender` is told when the reply is ready, with `to`. Always in time: the reply comes in a later microtask. */
  attach<To>(sender: ReplySender<To>, to: To): void {
    this.sender = sender;
    this.to = to;
  }

  private deliver(bytes: Buffer | null): Buffer | null {
    try {
      this.sender?.replyReady(this, bytes, this.to);
    } catch (err) {
      // A promise reaction: a throw would be an unhandled rejection, and end the process.
      this.engine.failed(this.n, err as Error);
    }
    return bytes;
  }

  /** The listener stopped waiting (client dropped): lets the resolution stop if nobody else waits. */
  abandon(): void {
    this.engine.abandon(this.q);
  }
}

/**
 * What to do with a packet: nothing (null), send these bytes now (already
 * logged), or wait for a Pending reply. Plain values, so the hot path
 * allocates no result object.
 */
export type Handled = null | Buffer | Pending;

const TCP_LIMIT = 65535;
/** The OPT we attach for EDNS clients never changes: build it once. */
const OPT = optRecord();

/** Answers that live shorter than this (s) are not prefetched: a tenth of their life is under a second. */
export const PREFETCH_MIN_LIFE = 10;

export class Engine {
  /** Set by the control socket (CONTROL) to feed `dnscache-ctl top`; null: nothing recorded. */
  recent: QueryRecorder | null = null;
  readonly counters: EngineCounters = {
    queries: 0,
    cacheHits: 0,
    cacheMisses: 0,
    localAnswers: 0,
    resolvedReplies: 0,
    errors: 0,
    replies: new Float64Array(2 * RCODE_SLOTS),
    byType: new Float64Array(TYPE_SLOTS),
  };
  /** How long clients waited for answers, by where the answer came from (ANSWER_SOURCES order): METRICS, and `dnscache-ctl latency` coarsened. */
  readonly latencyBySource = sourceLatencyHistograms();
  /** now() when the listener began the current turn of questions (beginTurn). */
  turnStarted = 0;
  /** Replies made in this turn without waiting, by source (cache, local, other): timed at endTurn. */
  private readonly madeNow = new Float64Array(IMMEDIATE_SOURCES);
  /** The sum of madeNow: a turn that made none reads no clock at its end. */
  private madeNowTotal = 0;

  constructor(
    private readonly cache: Cache,
    private readonly resolver: Resolver,
    private readonly log: Log,
    private readonly hideTtl: boolean,
    /**
     * Query numbers in log lines: first, first + step, ... With WORKERS
     * processes writing one log, worker i numbers i + 1, i + 1 + WORKERS, ...
     * so a number still names one query.
     */
    private readonly numbering: { readonly first: number; readonly step: number } = { first: 1, step: 1 },
    /** Abuse rules (rules/, ip/ actions, control): checked on every question, hits included. */
    readonly rules: RuleBook = new RuleBook(),
    /** Logs a `stats` line (the service's counters), where dnscache prints one. */
    private readonly logStats: () => void = () => {},
    /** Milliseconds on a monotonic scale, with sub-millisecond precision: answer latency. */
    readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * A listener begins a turn of questions (a batch of datagrams, or one TCP
   * message): the time every reply made during it is measured from.
   */
  beginTurn(): void {
    this.turnStarted = this.now();
  }

  /** The turn's replies have been handed to the socket: each made without waiting waited this long. */
  endTurn(): void {
    if (this.madeNowTotal === 0) return;
    this.madeNowTotal = 0;
    const made = this.madeNow;
    const seconds = (this.now() - this.turnStarted) / 1000;
    for (let s = 0; s < IMMEDIATE_SOURCES; s++) {
      const times = made[s]!;
      if (times === 0) continue;
      this.latencyBySource[s]!.observeMany(seconds, times);
      made[s] = 0;
    }
  }

  /**
   * Handles one client packet; `address`/`port` are the client's, `t` the
   * transport it came by, `client` the action of the ip/ file that admitted
   * it, if any. `packet` may be reused once this returns.
   */
  handle(packet: Buffer, address: string, port: number, t: Transport, client: ClientRule | null = null): Handled {
    const q = parseQuery(packet);
    if (q.kind === 'ignore') return null;
    if (q.kind === 'reject') {
      this.counters.errors++;
      this.countReply(t, q.rcode);
      this.madeInTurn(SOURCE_OTHER);
      return errorReply(packet, q);
    }
    const n = this.numbering.first + this.counters.queries++ * this.numbering.step;
    this.counters.byType[q.qtype < TYPE_SLOTS - 1 ? q.qtype : TYPE_SLOTS - 1]! += 1;
    const serial = this.recent === null ? -1 : this.recent.record(address, q.qtype, q.qname);
    const limit = t === 'u' ? clientUdpLimit(q.edns, EDNS_UDP_SIZE) : TCP_LIMIT;
    const opt = q.edns ? OPT : null;

    const verdict = this.rules.check(q.qname, client, t === 'u');
    if (verdict !== PASS) return this.ruled(verdict, n, packet, q, t, address, port, limit, opt, serial);

    // Only a question written without compression can be laid over a stored reply.
    const plain = isPlainQuestion(q);
    if (plain) {
      const now = this.cache.now();
      const hit = this.cache.getReply(q.qname, q.qtype, now);
      if (hit !== undefined) {
        this.counters.cacheHits++;
        // The last tenth of a life of PREFETCH_MIN_LIFE s or more: have it fetched again meanwhile.
        if ((hit.expires - now) * 10 <= hit.expires - hit.builtAt && hit.expires - hit.builtAt >= PREFETCH_MIN_LIFE)
          this.resolver.prefetch(q.qname, q.qtype);
        const bytes = renderReply(hit, packet, q.questionEnd, limit, opt, now);
        this.sentNow(t, bytes[3]! & 0x0f, serial, SOURCE_CACHE);
        this.log.cacheHit(
          n,
          t,
          q.edns !== null,
          address,
          port,
          q.id,
          q.qtype,
          packet,
          bytes.length,
          bytes[3]! & 0x0f,
          this.turnStarted,
        );
        return bytes;
      }
    }
    this.log.query(n, t, q.edns !== null, address, port, q.id, q.qtype, q.qname);
    const local = localAnswer(q.qname, q.qtype);
    if (local) {
      this.counters.localAnswers++;
      const bytes = this.render(local, packet, q, limit, opt, false);
      this.sentNow(t, local.rcode, serial, SOURCE_LOCAL);
      if (q.qname === STATS_AFTER_LOCAL) this.logStats();
      this.log.sent(n, t, bytes.length, local.rcode, this.turnStarted);
      return bytes;
    }

    // A pending reply is counted (countReply) by the listener that sends it: it may be dropped instead.
    this.counters.cacheMisses++;
    // Whatever goes wrong in resolving or rendering, the listener gets null
    // (logged as a drop): a rejected promise here would end the process.
    // The packet may lie in memory its socket reuses (udp-batch.ts): the reply is made later, from a copy.
    return new Pending(
      this,
      n,
      q,
      Buffer.from(packet),
      limit,
      opt,
      plain,
      this.resolver.resolve(q.qname, q.qtype),
      serial,
    );
  }

  /** What an abuse rule says instead of the answer: nothing (DROP), REFUSED, NXDOMAIN, or an empty TC=1 reply. */
  private ruled(
    verdict: Verdict,
    n: number,
    packet: Buffer,
    q: ClientQuery,
    t: Transport,
    address: string,
    port: number,
    limit: number,
    opt: Buffer | null,
    serial: number,
  ): Buffer | null {
    this.log.query(n, t, q.edns !== null, address, port, q.id, q.qtype, q.qname);
    if (verdict === DROP) {
      this.log.drop(n, t, 'rule');
      return null;
    }
    const rcode = verdict === TRUNCATE ? RCODE.NOERROR : verdict === RULE_NXDOMAIN ? RCODE.NXDOMAIN : RCODE.REFUSED;
    const bytes = fitMessage(
      new MessageWriter(q.id, rcode, q.flags2, q.flags3, questionBytes(packet, q), q.qname).finish(),
      limit,
      opt,
    );
    if (verdict === TRUNCATE) bytes[2]! |= FLAG_TC;
    this.sentNow(t, rcode, serial, SOURCE_OTHER);
    this.log.sent(n, t, bytes.length, rcode, this.turnStarted);
    return bytes;
  }

  /** The reply to a pending query's answer (Pending calls this); null if it cannot be made. */
  replyFor(p: Pending, answer: Answer): Buffer | null {
    try {
      return this.render(answer, p.packet, p.q, p.limit, p.opt, p.keep);
    } catch (err) {
      return this.failed(p.n, err as Error);
    }
  }

  /** Logs why query `n` gets no reply. */
  failed(n: number, err: Error): null {
    this.log.warning(`internal error answering query ${n}: ${err.message}`);
    return null;
  }

  /** A pending query nobody waits for any more. */
  abandon(q: ClientQuery): void {
    this.resolver.abandon(q.qname, q.qtype);
  }

  /** A reply made in the turn that read its question: counted, its RCODE recorded; timed when the turn ends. */
  private sentNow(t: Transport, rcode: number, serial: number, source: number): void {
    this.countReply(t, rcode);
    this.recent?.answered(serial, rcode);
    this.madeInTurn(source);
  }

  /** A reply from `source` made in this turn, to be timed when it ends. */
  private madeInTurn(source: number): void {
    this.madeNow[source]!++;
    this.madeNowTotal++;
  }

  /** The listener sent a pending query's reply: counted, its RCODE recorded, its wait measured. */
  replied(p: Pending, t: Transport, rcode: number): void {
    this.counters.resolvedReplies++;
    this.countReply(t, rcode);
    this.recent?.answered(p.serial, rcode);
    const seconds = (this.now() - p.started) / 1000;
    this.latencyBySource[p.stale ? SOURCE_STALE : SOURCE_RESOLUTION]!.observe(seconds);
  }

  /** Counts a reply sent with this RCODE (extended RCODEs above 30 share the last slot). */
  countReply(t: Transport, rcode: number): void {
    const slot = (t === 'u' ? 0 : RCODE_SLOTS) + (rcode < RCODE_SLOTS ? rcode : RCODE_SLOTS - 1);
    this.counters.replies[slot] = this.counters.replies[slot]! + 1;
  }

  /** Builds the reply to `answer`; for a plain question, also stores it for the hits to come. */
  private render(
    answer: Answer,
    packet: Buffer,
    q: ClientQuery,
    limit: number,
    opt: Buffer | null,
    keep: boolean,
  ): Buffer {
    const built = buildReply(answer, packet, q, this.hideTtl);
    if (keep && answer.lifetime > 0) {
      const entry = makeReplyEntry(built, answer.lifetime, this.cache.now());
      if (entry) this.cache.putReply(q.qname, q.qtype, entry);
    }
    return fitMessage(built, limit, opt);
  }
}
