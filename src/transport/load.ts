// What each forwarding upstream is doing now: queries in flight (for
// leastOutstanding), queries in the last second (for firstAvailable's qps
// caps and `dnscache-ctl servers`), and totals. Fed by every try towards a
// pool's server (UpstreamOptions.load); one small record per server.

import { realClock } from '../platform/clock';
import { PerServer } from './per-server';
import { ServerKey } from './rtt';
import { CANCELLED, TryResult } from './udp';

/** A second's worth of queries is counted in two buckets: this one and the one before. */
const WINDOW_MS = 1000;
/**
 * At most this many servers are tracked. Only servers/ files' upstreams are
 * (never the authorities of iterative resolution), and reload drops those no
 * longer listed (retain()); the cap only guards against a huge servers/.
 */
export const MAX_TRACKED_UPSTREAMS = 10_000;

export interface UpstreamCounters {
  /** Tries sent and not yet ended. */
  outstanding: number;
  /** Tries sent (UDP and TCP). */
  queries: number;
  /** Tries answered. */
  answers: number;
  /** Tries that timed out or failed (dnsdist's "drops"). */
  drops: number;
  /** Answer times of the last answers, smoothed (ms); 0 until the first answer. */
  latencyMs: number;
  /** Start of the current rate bucket (the table's clock, ms), its count, and the count of the one before. */
  bucketStart: number;
  current: number;
  previous: number;
}

export class UpstreamLoad {
  private readonly table = new PerServer<UpstreamCounters>();

  /** `now`: milliseconds, the service's clock (platform/clock.ts). */
  constructor(private readonly now: () => number = () => realClock.now()) {}

  private counters(s: ServerKey): UpstreamCounters {
    let c = this.table.get(s);
    if (c === undefined) {
      if (this.table.size >= MAX_TRACKED_UPSTREAMS) this.table.clear();
      c = {
        outstanding: 0,
        queries: 0,
        answers: 0,
        drops: 0,
        latencyMs: 0,
        bucketStart: this.now(),
        current: 0,
        previous: 0,
      };
      this.table.set(s, c);
    }
    return c;
  }

  /** Moves the rate buckets on to `now`. */
  private roll(c: UpstreamCounters, now: number): void {
    const age = now - c.bucketStart;
    if (age < WINDOW_MS) return;
    // One bucket on: the current becomes the previous; two or more: both are empty.
    c.previous = age < 2 * WINDOW_MS ? c.current : 0;
    c.current = 0;
    c.bucketStart = now - (age % WINDOW_MS);
  }

  /** A try towards `s` starts. */
  started(s: ServerKey): void {
    const c = this.counters(s);
    this.roll(c, this.now());
    c.outstanding++;
    c.queries++;
    c.current++;
  }

  /** The try towards `s` ended so. */
  ended(s: ServerKey, result: TryResult): void {
    const c = this.counters(s);
    if (c.outstanding > 0) c.outstanding--;
    if (result.kind === 'reply') {
      c.answers++;
      c.latencyMs = c.latencyMs === 0 ? result.rttMs : 0.875 * c.latencyMs + 0.125 * result.rttMs;
    } else if (result !== CANCELLED) c.drops++; // a cancelled try: the client went away, not the server
  }

  outstanding(s: ServerKey): number {
    return this.table.get(s)?.outstanding ?? 0;
  }

  /** Queries sent to `s` in the last second (a sliding window over two buckets). */
  rate(s: ServerKey): number {
    const c = this.table.get(s);
    if (c === undefined) return 0;
    const now = this.now();
    this.roll(c, now);
    return c.current + c.previous * (1 - (now - c.bucketStart) / WINDOW_MS);
  }

  /** A copy of the counters of `s` (zeros if never asked). */
  snapshot(s: ServerKey): Readonly<UpstreamCounters> & { readonly qps: number } {
    const qps = this.rate(s);
    const c = this.table.get(s);
    return {
      ...(c ?? {
        outstanding: 0,
        queries: 0,
        answers: 0,
        drops: 0,
        latencyMs: 0,
        bucketStart: 0,
        current: 0,
        previous: 0,
      }),
      qps,
    };
  }

  /** Forgets every server not in `keep` (ids as serverId() makes them): reload's pruning. */
  retain(keep: ReadonlySet<string>): void {
    this.table.retain(keep);
  }

  get size(): number {
    return this.table.size;
  }
}
