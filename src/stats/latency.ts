// How long clients waited for their answers, from the moment dnscache-ts
// began reading the questions of an event-loop turn to the moment the reply
// was handed to the socket.
//
// A cache hit, a local answer and a rule's or an error's reply are made in
// the turn that read the question, and leave with the turn's other replies
// (the batch socket sends them together at its end): the listener reads the
// clock once when the turn begins and once when it ends, and every such
// reply of the turn waited that long. A resolved answer counts from the
// beginning of the turn that read its question to the moment its reply was
// sent. Two clock reads per turn, not two per question: a hit costs about a
// microsecond, and a clock read about 30 ns.

import { Histogram, HistogramData } from './histogram';

/**
 * Upper bounds of `dnscache-ctl latency`'s buckets, seconds: dnsdist's 1, 10,
 * 50, 100 and 1000 ms. Each is also a bound of SOURCE_LATENCY_BOUNDS_S, so
 * that view is made from the per-source histograms (coarsened) rather than
 * kept beside them.
 */
export const LATENCY_BOUNDS_S: readonly number[] = [0.001, 0.01, 0.05, 0.1, 1];

/**
 * Where an answer came from, as the metrics label it: the reply cache, an
 * internal name, a reply made without looking anything up (an abuse rule's,
 * FORMERR, NOTIMP, REFUSED), a resolution (from cached records or
 * upstream), or expired data served because resolution failed.
 */
export const ANSWER_SOURCES = ['cache', 'local', 'other', 'resolution', 'stale'] as const;
export type AnswerSource = (typeof ANSWER_SOURCES)[number];
/** Indexes into ANSWER_SOURCES (and the engine's per-source arrays). */
export const SOURCE_CACHE = 0;
export const SOURCE_LOCAL = 1;
export const SOURCE_OTHER = 2;
export const SOURCE_RESOLUTION = 3;
export const SOURCE_STALE = 4;
/** The sources answered in the turn that read their question. */
export const IMMEDIATE_SOURCES = 3;

/**
 * Bounds of the per-source histograms the metrics export, seconds: hits take
 * tens of microseconds and resolutions up to the question's 7 s, so the
 * buckets span both (dnsdist's five are all above a hit).
 */
export const SOURCE_LATENCY_BOUNDS_S: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/** One histogram per ANSWER_SOURCES entry, in that order. */
export function sourceLatencyHistograms(): Histogram[] {
  return ANSWER_SOURCES.map(() => new Histogram(SOURCE_LATENCY_BOUNDS_S));
}

/**
 * All of `histograms` added up on `bounds`, each of which must be one of
 * theirs: a fine bucket goes whole into the coarse one its bound falls in,
 * so nothing is estimated. (`dnscache-ctl latency` from the per-source ones.)
 */
export function coarsened(histograms: readonly HistogramData[], bounds: readonly number[]): Histogram {
  const out = new Histogram(bounds);
  for (const h of histograms) {
    for (const b of bounds)
      if (!h.bounds.includes(b)) throw new Error(`bound ${b} is not one of the histogram's: it cannot be coarsened`);
    let j = 0;
    for (let i = 0; i < h.counts.length; i++) {
      // Slot i holds values up to h.bounds[i] (the last slot: above every bound).
      const upper = i < h.bounds.length ? h.bounds[i]! : Infinity;
      while (j < bounds.length && upper > bounds[j]!) j++;
      out.counts[j]! += h.counts[i]!;
    }
    out.sum += h.sum;
    out.count += h.count;
  }
  return out;
}
