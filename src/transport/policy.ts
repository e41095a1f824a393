// Which upstream of a forwarding pool to ask first, by the pool's policy
// (servers/ `policy NAME`); the rest follow in the same order, for failover.
// Pure functions of what is known of each server now (PoolState), plus a
// class that keeps the little a pool needs between questions (roundrobin's
// turn) and maps askServers' endpoints to their options.

import type { PolicyName, PoolServer } from '../config';
import { Random } from '../random/random';
import { ServerKey } from './rtt';
import { Endpoint } from './udp';

/** What a policy may know of a server now. */
export interface PoolState {
  /** Tries in flight. */
  outstanding(s: ServerKey): number;
  /** Queries in the last second. */
  rate(s: ServerKey): number;
  /** Expected answer time (the RTT table's cost: timeouts inflate it). */
  cost(s: ServerKey): number;
  /** Health (transport/health.ts): false keeps client queries away while another server is up. */
  up(s: ServerKey): boolean;
}

/** Fewest tries in flight first; ties by `order`, then by expected answer time (dnsdist's leastOutstanding). */
export function leastOutstanding(servers: readonly PoolServer[], state: PoolState): PoolServer[] {
  return [...servers].sort(
    (a, b) =>
      state.outstanding(a.endpoint) - state.outstanding(b.endpoint) ||
      a.order - b.order ||
      state.cost(a.endpoint) - state.cost(b.endpoint),
  );
}

function underCap(s: PoolServer, state: PoolState): boolean {
  return s.qps === null || state.rate(s.endpoint) < s.qps;
}

/** By `order`, those under their qps cap; then the rest (all over their caps) by leastOutstanding. */
export function firstAvailable(servers: readonly PoolServer[], state: PoolState): PoolServer[] {
  const byOrder = [...servers].sort((a, b) => a.order - b.order);
  const available = byOrder.filter((s) => underCap(s, state));
  if (available.length === servers.length) return available;
  return [
    ...available,
    ...leastOutstanding(
      byOrder.filter((s) => !underCap(s, state)),
      state,
    ),
  ];
}

/** Drawn by `weight`, without replacement: the first is the pick, the rest are failover in weighted order too. */
export function weightedRandom(servers: readonly PoolServer[], random: Random): PoolServer[] {
  const left = [...servers];
  const out: PoolServer[] = [];
  let total = left.reduce((sum, s) => sum + s.weight, 0);
  while (left.length > 0) {
    // Scaled, not below(total): a big file of big weights may pass 2^32.
    let r = Math.floor((random.uint32() / 0x100000000) * total);
    let i = 0;
    while (r >= left[i]!.weight) r -= left[i++]!.weight;
    const [s] = left.splice(i, 1);
    out.push(s!);
    total -= s!.weight;
  }
  return out;
}

/** File order rotated by `turn`. */
export function roundRobin(servers: readonly PoolServer[], turn: number): PoolServer[] {
  const k = turn % servers.length;
  return [...servers.slice(k), ...servers.slice(0, k)];
}

/** Cheapest expected answer first; ties in file order (today's ordering, stable sort). */
export function byRtt(servers: readonly PoolServer[], state: PoolState): PoolServer[] {
  return [...servers].sort((a, b) => state.cost(a.endpoint) - state.cost(b.endpoint));
}

/**
 * The policy's order with the servers that are down left out - unless all
 * are down: then they are all tried, in the policy's order, as asking a
 * server thought down beats answering SERVFAIL without asking.
 */
export function policyOrder(
  policy: PolicyName,
  servers: readonly PoolServer[],
  state: PoolState,
  turn: number,
  random: Random,
): PoolServer[] {
  const ordered =
    policy === 'leastOutstanding'
      ? leastOutstanding(servers, state)
      : policy === 'firstAvailable'
        ? firstAvailable(servers, state)
        : policy === 'wrandom'
          ? weightedRandom(servers, random)
          : policy === 'roundrobin'
            ? roundRobin(servers, turn)
            : byRtt(servers, state);
  const up = ordered.filter((s) => state.up(s.endpoint));
  return up.length > 0 ? up : ordered;
}

/** Who askServers asks first: the RTT table's order, or a pool's (PoolOrder). */
export interface ServerOrder {
  order(servers: readonly Endpoint[]): readonly Endpoint[];
}

/** One pool's ordering, as askServers wants it: rebuilt with the pool on reload. */
export class PoolOrder implements ServerOrder {
  private readonly byEndpoint: ReadonlyMap<Endpoint, PoolServer>;
  private turn = 0;

  constructor(
    readonly policy: PolicyName,
    readonly servers: readonly PoolServer[],
    private readonly state: PoolState,
    private readonly random: Random,
  ) {
    this.byEndpoint = new Map(servers.map((s) => [s.endpoint, s]));
  }

  order(endpoints: readonly Endpoint[]): readonly Endpoint[] {
    // A pool of one has one order; and askServers passes the pool's own endpoints.
    if (endpoints.length <= 1) return endpoints;
    const servers = endpoints.map(
      (e, i) => this.byEndpoint.get(e) ?? { endpoint: e, order: i + 1, weight: 1, qps: null },
    );
    return policyOrder(this.policy, servers, this.state, this.turn++, this.random).map((s) => s.endpoint);
  }
}
