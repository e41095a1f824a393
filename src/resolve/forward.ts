// FORWARDONLY (spec §5.9): every question goes, with RD=1, to the upstream
// caches of the closest servers/ entry (`@` for everything else). Referrals
// from a forwarder are refused, as C6 does: a forwarder that refers us is
// not doing its job, so we pass over it.

import { ANSWERABLE, Cache } from '../cache/cache';
import { RCODE } from '../wire/constants';
import { Log } from '../log/log';
import { Random } from '../random/random';
import { UpstreamPools } from '../transport/pools';
import { RttTable } from '../transport/rtt';
import { TimeoutWheel } from '../transport/timeouts';
import { Endpoint } from '../transport/udp';
import { askServers, Judge, SendAddresses, UpstreamOptions } from '../transport/upstream';
import { Name } from '../wire/name';
import { WorkContext } from './budget';
import { classify, Verdict } from './classify';
import { Fetched, Fetcher } from './resolver';
import { rcodeUsable, scrub, ScrubbedReply } from './scrub';
import { rrsetsOf } from './rrsets';
import { closestServers, ServerTable } from './zones';

export interface UpstreamDeps {
  readonly servers: ServerTable;
  readonly cache: Cache;
  readonly log: Log;
  readonly random: Random;
  readonly rtt: RttTable;
  readonly sendFrom: SendAddresses;
  /** Where upstream tries time out, on the service's clock. */
  readonly timeouts: TimeoutWheel;
  /** Called after an answer, a NODATA or a referral is taken in (dnscache's query.c logs `stats` there; see accepted()). */
  readonly afterResponse: () => void;
  /** Counts every datagram or connection we send upstream. */
  readonly onUpstreamQuery?: (server: Endpoint, transport: 'udp' | 'tcp') => void;
}

export interface ForwardDeps extends UpstreamDeps {
  /** The servers/ files' pools (policies, options, health); without them, upstreams in RTT order. */
  readonly pools?: UpstreamPools | undefined;
}

/** A reply the judge accepted: what it means, and what is left of it to learn from. */
export interface Judgement {
  readonly verdict: Verdict;
  readonly reply: ScrubbedReply;
}

/** Caches what a scrubbed reply may teach us, logging `rr` lines (the child's side: the parent's are copies). */
export function learn(deps: UpstreamDeps, judged: Judgement, server: string): void {
  for (const set of rrsetsOf(judged.reply, judged.verdict.kind === 'referral')) {
    if (set.side === 'child') for (const rr of set.records) deps.log.rr(server, set.ttl, rr.type, rr.name, rr.rdata);
    const stored = deps.cache.putRRset(set.name, set.type, set.ttl, set.rdatas, set.rank, set.side);
    // Data a client may be answered from ends a cached NXDOMAIN; glue does not.
    if (stored && set.side === 'child' && set.rank >= ANSWERABLE) deps.cache.forgetNxdomain(set.name);
  }
}

/** How both fetchers ask upstream: made once per fetcher (each question passes its own budget). */
export function upstreamOptions(deps: UpstreamDeps): UpstreamOptions {
  return {
    sendFrom: deps.sendFrom,
    random: deps.random,
    rtt: deps.rtt,
    onTry: deps.onUpstreamQuery,
    timeouts: deps.timeouts,
  };
}

/**
 * The judge both fetchers use: only NOERROR and NXDOMAIN are believed; the
 * reply is scrubbed, then classified; a lame reply passes over its server
 * (logged `lame`); a referral is followed when iterating, and refused from
 * a forwarder (logged `ignored referral`, as C6 does) - a forwarder that
 * refers us is not doing its job.
 */
export function verdictJudge(
  deps: UpstreamDeps,
  name: Name,
  type: number,
  zone: Name,
  forwarding: boolean,
): Judge<Judgement> {
  return (message, server) => {
    if (!rcodeUsable(message.rcode)) return { use: false, reason: `rcode ${message.rcode} from ${server.address}` };
    const reply = scrub(message, name, zone, deps.servers);
    const verdict = classify(reply, name, type, zone);
    if (message.rcode === RCODE.YXDOMAIN && verdict.kind !== 'yxdomain')
      return { use: false, reason: `rcode ${message.rcode} from ${server.address}` };
    if (forwarding && (verdict.kind === 'referral' || verdict.kind === 'lame')) {
      deps.log.ignoredReferral(server.address, zone, verdict.kind === 'referral' ? verdict.zone : verdict.referral);
      return { use: false, reason: 'referral from a forwarder' };
    }
    if (verdict.kind === 'lame') {
      deps.log.lame(server.address, zone, verdict.referral);
      return { use: false, reason: `lame server ${server.address}` };
    }
    return { use: true, value: { verdict, reply } };
  };
}

/** A usable reply to (name, type): cache what it may teach, log it, then hand on its verdict. */
export function accepted(deps: UpstreamDeps, judged: Judgement, server: Endpoint, name: Name, type: number): Fetched {
  learn(deps, judged, server.address);
  const verdict = judged.verdict;
  // In the order of djbdns's query.c for a reply it takes in: `nxdomain` (then it
  // answers), or `nodata`, then `stats`. A CNAME goes on to the alias and an
  // NXDOMAIN is answered before log_stats(); answers, NODATA and referrals pass it.
  if (verdict.kind === 'nxdomain') deps.log.nxdomain(server.address, verdict.negativeTtl, name);
  else if (verdict.kind === 'nodata') deps.log.nodata(server.address, verdict.negativeTtl, type, name);
  if (verdict.kind !== 'cname' && verdict.kind !== 'nxdomain') deps.afterResponse();
  return { kind: 'verdict', verdict, server: server.address, reply: judged.reply };
}

export class ForwardFetcher implements Fetcher {
  private readonly options: UpstreamOptions;

  constructor(private readonly deps: ForwardDeps) {
    this.options = deps.pools ? { ...upstreamOptions(deps), load: deps.pools } : upstreamOptions(deps);
  }

  // Not async: a then() costs a miss less than an async function's generator, its register file and an await.
  fetch(name: Name, type: number, ctx: WorkContext): Promise<Fetched> {
    const zone = closestServers(this.deps.servers, name);
    if (!zone) return Promise.resolve({ kind: 'failed', reason: 'no servers for this name' });
    const order = this.deps.pools?.orderFor(zone.zone) ?? this.deps.rtt;
    const first = order.order(zone.servers);
    this.deps.log.tx(
      0,
      type,
      name,
      zone.zone,
      first.map((s) => s.address),
    );
    const judge = verdictJudge(this.deps, name, type, zone.zone, true);
    return askServers(zone.servers, { name, type, rd: true }, this.options, ctx.budget, judge, 'until the deadline', {
      order,
      first,
    }).then((result) =>
      result.kind === 'failed' ? result : accepted(this.deps, result.value, result.server, name, type),
    );
  }
}
