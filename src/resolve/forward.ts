// FORWARDONLY (spec §5.9): every question goes, with RD=1, to the upstream
// caches of the closest servers/ entry (`@` for everything else). Referrals
// from a forwarder are refused, as C6 does: a forwarder that refers us is
// not doing its job, so we pass over it.

import { Cache } from '../cache/cache';
import { Log } from '../log/log';
import { Random } from '../random/random';
import { RttTable } from '../transport/rtt';
import { Endpoint } from '../transport/udp';
import { askServers, Judge, SendAddresses } from '../transport/upstream';
import { RCODE } from '../wire/constants';
import { Message } from '../wire/message';
import { Name } from '../wire/name';
import { WorkContext } from './budget';
import { classify } from './classify';
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

export class ForwardFetcher implements Fetcher {
  constructor(private readonly deps: UpstreamDeps) {}

  async fetch(name: Name, type: number, ctx: WorkContext): Promise<Fetched> {
    const zone = closestServers(this.deps.servers, name);
    if (!zone) return { kind: 'failed', reason: 'no servers for this name' };
    const { log, rtt } = this.deps;
    log.tx(0, type, name, zone.zone, rtt.order(zone.servers).map((s) => s.address));
    const judge: Judge = (message, server) => {
      if (!rcodeUsable(message)) return { use: false, reason: `rcode ${message.rcode} from ${server.address}` };
      const v = classify(message, name, type, zone.zone);
      if (v.kind === 'referral' || v.kind === 'lame') {
        log.ignoredReferral(server.address, zone.zone, v.kind === 'referral' ? v.zone : v.referral);
        return { use: false, reason: 'referral from a forwarder' };
      }
      return { use: true };
    };
    const result = await askServers(zone.servers, { name, type, rd: true }, {
      sendFrom: this.deps.sendFrom,
      random: this.deps.random,
      rtt,
      deadline: ctx.budget.deadline,
      mayTry: () => ctx.budget.take(),
      onTry: this.deps.onUpstreamQuery,
    }, judge);
    if (result.kind === 'failed') return result;
    const server = result.server.address;
    learn(this.deps, result.message, zone.zone, server);
    const verdict = classify(result.message, name, type, zone.zone);
    // dnscache prints `stats` after answers and NODATA, not after CNAMEs or NXDOMAIN.
    if (verdict.kind !== 'cname' && verdict.kind !== 'nxdomain') this.deps.afterResponse();
    return { kind: 'verdict', verdict, server };
  }
}
