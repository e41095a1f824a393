// A Clock (src/platform/clock.ts) that moves only when a test moves it:
// TTLs run out, tries time out and health checks fall due the moment the
// test says so, however loaded the machine is, instead of after a fixed
// sleep that a busy machine can outlast.

import type { Clock, Timer } from '../src/platform/clock';

interface Scheduled extends Timer {
  due: number;
  readonly seq: number;
  readonly fn: () => void;
  /** 0 for after(); the period for every(). */
  readonly period: number;
}

export class ManualClock implements Clock {
  private t: number;
  private readonly epochAtStart: number;
  private readonly start: number;
  private pending: Scheduled[] = [];
  private seq = 0;

  /** `epochSeconds`: what epochSeconds() says at the start (a fixed date, not today's). */
  constructor(startMs = 1_000_000, epochSeconds = 1_700_000_000) {
    this.t = this.start = startMs;
    this.epochAtStart = epochSeconds;
  }

  now(): number {
    return this.t;
  }

  epochSeconds(): number {
    return this.epochAtStart + Math.floor((this.t - this.start) / 1000);
  }

  after(ms: number, fn: () => void): Timer {
    return this.schedule(ms, fn, 0);
  }

  every(ms: number, fn: () => void): Timer {
    return this.schedule(ms, fn, Math.max(1, ms));
  }

  /** Timers not yet fired or cancelled. */
  get timers(): number {
    return this.pending.length;
  }

  /**
   * Moves time `ms` forward, firing what falls due in order of due time, each
   * with now() at its due time. A timer set by a callback fires in the same
   * call if it falls due within it.
   */
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      const next = this.earliest();
      if (next === null || next.due > target) break;
      this.t = Math.max(this.t, next.due);
      if (next.period > 0) next.due += next.period;
      else this.remove(next);
      next.fn();
    }
    this.t = target;
  }

  /**
   * advance() in steps of `stepMs`, letting the event loop run between them:
   * for code that, woken by one timer, sets the next only after a promise or
   * a socket event (a try's reply, an awaited check).
   */
  async run(ms: number, stepMs = 10): Promise<void> {
    for (let left = ms; left > 0; left -= stepMs) {
      this.advance(Math.min(stepMs, left));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private schedule(ms: number, fn: () => void, period: number): Scheduled {
    const s: Scheduled = {
      due: this.t + Math.max(0, ms),
      seq: this.seq++,
      fn,
      period,
      cancel: () => this.remove(s),
      unref: () => s,
    };
    this.pending.push(s);
    return s;
  }

  private earliest(): Scheduled | null {
    let best: Scheduled | null = null;
    for (const s of this.pending)
      if (best === null || s.due < best.due || (s.due === best.due && s.seq < best.seq)) best = s;
    return best;
  }

  private remove(s: Scheduled): void {
    const i = this.pending.indexOf(s);
    if (i >= 0) this.pending.splice(i, 1);
  }
}
