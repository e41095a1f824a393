// How long clients waited for their answers, as dnsdist's
// showResponseLatency(), in a metrics histogram. A cache hit, a local answer
// and a rule's reply are made in the turn that read the question, without
// reading the clock: they count as 0 s. A resolved answer counts from the
// moment its question was handed to resolution to the moment its reply was
// sent.

import { Histogram } from './histogram';

/** Upper bounds of the buckets, seconds: dnsdist's 1, 10, 50, 100 and 1000 ms. */
export const LATENCY_BOUNDS_S: readonly number[] = [0.001, 0.01, 0.05, 0.1, 1];

export function latencyHistogram(): Histogram {
  return new Histogram(LATENCY_BOUNDS_S);
}
