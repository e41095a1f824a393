// Per-server round-trip times, for choosing whom to ask and how long to wait;
// and which servers do not speak EDNS, for how to ask them.
//
// A smoothed RTT and variance per server (RFC 6298 style); timeouts are
// penalised by backing the estimate off, so a dead server is tried again
// only after the live ones, and untried servers get a modest optimistic
// estimate so they are explored early instead of starved.

import { realClock } from '../platform/clock';

export interface ServerKey {
  readonly address: string;
  readonly port: number;
}

interface Estimate {
  srtt: number;
  rttvar: number;
  /** Consecutive timeouts; reset by any answer. */
  timeouts: number;
  /** When the server last answered or timed out (the table's clock, ms). */
  seen: number;
}

/** What an untried server is assumed to cost, ms: low enough to get explored. */
const UNTRIED_RTT = 50;
const MIN_TIMEOUT = 200;
const MAX_TIMEOUT = 3000;
const INITIAL_TIMEOUT = 1000;
const MAX_TRACKED = 100000;
/**
 * What we know of a server is forgotten this long after it last answered or
 * timed out (Unbound's infra-host-ttl, 900 s): a server that timed out is
 * tried afresh instead of staying last for ever, and one long unused is
 * explored again as untried, in case the network changed.
 */
export const FORGET_AFTER_MS = 15 * 60 * 1000;

export function serverId(s: ServerKey): string {
  return s.address.includes(':') ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}

/** How long a server stays remembered as EDNS-less: it may be upgraded, or its FORMERR may have been a fluke. */
export const NO_EDNS_MS = 60 * 60 * 1000;
/**
 * At most this many servers are remembered as EDNS-less (a few hundred KB
 * at worst). Whoever could make many servers look EDNS-less would only push
 * the oldest out, and those are then asked with EDNS again: one extra try each.
 */
export const NO_EDNS_MAX = 4096;

/**
 * Servers that answered a query carrying our OPT with FORMERR or NOTIMP and
 * no OPT of their own (RFC 6891 §7). For NO_EDNS_MS they are asked without
 * OPT from the start, so each question to them costs one try, not two.
 */
export class NoEdnsServers {
  /** serverId → when it is forgotten (the clock's ms). Insertion order is expiry order: all live equally long. */
  private readonly until = new Map<string, number>();

  /** `now`: the clock entries expire by (ms); its owner's, the RTT table's. */
  constructor(private readonly now: () => number = () => realClock.now()) {}

  /** Is `s` to be asked without EDNS? */
  has(s: ServerKey, now: number = this.now()): boolean {
    if (this.until.size === 0) return false; // nearly always: no string is built per try
    const id = serverId(s);
    const until = this.until.get(id);
    if (until === undefined) return false;
    if (until > now) return true;
    this.until.delete(id);
    return false;
  }

  /** `s` refused EDNS: remember it for NO_EDNS_MS from `now`. */
  add(s: ServerKey, now: number = this.now()): void {
    const id = serverId(s);
    this.until.delete(id); // re-inserted at the end, keeping expiry order
    this.until.set(id, now + NO_EDNS_MS);
    // From the front: the expired, then the oldest while over the cap.
    for (const [first, until] of this.until) {
      if (until > now && this.until.size <= NO_EDNS_MAX) break;
      this.until.delete(first);
    }
  }

  get size(): number {
    return this.until.size;
  }
}

export class RttTable {
  /**
   * Kept with the RTTs as the other thing learnt per server from its
   * replies; both fetchers share this table (UpstreamOptions.rtt).
   */
  readonly noEdns: NoEdnsServers;
  private readonly table = new Map<string, Estimate>();

  /** `now`: the clock estimates (and EDNS refusals) age by, ms: the service's (platform/clock.ts). */
  constructor(private readonly now: () => number = () => realClock.now()) {
    this.noEdns = new NoEdnsServers(now);
  }

  /** The live estimate for a server id, forgetting one that has aged out. */
  private estimate(id: string): Estimate | undefined {
    const e = this.table.get(id);
    if (e !== undefined && this.now() - e.seen > FORGET_AFTER_MS) {
      this.table.delete(id);
      return undefined;
    }
    return e;
  }
  // The id of the server last asked about: a try asks about one server
  // several times (order, timeout, answered), and Endpoint objects are
  // immutable, so this saves building the same string again each time.
  private lastServer: ServerKey | null = null;
  private lastId = '';

  private id(s: ServerKey): string {
    if (s !== this.lastServer) {
      this.lastId = serverId(s);
      this.lastServer = s;
    }
    return this.lastId;
  }

  /** Orders servers by expected cost; ties (e.g. all untried) in the given order. */
  order<T extends ServerKey>(servers: readonly T[], shuffled: readonly T[] = servers): readonly T[] {
    // One server (a typical forwarder setup) has one order: no copy, no lookups.
    if (shuffled.length <= 1) return shuffled;
    return [...shuffled].sort((a, b) => this.cost(a) - this.cost(b));
  }

  /** Expected cost of asking: the smoothed RTT, inflated by recent timeouts. */
  cost(s: ServerKey): number {
    const e = this.estimate(this.id(s));
    if (!e) return UNTRIED_RTT;
    return e.srtt * (1 << Math.min(e.timeouts, 10)) + (e.timeouts > 0 ? MAX_TIMEOUT : 0);
  }

  /** How long to wait for this server before trying the next one, ms. */
  timeout(s: ServerKey): number {
    const e = this.estimate(this.id(s));
    if (!e) return INITIAL_TIMEOUT;
    const rto = e.srtt + 4 * e.rttvar;
    return Math.max(MIN_TIMEOUT, Math.min(MAX_TIMEOUT, rto * (1 << Math.min(e.timeouts, 4))));
  }

  answered(s: ServerKey, rttMs: number): void {
    const id = this.id(s);
    const e = this.estimate(id);
    if (!e) {
      if (this.table.size >= MAX_TRACKED) this.table.clear();
      this.table.set(id, { srtt: rttMs, rttvar: rttMs / 2, timeouts: 0, seen: this.now() });
      return;
    }
    e.rttvar = 0.75 * e.rttvar + 0.25 * Math.abs(e.srtt - rttMs);
    e.srtt = 0.875 * e.srtt + 0.125 * rttMs;
    e.timeouts = 0;
    e.seen = this.now();
  }

  timedOut(s: ServerKey, waitedMs: number): void {
    const id = this.id(s);
    const e = this.estimate(id);
    if (!e) {
      if (this.table.size >= MAX_TRACKED) this.table.clear();
      this.table.set(id, { srtt: waitedMs, rttvar: waitedMs / 2, timeouts: 1, seen: this.now() });
      return;
    }
    e.timeouts++;
    e.seen = this.now();
  }
}
