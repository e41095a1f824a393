// What the engine (server/engine.ts) counts per client question, and the
// recorder it feeds: declared here, below the engine and its readers
// (metrics, control, the WORKERS primary), so none of them imports another.

import { Name } from '../wire/name';

/** Reply counters per transport: one slot per RCODE 0..30, and 31 for anything above. */
export const RCODE_SLOTS = 32;

export interface EngineCounters {
  queries: number;
  cacheHits: number;
  /** Questions handed to resolution: neither in the reply cache nor a local name. */
  cacheMisses: number;
  /** Questions answered internally (localhost, dotted-decimal names, ...). */
  localAnswers: number;
  /** Replies sent to questions that went to resolution (cache misses answered; stale answers among them). */
  resolvedReplies: number;
  errors: number;
  /**
   * Replies sent, by transport and RCODE (extended RCODEs included, e.g.
   * BADVERS 16): UDP at [rcode], TCP at [RCODE_SLOTS + rcode]. Counted
   * with one typed-array increment: no allocation, no lookup.
   */
  readonly replies: Float64Array;
  /** Questions by QTYPE: types below 256 at [qtype], every higher one (CAA, ...) in the last slot. */
  readonly byType: Float64Array;
}

/** Slots of EngineCounters.byType: one per QTYPE below 256, and one for the rest. */
export const TYPE_SLOTS = 257;

/** Records each client question (control's ring of recent queries); must be O(1) and allocation-free. */
export interface QueryRecorder {
  /** Returns the question's serial number, for answered(). */
  record(clientAddress: string, qtype: number, qname: Name): number;
  answered(serial: number, rcode: number): void;
}
