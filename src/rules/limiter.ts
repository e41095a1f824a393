// A token bucket per rule (or per client): up to `limit` questions a second,
// with a burst of one second's worth. Time is the caller's (ms), so tests
// move it by hand and the hit path reads the clock once per packet.

export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    readonly limit: number,
    now: number,
  ) {
    this.tokens = limit;
    this.last = now;
  }

  /** One question at `now`: true if within the rate (a token taken), false if over. */
  take(now: number): boolean {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.limit, this.tokens + (elapsed * this.limit) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
