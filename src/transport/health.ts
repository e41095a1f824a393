// Whether each forwarding upstream is up: a state machine per server, fed by
// the outcomes of client queries and of background checks (health-check.ts),
// on an injected clock. Down after DOWN_AFTER_FAILED_CHECKS failed checks in
// a row, or a run of DOWN_AFTER_TIMEOUTS client-query timeouts with no answer
// between; up again after one successful check. An administrator may force a
// server up or down (`dnscache-ctl server ADDRESS up|down|auto`).

import { realClock } from '../platform/clock';
import { CANCELLED, TryResult } from './udp';
import { PerServer } from './per-server';
import { serverId, ServerKey } from './rtt';

export const DOWN_AFTER_FAILED_CHECKS = 3;
/** Client-query timeouts in a row that mark a server down at once, without waiting for three checks. */
export const DOWN_AFTER_TIMEOUTS = 5;

export type Forced = 'up' | 'down' | 'auto';

export interface ServerHealth {
  /** What the checks say. */
  state: 'up' | 'down';
  /** What the administrator says; `auto`: the checks decide. */
  forced: Forced;
  /** Failed checks in a row. */
  failedChecks: number;
  /** Client-query timeouts in a row. */
  timeouts: number;
  /** When the server last answered a client query (clock ms; -Infinity: never). */
  lastAnswer: number;
  /** A check is in flight. */
  checking: boolean;
  checks: number;
  checksFailed: number;
}

/** A server's state as it is acted on: the forced one, else the checks'. */
export function effectiveState(h: Readonly<ServerHealth>): 'up' | 'down' {
  return h.forced === 'auto' ? h.state : h.forced;
}

export class HealthTable {
  private readonly table = new PerServer<ServerHealth>();

  constructor(
    /** How often an idle or failing server is checked, ms. */
    readonly intervalMs: number,
    private readonly now: () => number = () => realClock.now(),
    /** Told of every change of a server's checked state (to log it). */
    private readonly onChange: (server: string, state: 'up' | 'down', why: string) => void = () => {},
  ) {}

  private record(s: ServerKey): ServerHealth {
    let h = this.table.get(s);
    if (h === undefined) {
      // Up until shown otherwise: a fresh start answers at once, as before health checks.
      h = {
        state: 'up',
        forced: 'auto',
        failedChecks: 0,
        timeouts: 0,
        lastAnswer: -Infinity,
        checking: false,
        checks: 0,
        checksFailed: 0,
      };
      this.table.set(s, h);
    }
    return h;
  }

  private set(s: ServerKey, h: ServerHealth, state: 'up' | 'down', why: string): void {
    if (h.state === state) return;
    h.state = state;
    this.onChange(serverId(s), state, why);
  }

  /** May `s` get client queries? */
  up(s: ServerKey): boolean {
    const h = this.table.get(s);
    return h === undefined || effectiveState(h) === 'up';
  }

  /** A client query's try towards `s` ended so. */
  clientOutcome(s: ServerKey, result: TryResult): void {
    if (result === CANCELLED) return;
    const h = this.record(s);
    if (result.kind === 'reply') {
      h.timeouts = 0;
      h.lastAnswer = this.now();
    } else if (result.kind === 'timeout' && ++h.timeouts >= DOWN_AFTER_TIMEOUTS) {
      this.set(s, h, 'down', `${h.timeouts} timeouts in a row`);
    }
  }

  /**
   * Is a check of `s` due? When none is in flight and the server is idle
   * (no client answer for an interval: its answers are proof enough) or
   * failing (down, or checks or queries failing).
   */
  due(s: ServerKey): boolean {
    const h = this.record(s);
    if (h.checking) return false;
    const failing = h.state === 'down' || h.failedChecks > 0 || h.timeouts > 0;
    return failing || this.now() - h.lastAnswer >= this.intervalMs;
  }

  checkStarted(s: ServerKey): void {
    const h = this.record(s);
    h.checking = true;
    h.checks++;
  }

  /** A check of `s` ended: `ok` when the server answered it usably; `why` says what went wrong. */
  checked(s: ServerKey, ok: boolean, why = ''): void {
    const h = this.record(s);
    h.checking = false;
    if (ok) {
      h.failedChecks = 0;
      h.timeouts = 0;
      this.set(s, h, 'up', 'a check succeeded');
      return;
    }
    h.checksFailed++;
    if (++h.failedChecks >= DOWN_AFTER_FAILED_CHECKS)
      this.set(s, h, 'down', `${h.failedChecks} failed checks in a row (${why})`);
  }

  force(s: ServerKey, forced: Forced): void {
    this.record(s).forced = forced;
  }

  /** A copy of what is known of `s`. */
  snapshot(s: ServerKey): Readonly<ServerHealth> {
    return { ...this.record(s) };
  }

  /** Forgets every server not in `keep` (serverId()s): reload's pruning. */
  retain(keep: ReadonlySet<string>): void {
    this.table.retain(keep);
  }
}
