// Where the resolver's time comes from. Timeouts, the work budget, RTT
// estimates, failure memory, health checks and the cache all read one Clock,
// made once where the service is put together, so a test can hand them a
// clock it moves by hand and see a TTL run out or a try time out without
// waiting for it (test/clock.ts).

/** A pending call from after() or every(). */
export interface Timer {
  cancel(): void;
  /** The timer alone does not keep the process running (Node's unref()); returns itself. */
  unref(): Timer;
}

export interface Clock {
  /** Milliseconds on a monotonic scale from an arbitrary start: deadlines, RTTs, intervals. */
  now(): number;
  /** Whole seconds since the epoch: cache expiry, which dump files carry from one process to the next. */
  epochSeconds(): number;
  /** Calls `fn` once, `ms` from now on this clock, unless cancelled first. */
  after(ms: number, fn: () => void): Timer;
  /** Calls `fn` every `ms` on this clock until cancelled. */
  every(ms: number, fn: () => void): Timer;
}

class NodeTimer implements Timer {
  constructor(private readonly t: NodeJS.Timeout) {}

  cancel(): void {
    // clearTimeout clears intervals too: one timer type covers both.
    clearTimeout(this.t);
  }

  unref(): Timer {
    this.t.unref();
    return this;
  }
}

/** The machine's time: performance.now(), Date.now() and Node's timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  epochSeconds: () => Math.floor(Date.now() / 1000),
  after: (ms, fn) => new NodeTimer(setTimeout(fn, ms)),
  every: (ms, fn) => new NodeTimer(setInterval(fn, ms)),
};
