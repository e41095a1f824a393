// Work limits for one client question (spec Part A): every sub-resolution
// it causes spends from the same budget, so no question - however its
// delegations are built - can make us send more than a bounded number of
// packets or work longer than a bounded time (NXNSAttack, glueless chains,
// referral loops).

import type { Clock } from '../platform/clock';
import type { RunningTry } from '../transport/udp';

/** Outbound queries (UDP tries and TCP connections) one client question may cause. */
export const MAX_UPSTREAM_QUERIES = 50;
/** Nested NS-address lookups (dnscache's QUERY_MAXLEVEL). */
export const MAX_GLUELESS_DEPTH = 5;
/** NS names resolved for addresses per referral (NXNSAttack bound). */
export const MAX_NS_LOOKUPS_PER_REFERRAL = 10;
/** Wall-clock budget for one client question, ms. */
export const QUERY_TIME_LIMIT = 7000;

/** Why a budget was aborted when no client waits any more (Resolver.abandon). */
export const ABANDONED = 'abandoned';

/** Shared by a client question and everything it triggers. */
export class WorkBudget {
  sent = 0;
  exhaustedBy: string | null = null;
  /** The asking under way for this question: abort() cancels its try (transport/upstream.ts). */
  private asking: RunningTry | null = null;

  /** `deadline`: on `clock`, ms. */
  constructor(
    private readonly clock: Clock,
    readonly deadline: number,
    readonly maxQueries: number = MAX_UPSTREAM_QUERIES,
  ) {}

  /** A client question's budget: QUERY_TIME_LIMIT from now, MAX_UPSTREAM_QUERIES. */
  static start(clock: Clock): WorkBudget {
    return new WorkBudget(clock, clock.now() + QUERY_TIME_LIMIT);
  }

  /** Milliseconds left until the deadline (negative once past it). */
  remainingMs(): number {
    return this.deadline - this.clock.now();
  }

  /** Takes one outbound query from the budget; false once it is spent or time is up. */
  take(): boolean {
    if (this.exhaustedBy) return false;
    if (this.clock.now() >= this.deadline) {
      this.exhaustedBy = 'time limit';
      return false;
    }
    if (this.sent >= this.maxQueries) {
      this.exhaustedBy = 'query budget';
      return false;
    }
    this.sent++;
    return true;
  }

  attach(asking: RunningTry | null): void {
    this.asking = asking;
  }

  /**
   * Stops all upstream traffic for this question (nobody waits for it any
   * more): no further tries, and the one in progress is cancelled, its
   * socket closed now. So the sockets open upstream are bounded by the
   * questions somebody waits for (README: Bounds).
   */
  abort(reason: string): void {
    if (this.exhaustedBy) return;
    this.exhaustedBy = reason;
    this.asking?.cancel();
  }

  get spent(): boolean {
    return this.exhaustedBy !== null || this.clock.now() >= this.deadline;
  }
}

/**
 * The resolutions a sub-resolution is nested in, innermost first, as keys
 * (type/name): a list rather than a set, since it is short (at most
 * MAX_GLUELESS_DEPTH + 1) and made once per NS-address lookup.
 */
export interface Lineage {
  readonly key: string;
  readonly up: Lineage | null;
}

/** Where in the tree of sub-resolutions a resolution runs. */
export interface WorkContext {
  readonly budget: WorkBudget;
  /** 0 for the client's question; +1 for each NS-address lookup below it. */
  readonly depth: number;
  /**
   * This resolution and those it is nested in, the client's question
   * included: a lookup of any of them would wait for itself (a cycle through
   * the client's own question once stalled until the time limit).
   */
  readonly lineage: Lineage;
}

export function rootContext(key: string, budget: WorkBudget): WorkContext {
  return { budget, depth: 0, lineage: { key, up: null } };
}

export function childContext(ctx: WorkContext, key: string): WorkContext {
  return { budget: ctx.budget, depth: ctx.depth + 1, lineage: { key, up: ctx.lineage } };
}

/** Is `key` this resolution or one it is nested in? */
export function inLineage(ctx: WorkContext, key: string): boolean {
  for (let l: Lineage | null = ctx.lineage; l !== null; l = l.up) if (l.key === key) return true;
  return false;
}
