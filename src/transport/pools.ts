// The forwarding pools in force: one PoolOrder per servers/ file, built from
// the PoolTable and rebuilt whole on reload, over the state all pools share
// (tries in flight and rates, RTTs, health). Only FORWARDONLY has pools:
// iterative resolution orders authorities by RTT, as it always did.

import type { PolicyName, PoolServer, PoolTable } from '../config';
import { Random } from '../random/random';
import { Name, nameToText } from '../wire/name';
import { effectiveState, Forced, HealthTable } from './health';
import { UpstreamLoad } from './load';
import { PoolOrder, PoolState } from './policy';
import { RttTable, serverId } from './rtt';
import { Endpoint, TryResult } from './udp';
import { TryObserver } from './upstream';

/**
 * The policy of a servers/ file without a `policy` line, when forwarding:
 * today's RTT order, chosen by measurement (docs/benchmarks.md, "Issue 16:
 * forwarding policies"): with one upstream 50 ms slower, rtt answered
 * 11,039 misses/s at p99 25.6 ms, leastOutstanding 8,502/s at p99 59.5 ms -
 * queries in flight tie often, and each tie sends some to the slow server.
 */
export const DEFAULT_FORWARD_POLICY: PolicyName = 'rtt';

/** One upstream of one pool as `dnscache-ctl servers` shows it (dnsdist's showServers()). */
export interface ServerRow {
  readonly address: string;
  /** The servers/ file: `@` or a domain. */
  readonly pool: string;
  /** `up` or `down`, as acted on: forced, or as the checks say. */
  readonly state: 'up' | 'down';
  readonly forced: Forced;
  readonly policy: PolicyName;
  readonly order: number;
  readonly weight: number;
  /** The qps= cap; null: none. */
  readonly qpsCap: number | null;
  readonly queries: number;
  readonly drops: number;
  /** Queries in the last second. */
  readonly qps: number;
  /** Smoothed answer time, ms (0: no answer yet). */
  readonly latencyMs: number;
  readonly outstanding: number;
  readonly checks: number;
  readonly checksFailed: number;
}

/** One upstream as `dnscache-ctl servers` lists it. */
export interface PoolMember {
  readonly zone: Name;
  readonly policy: PolicyName;
  readonly server: PoolServer;
}

export class UpstreamPools implements TryObserver {
  private orders = new Map<Name, PoolOrder>();
  private table: PoolTable;
  readonly state: PoolState;

  constructor(
    table: PoolTable,
    readonly load: UpstreamLoad,
    rtt: RttTable,
    private readonly random: Random,
    /** Null without health checks (HEALTHINTERVAL=0): every server is up. */
    readonly health: HealthTable | null,
    private readonly defaultPolicy: PolicyName = DEFAULT_FORWARD_POLICY,
  ) {
    this.state = {
      outstanding: (s) => load.outstanding(s),
      rate: (s) => load.rate(s),
      cost: (s) => rtt.cost(s),
      up: (s) => health === null || health.up(s),
    };
    this.table = table;
    this.swap(table);
  }

  /** The pools of `next` replace the current ones; counters of servers no longer listed are dropped. */
  swap(next: PoolTable): void {
    const orders = new Map<Name, PoolOrder>();
    for (const [zone, pool] of next)
      orders.set(zone, new PoolOrder(pool.policy ?? this.defaultPolicy, pool.servers, this.state, this.random));
    this.orders = orders;
    this.table = next;
    const listed = new Set(this.members().map((m) => serverId(m.server.endpoint)));
    this.load.retain(listed);
    this.health?.retain(listed);
  }

  /** A client query's try towards a pool's server starts (askServers calls this). */
  started(server: Endpoint): void {
    this.load.started(server);
  }

  /** ... and ends: counted, and taken as a sign of health. */
  ended(server: Endpoint, result: TryResult): void {
    this.load.ended(server, result);
    this.health?.clientOutcome(server, result);
  }

  /** Every upstream of every pool, with what is known of it now. */
  rows(): ServerRow[] {
    return this.members().map(({ zone, policy, server }) => {
      const e = server.endpoint;
      const load = this.load.snapshot(e);
      const health = this.health?.snapshot(e);
      return {
        address: serverId(e),
        pool: zone.length === 1 ? '@' : nameToText(zone).slice(0, -1),
        state: health === undefined ? 'up' : effectiveState(health),
        forced: health?.forced ?? 'auto',
        policy,
        order: server.order,
        weight: server.weight,
        qpsCap: server.qps,
        queries: load.queries,
        drops: load.drops,
        qps: Math.round(load.qps * 10) / 10,
        latencyMs: Math.round(load.latencyMs * 100) / 100,
        outstanding: load.outstanding,
        checks: health?.checks ?? 0,
        checksFailed: health?.checksFailed ?? 0,
      };
    });
  }

  /**
   * An administrator's word on an upstream (`dnscache-ctl server ADDRESS
   * up|down|auto`); false when no pool lists it, or there are no health checks.
   */
  force(server: Endpoint, forced: Forced): boolean {
    if (this.health === null || !this.upstreams().some((u) => serverId(u) === serverId(server))) return false;
    this.health.force(server, forced);
    return true;
  }

  /** Every upstream once (a server may be in several pools): what the health checks ask. */
  upstreams(): Endpoint[] {
    const seen = new Map<string, Endpoint>();
    for (const m of this.members()) seen.set(serverId(m.server.endpoint), m.server.endpoint);
    return [...seen.values()];
  }

  /** The ordering of the pool of servers/ file `zone`, if there is one. */
  orderFor(zone: Name): PoolOrder | undefined {
    return this.orders.get(zone);
  }

  /** Every upstream of every pool, file by file, in file order. */
  members(): PoolMember[] {
    const out: PoolMember[] = [];
    for (const [zone, pool] of this.table)
      for (const server of pool.servers) out.push({ zone, policy: pool.policy ?? this.defaultPolicy, server });
    return out;
  }
}

/**
 * Each worker's rows for the same upstreams (same files, same order):
 * counts add up, latency is the mean of the workers that have one, and a
 * server is down if any worker (each checks on its own) finds it down.
 */
export function mergeServerRows(lists: readonly (readonly ServerRow[])[]): ServerRow[] {
  return lists[0]!.map((first, i) => {
    const all = lists
      .map((rows) => rows[i])
      .filter((r): r is ServerRow => r !== undefined && r.address === first.address && r.pool === first.pool);
    const sum = (f: (r: ServerRow) => number): number => all.reduce((a, r) => a + f(r), 0);
    const timed = all.filter((r) => r.latencyMs > 0);
    return {
      ...first,
      state: all.some((r) => r.state === 'down') ? 'down' : 'up',
      queries: sum((r) => r.queries),
      drops: sum((r) => r.drops),
      qps: Math.round(sum((r) => r.qps) * 10) / 10,
      latencyMs:
        timed.length === 0 ? 0 : Math.round((timed.reduce((a, r) => a + r.latencyMs, 0) / timed.length) * 100) / 100,
      outstanding: sum((r) => r.outstanding),
      checks: sum((r) => r.checks),
      checksFailed: sum((r) => r.checksFailed),
    };
  });
}
