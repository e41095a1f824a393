// Clients refused at the door - no ip/ entry admits them, or they sent from
// a port dnscache never answers - are counted, and logged: a client that
// gets no answer because nobody made its ip/ entry is the classic dnscache
// setup mistake, and silence made it hard to see. One line per client per
// minute at most, and at most LINES_PER_MINUTE lines in all, so a flood of
// spoofed sources cannot flood the log; what is not logged is counted on
// the next line.

import { realClock } from '../platform/clock';
import { Log, Transport } from '../log/log';

/** A client is logged again this long after its last line. */
export const CLIENT_QUIET_MS = 60_000;
/** Refused lines in one minute at most. */
export const LINES_PER_MINUTE = 100;
/** Clients remembered for their quiet minute at most (the oldest go first). */
export const MAX_REMEMBERED = 10_000;

export type RefusedReason = 'no ip/ entry' | 'source port';

export class RefusedClients {
  /** Queries (UDP) and connections (TCP) refused since start. */
  count = 0;
  private readonly lastLogged = new Map<string, number>();
  private windowStart = -Infinity;
  private linesInWindow = 0;
  private unlogged = 0;

  constructor(
    private readonly log: Log,
    private readonly now: () => number = () => realClock.now(),
  ) {}

  refused(address: string, t: Transport, reason: RefusedReason): void {
    this.count++;
    const now = this.now();
    const last = this.lastLogged.get(address);
    if (last !== undefined && now - last < CLIENT_QUIET_MS) return;
    if (now - this.windowStart >= 60_000) {
      this.windowStart = now;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= LINES_PER_MINUTE) {
      this.unlogged++;
      return;
    }
    this.linesInWindow++;
    // Re-inserted at the end: the map's order is the order of last lines, oldest first.
    this.lastLogged.delete(address);
    this.lastLogged.set(address, now);
    if (this.lastLogged.size > MAX_REMEMBERED) this.lastLogged.delete(this.lastLogged.keys().next().value!);
    this.log.refused(address, t, reason, this.unlogged);
    this.unlogged = 0;
  }
}
