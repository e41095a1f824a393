// FORWARDONLY (spec §5.9): every question goes, with RD=1, to the upstream
// caches of the closest servers/ entry (`@` for everything else). Referrals
// from a forwarder are refused, as C6 does: a forwarder that refers us is
// not doing its job, so we pass over it.

import { Cache } from '../cache/cache';
import { Log } from '../log/log';
import { Random } from '../random/random';
import { RttTable } from '../transport/rtt';
import { Endpoint } from '../transport/udp';
import { askServers, Judge, SendAddresses, UpstreamOptions } from '../transport/upstream';
import { RCODE } from '../wire/constants';
import { Message } from '../wire/message';
import { Name } from '../wire/name';
import { WorkContext } from './budget';
import { classify, Verdict } from './classify';
import { Fetched, Fetcher } from './resolver';
import { scrub } from './scrub';
import { closestServers, ServerTable } from './zones';

export interface UpstreamDeps {
  readonly servers: ServerTable;
  readonly cache: Cache;
  readonly log: Log;
  readonly random: Random;
  readonly rtt: RttTable;
  readonly sendFrom: SendAddresses;
  /** Called after each reply is processed (dnscache logs `stats` then). */
  readonly afterResponse: () => void;
  /** Counts every datagram or connection we send upstream. */
  readonly onUpstreamQuery?: (server: Endpoint, transport: 'udp' | 'tcp') => void;
}

/** Caches what `message` may teach us, given whose servers sent it, logging `rr` lines. */
export function learn(deps: UpstreamDeps, message: Message, control: Name, server: string): void {
  for (const set of scrub(message, control, deps.servers)) {
    for (const rr of set.records) deps.log.rr(server, set.ttl, rr.type, rr.name, rr.rdata);
    deps.cache.putRRset(set.name, set.type, set.ttl, set.rdatas);
    if (set.ttl > 0) deps.cache.forgetNxdomain(set.name);
  }
}

/** dnscache believes only NOERROR and NXDOMAIN; anything else means "ask someone else". */
export function rcodeUsable(message: Message): boolean {
  return message.rcode === RCODE.NOERROR || message.rcode === RCODE.NXDOMAIN;
}

/** How both fetchers ask upstream: made once per fetcher (each question passes its own budget). */
export function upstreamOptions(deps: UpstreamDeps): UpstreamOptions {
  return { sendFrom: deps.sendFrom, random: deps.random, rtt: deps.rtt, onTry: deps.onUpstreamQuery };
}

/**
 * The judge both fetchers use: only NOERROR and NXDOMAIN are believed; a
 * lame reply passes over its server (logged `lame`); a referral is followed
 * when iterating, and refused from a forwarder (logged `ignored referral`,
 * as C6 does) - a forwarder that refers us is not doing its job.
 */
export function verdictJudge(deps: UpstreamDeps, name: Name, type: number, zone: Name, forwarding: boolean): Judge<Verdict> {
  return (message, server) => {
    if (!rcodeUsable(message)) return { use: false, reason: `rcode ${message.rcode} from ${server.address}` };
    const v = classify(message, name, type, zone);
    if (forwarding && (v.kind === 'referral' || v.kind === 'lame')) {
      deps.log.ignoredReferral(server.address, zone, v.kind === 'referral' ? v.zone : v.referral);
      return { use: false, reason: 'referral from a forwarder' };
    }
    if (v.kind === 'lame') {
      deps.log.lame(server.address, zone, v.referral);
      return { use: false, reason: `lame server ${server.address}` };
    }
    return { use: true, value: v };
  };
}

/** A usable reply: cache what it may teach, then hand on its verdict. */
export function accepted(deps: UpstreamDeps, message: Message, verdict: Verdict, zone: Name, server: Endpoint): Fetched {
  learn(deps, message, zone, server.address);
  // dnscache prints `stats` after answers and NODATA, not after CNAMEs, NXDOMAIN or referrals.
  if (verdict.kind !== 'cname' && verdict.kind !== 'nxdomain' && verdict.kind !== 'referral') deps.afterResponse();
  return { kind: 'verdict', verdict, server: server.address };
}

export class ForwardFetcher implements Fetcher {
  private readonly options: UpstreamOptions;

  constructor(private readonly deps: UpstreamDeps) {
    this.options = upstreamOptions(deps);
  }

  // Not async: a then() costs a miss less than an async function's generator, its register file and an await.
  fetch(name: Name, type: number, ctx: WorkContext): Promise<Fetched> {
    const zone = closestServers(this.deps.servers, name);
    if (!zone) return Promise.resolve({ kind: 'failed', reason: 'no servers for this name' });
    this.deps.log.tx(0, type, name, zone.zone, this.deps.rtt.order(zone.servers).map((s) => s.address));
    return askServers(zone.servers, { name, type, rd: true }, this.options, ctx.budget, verdictJudge(this.deps, name, type, zone.zone, true)).then((result) =>
      result.kind === 'failed' ? result : accepted(this.deps, result.message, result.value, zone.zone, result.server),
    );
  }
}
