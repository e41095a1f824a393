// The histograms the serving path fills (client latency, upstream RTTs)
// and the shape a reader takes them in: the metrics exposition, `dnscache-ctl
// latency`, and the primary of WORKERS adding up its workers'.

/** What a histogram holds: a Histogram, or one copied from another process (WORKERS). */
export interface HistogramData {
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  readonly sum: number;
  readonly count: number;
}

/**
 * A histogram with fixed upper bounds (`le`, inclusive). Counts are kept per
 * bucket and made cumulative only when written; the last slot holds what
 * lies above every bound (+Inf adds it).
 */
export class Histogram implements HistogramData {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error('histogram bounds must increase');
    }
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    this.observeMany(v, 1);
  }

  /** `times` observations of the same value (the replies of one turn, which all waited as long). */
  observeMany(v: number, times: number): void {
    if (Number.isNaN(v) || times <= 0) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && v > bounds[i]!) i++;
    this.counts[i]! += times;
    this.sum += v * times;
    this.count += times;
  }
}
