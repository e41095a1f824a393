// Upstream timeouts on one coarse timer wheel.
//
// Every UDP try needs a timeout, and nearly every one is cancelled a
// fraction of a millisecond later when the answer arrives. A Node.js
// setTimeout per try allocates a Timeout object and links it into the
// list for its duration; when the list empties (whenever no query is in
// flight) the list is dropped from the timer priority queue and rebuilt
// for the next try - the priority queue's insert and removeAt showed in a
// cold-miss profile. Here a try costs one small record in a slot of a
// ring of 10 ms ticks, linked and unlinked in O(1), and one interval timer
// runs while any try is pending. A timeout fires up to one tick late,
// never early; that is far below any timeout we set (200 ms or more).

import type { Clock, Timer } from '../platform/clock';

const TICK_MS = 10;
/** One turn of the wheel is SLOTS ticks (5.12 s); later deadlines go round again. */
const SLOTS = 512;

/**
 * What a timeout is for: an object with a method rather than a closure, so
 * a try waiting on the wheel is one object (a closure per try, with its
 * context, was among what a cold-miss heap snapshot held per query in flight).
 */
export interface Expiring {
  expire(): void;
}

/** A pending timeout, as after() returns it for cancel(). */
export interface PendingTimeout {
  readonly due: number;
  /** Null once fired or cancelled. */
  fire: Expiring | null;
  slot: number;
  prev: PendingTimeout | null;
  next: PendingTimeout | null;
}

export class TimeoutWheel {
  private readonly slots: (PendingTimeout | null)[] = new Array<PendingTimeout | null>(SLOTS).fill(null);
  private timer: Timer | null = null;
  private count = 0;
  /** The last tick whose slot has been processed. */
  private done = 0;

  /** `clock`: what due times are measured on and the tick timer runs on; tries read their RTTs from it too. */
  constructor(readonly clock: Clock) {}

  /** The number of timeouts pending. */
  get size(): number {
    return this.count;
  }

  /** Calls `fire.expire()` once, `ms` milliseconds from now (up to a tick later), unless cancelled first. */
  after(ms: number, fire: Expiring): PendingTimeout {
    const now = this.clock.now();
    if (this.timer === null) {
      this.done = Math.floor(now / TICK_MS);
      this.timer = this.clock.every(TICK_MS, () => this.advance());
    }
    const p: PendingTimeout = { due: now + ms, fire, slot: -1, prev: null, next: null };
    this.place(p);
    this.count++;
    return p;
  }

  /** Cancels a pending timeout; does nothing if it has fired or was cancelled. */
  cancel(p: PendingTimeout): void {
    if (p.fire === null) return;
    p.fire = null;
    this.unlink(p);
    if (--this.count === 0) this.stop();
  }

  /** Fires what is due; the interval timer calls it every tick. */
  advance(): void {
    const now = this.clock.now();
    const target = Math.floor(now / TICK_MS);
    // After a long stall one turn visits every slot: nothing is skipped.
    const last = Math.min(target, this.done + SLOTS);
    for (let tick = this.done + 1; tick <= last; tick++) {
      const slot = tick % SLOTS;
      this.done = tick;
      if (this.slots[slot] === null) continue;
      // Detach the slot first: a callback may cancel or add timeouts.
      const due: PendingTimeout[] = [];
      for (let p: PendingTimeout | null = this.slots[slot] ?? null; p !== null;) {
        const next: PendingTimeout | null = p.next;
        p.prev = p.next = null;
        p.slot = -1;
        due.push(p);
        p = next;
      }
      this.slots[slot] = null;
      for (const p of due) {
        const fire = p.fire;
        if (fire === null) continue; // cancelled by an earlier callback
        if (p.due <= now) {
          p.fire = null;
          this.count--;
          fire.expire();
        } else {
          this.place(p);
        }
      }
    }
    this.done = target;
    if (this.count === 0) this.stop();
  }

  private place(p: PendingTimeout): void {
    const slot = Math.max(Math.ceil(p.due / TICK_MS), this.done + 1) % SLOTS;
    const head = this.slots[slot] ?? null;
    p.slot = slot;
    p.prev = null;
    p.next = head;
    if (head !== null) head.prev = p;
    this.slots[slot] = p;
  }

  private unlink(p: PendingTimeout): void {
    if (p.slot < 0) return;
    if (p.prev === null) this.slots[p.slot] = p.next;
    else p.prev.next = p.next;
    if (p.next !== null) p.next.prev = p.prev;
    p.prev = p.next = null;
    p.slot = -1;
  }

  private stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }
}
