// What happens to one client packet, whatever transport brought it: parse,
// then the cached reply (the hot path: copy and patch bytes), an internal
// answer, or a resolution shared with identical questions in flight.

import { Cache, replyKey } from '../cache/cache';
import { makeReplyEntry, renderReply } from '../cache/replies';
import { localAnswer } from '../local/local';
import { Log, questionText, Transport } from '../log/log';
import { Resolver } from '../resolve/resolver';
import { Answer } from '../wire/answer';
import { EDNS_UDP_SIZE } from '../wire/constants';
import { Name } from '../wire/name';
import { clientUdpLimit, ClientQuery, parseQuery } from '../wire/query';
import { fitMessage, optRecord } from '../wire/writer';
import { buildReply, errorReply, isPlainQuestion } from './reply';

export interface Client {
  readonly address: string;
  readonly port: number;
  readonly transport: Transport;
}

/**
 * What to do with a packet. An immediate reply has been logged already
 * (query, and sent); a pending one is logged as `sent` or `drop` by the
 * listener when it completes, since only the listener knows whether the
 * client is still waiting for it.
 */
export type Handled =
  | { readonly kind: 'none' }
  | { readonly kind: 'reply'; readonly bytes: Buffer }
  | {
      readonly kind: 'pending';
      readonly n: number;
      readonly edns: boolean;
      readonly reply: Promise<Buffer | null>;
      /** The listener stopped waiting (client dropped): lets the resolution stop if nobody else waits. */
      readonly abandon: () => void;
    };

const NONE: Handled = { kind: 'none' };
const TCP_LIMIT = 65535;
/** The OPT we attach for EDNS clients never changes: build it once. */
const OPT = optRecord();

/** Reply counters per transport: one slot per RCODE 0..30, and 31 for anything above. */
export const RCODE_SLOTS = 32;

export interface EngineCounters {
  queries: number;
  cacheHits: number;
  /** Questions handed to resolution: neither in the reply cache nor a local name. */
  cacheMisses: number;
  /** Questions answered internally (localhost, dotted-decimal names, ...). */
  localAnswers: number;
  errors: number;
  /**
   * Replies sent, by transport and RCODE (extended RCODEs included, e.g.
   * BADVERS 16): UDP at [rcode], TCP at [RCODE_SLOTS + rcode]. Counted
   * with one typed-array increment: no allocation, no lookup.
   */
  readonly replies: Float64Array;
}

/** Records each client question (control's ring of recent queries); must be O(1) and allocation-free. */
export interface QueryRecorder {
  record(clientAddress: string, qtype: number, qname: Name): void;
}

export class Engine {
  /** Set by the control socket (CONTROL) to feed `dnscache-ctl top`; null: nothing recorded. */
  recent: QueryRecorder | null = null;
  readonly counters: EngineCounters = { queries: 0, cacheHits: 0, cacheMisses: 0, localAnswers: 0, errors: 0, replies: new Float64Array(2 * RCODE_SLOTS) };

  constructor(
    private readonly cache: Cache,
    private readonly resolver: Resolver,
    private readonly log: Log,
    private readonly hideTtl: boolean,
  ) {}

  handle(packet: Buffer, client: Client): Handled {
    const q = parseQuery(packet);
    if (q.kind === 'ignore') return NONE;
    if (q.kind === 'reject') {
      this.counters.errors++;
      this.countReply(client.transport, q.rcode);
      return { kind: 'reply', bytes: errorReply(packet, q) };
    }
    const n = ++this.counters.queries;
    this.recent?.record(client.address, q.qtype, q.qname);
    const t = client.transport;
    const limit = t === 'u' ? clientUdpLimit(q.edns, EDNS_UDP_SIZE) : TCP_LIMIT;
    const opt = q.edns ? OPT : null;

    if (isPlainQuestion(q)) {
      const hit = this.cache.getReply(replyKey(q.qname, q.qtype));
      if (hit !== undefined) {
        this.counters.cacheHits++;
        const bytes = renderReply(hit, packet, q.questionEnd, limit, opt, this.cache.now());
        this.counters.replies[(t === 'u' ? 0 : RCODE_SLOTS) + (bytes[3]! & 0x0f)]++;
        this.log.cacheHit(n, t, q.edns !== null, client.address, client.port, q.id, hit.logText, bytes.length);
        return { kind: 'reply', bytes };
      }
    }
    this.log.query(n, t, q.edns !== null, client.address, client.port, q.id, q.qtype, q.qname);
    const local = localAnswer(q.qname, q.qtype);
    if (local) {
      this.counters.localAnswers++;
      const bytes = this.render(local, packet, q, limit, opt, false);
      this.countReply(t, local.rcode);
      this.log.sent(n, t, bytes.length);
      return { kind: 'reply', bytes };
    }

    // A pending reply is counted (countReply) by the listener that sends it: it may be dropped instead.
    this.counters.cacheMisses++;
    // Whatever goes wrong in resolving or rendering, the listener gets null
    // (logged as a drop): a rejected promise here would end the process.
    const reply = this.resolver
      .resolve(q.qname, q.qtype)
      .then((answer) => this.render(answer, packet, q, limit, opt, true))
      .catch((err: Error) => {
        this.log.warning(`internal error answering query ${n}: ${err.message}`);
        return null;
      });
    const { qname, qtype } = q;
    return { kind: 'pending', n, edns: q.edns !== null, reply, abandon: () => this.resolver.abandon(qname, qtype) };
  }

  /** Counts a reply sent with this RCODE (extended RCODEs above 30 share the last slot). */
  countReply(t: Transport, rcode: number): void {
    this.counters.replies[(t === 'u' ? 0 : RCODE_SLOTS) + (rcode < RCODE_SLOTS ? rcode : RCODE_SLOTS - 1)]++;
  }

  private render(answer: Answer, packet: Buffer, q: ClientQuery, limit: number, opt: Buffer | null, keep: boolean): Buffer {
    const built = buildReply(answer, packet, q, this.hideTtl);
    if (keep && answer.lifetime > 0 && isPlainQuestion(q)) {
      const entry = makeReplyEntry(built, answer.lifetime, this.cache.now(), questionText(q.qtype, q.qname));
      if (entry) this.cache.putReply(replyKey(q.qname, q.qtype), entry);
    }
    return fitMessage(built, limit, opt);
  }
}
