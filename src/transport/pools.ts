// The forwarding pools in force: one PoolOrder per servers/ file, built from
// the PoolTable and rebuilt whole on reload, over the state all pools share
// (tries in flight and rates, RTTs, health). Only FORWARDONLY has pools:
// iterative resolution orders authorities by RTT, as it always did.

import type { PolicyName, PoolServer, PoolTable } from '../config';
import { Random } from '../random/random';
import { Name } from '../wire/name';
import { UpstreamLoad } from './load';
import { PoolOrder, PoolState } from './policy';
import { RttTable, serverId, ServerKey } from './rtt';

/**
 * The policy of a servers/ file without a `policy` line, when forwarding:
 * today's RTT order, chosen by measurement (docs/benchmarks.md, "Forwarding
 * policies"): with one upstream 50 ms slower, rtt answered 11,039 misses/s
 * at p99 25.6 ms, leastOutstanding 8,502/s at p99 59.5 ms - queries in
 * flight tie often, and each tie sends some to the slow server.
 */
export const DEFAULT_FORWARD_POLICY: PolicyName = 'rtt';

/** Whether a server may get client queries (transport/health.ts); every server, without health checks. */
export interface UpState {
  up(s: ServerKey): boolean;
}

const ALWAYS_UP: UpState = { up: () => true };

/** One upstream as `dnscache-ctl servers` lists it. */
export interface PoolMember {
  readonly zone: Name;
  readonly policy: PolicyName;
  readonly server: PoolServer;
}

export class UpstreamPools {
  private orders = new Map<Name, PoolOrder>();
  private table: PoolTable;
  readonly state: PoolState;

  constructor(
    table: PoolTable,
    readonly load: UpstreamLoad,
    rtt: RttTable,
    private readonly random: Random,
    health: UpState = ALWAYS_UP,
    private readonly defaultPolicy: PolicyName = DEFAULT_FORWARD_POLICY,
  ) {
    this.state = {
      outstanding: (s) => load.outstanding(s),
      rate: (s) => load.rate(s),
      cost: (s) => rtt.cost(s),
      up: (s) => health.up(s),
    };
    this.table = table;
    this.swap(table);
  }

  /** The pools of `next` replace the current ones; counters of servers no longer listed are dropped. */
  swap(next: PoolTable): void {
    const orders = new Map<Name, PoolOrder>();
    for (const [zone, pool] of next) orders.set(zone, new PoolOrder(pool.policy ?? this.defaultPolicy, pool.servers, this.state, this.random));
    this.orders = orders;
    this.table = next;
    this.load.retain(new Set(this.members().map((m) => serverId(m.server.endpoint))));
  }

  /** The ordering of the pool of servers/ file `zone`, if there is one. */
  orderFor(zone: Name): PoolOrder | undefined {
    return this.orders.get(zone);
  }

  /** Every upstream of every pool, file by file, in file order. */
  members(): PoolMember[] {
    const out: PoolMember[] = [];
    for (const [zone, pool] of this.table) for (const server of pool.servers) out.push({ zone, policy: pool.policy ?? this.defaultPolicy, server });
    return out;
  }
}
