// Iterative resolution (spec §5.3-5.6): start at the closest enclosing
// servers/ entry or cached delegation, ask with RD=0, follow referrals down.
// Name-server addresses come from bailiwick-checked glue in the cache, or -
// for glueless delegations - from sub-resolutions, looked up lazily, one NS
// name at a time, only when the addresses we already have are exhausted.

import ipaddr from 'ipaddr.js';
import { localAddress } from '../local/local';
import { Endpoint } from '../transport/udp';
import { askServers, UpstreamOptions } from '../transport/upstream';
import { TYPE } from '../wire/constants';
import { isAtOrBelow, Name, parentName, readName } from '../wire/name';
import { Answer } from '../wire/answer';
import { childContext, MAX_GLUELESS_DEPTH, MAX_NS_LOOKUPS_PER_REFERRAL, WorkContext } from './budget';
import { accepted, upstreamOptions, UpstreamDeps, verdictJudge } from './forward';
import { Fetched, Fetcher } from './resolver';
import { closestServers } from './zones';

/** Referrals followed for one question before we call it a loop. */
const MAX_REFERRALS = 24;

/** Where to ask next: a zone and either its fixed servers (servers/) or its NS names. */
interface ZoneCut {
  readonly zone: Name;
  readonly servers: readonly Endpoint[];
  readonly ns: readonly Name[];
}

export interface IterateDeps extends UpstreamDeps {
  /** Port for servers learned from NS records (53; the lab uses another). */
  readonly serverPort: number;
  /** Resolves a name server's address records as a sub-resolution of `ctx`. */
  readonly subResolve: (name: Name, type: number, ctx: WorkContext) => Promise<Answer>;
}

function endpoint(address: string, family: 4 | 6, port: number): Endpoint {
  return { address, port, family };
}

/** Addresses from A/AAAA RDATA. */
export function addressesFrom(rdatas: readonly Buffer[], family: 4 | 6, port: number): Endpoint[] {
  return rdatas.map((r) => endpoint(ipaddr.fromByteArray([...r]).toString(), family, port));
}

export class IterativeFetcher implements Fetcher {
  private readonly options: UpstreamOptions;

  constructor(private readonly deps: IterateDeps) {
    this.options = upstreamOptions(deps);
  }

  /** The closest servers/ entry or cached delegation at or above where `name` lives. */
  private startingCut(name: Name, type: number): ZoneCut | null {
    const { servers, cache, log } = this.deps;
    // DS records live on the parent side of a zone cut.
    let z = type === TYPE.DS && name.length > 1 ? parentName(name) : name;
    for (;;) {
      const fixed = servers.get(z);
      if (fixed) return { zone: z, servers: fixed, ns: [] };
      const cached = cache.getRRset(z, TYPE.NS);
      if (cached) {
        const ns = cached.rdatas.map((r) => readName(r, 0).name);
        for (const n of ns) log.cachedNs(z, n);
        return { zone: z, servers: [], ns };
      }
      if (z.length === 1) return null;
      z = parentName(z);
    }
  }

  /** After a referral to `zone`: a servers/ entry at or below it takes precedence. */
  private cutAfterReferral(name: Name, zone: Name, ns: readonly Name[]): ZoneCut {
    const fixed = closestServers(this.deps.servers, name);
    if (fixed && isAtOrBelow(fixed.zone, zone)) return { zone: fixed.zone, servers: fixed.servers, ns: [] };
    return { zone, servers: [], ns };
  }

  /** Addresses for NS names that we can have without asking anyone. */
  private knownAddresses(ns: Name): Endpoint[] {
    const port = this.deps.serverPort;
    const local = localAddress(ns);
    if (local) return [endpoint(local, 4, port)];
    const out: Endpoint[] = [];
    const a = this.deps.cache.getRRset(ns, TYPE.A);
    if (a) out.push(...addressesFrom(a.rdatas, 4, port));
    const aaaa = this.deps.cache.getRRset(ns, TYPE.AAAA);
    if (aaaa) out.push(...addressesFrom(aaaa.rdatas, 6, port));
    return out;
  }

  async fetch(name: Name, type: number, ctx: WorkContext): Promise<Fetched> {
    let cut = this.startingCut(name, type);
    if (!cut) return { kind: 'failed', reason: 'no servers for this name (servers/@ missing)' };
    for (let referrals = 0; referrals < MAX_REFERRALS; referrals++) {
      const asked = await this.askZone(cut, name, type, ctx);
      if (asked.kind === 'failed') return asked;
      if (asked.verdict.kind !== 'referral') return asked;
      cut = this.cutAfterReferral(name, asked.verdict.zone, asked.verdict.ns);
    }
    return { kind: 'failed', reason: 'too many referrals' };
  }

  /**
   * Asks the servers of one zone cut until one gives a usable reply. Glue and
   * cached addresses go first; NS names without addresses are resolved one
   * at a time only when those run out, at most MAX_NS_LOOKUPS_PER_REFERRAL.
   */
  private async askZone(cut: ZoneCut, name: Name, type: number, ctx: WorkContext): Promise<Fetched> {
    const { log, rtt } = this.deps;
    const tried = new Set<string>();
    const unresolved: Name[] = [];
    let candidates: Endpoint[] = [...cut.servers];
    for (const ns of cut.ns) {
      const known = this.knownAddresses(ns);
      if (known.length > 0) candidates.push(...known);
      else unresolved.push(ns);
    }
    let lookups = 0;
    let lastReason = 'no addresses for any name server';
    for (;;) {
      const fresh = dedupe(candidates.filter((s) => !tried.has(key(s))));
      if (fresh.length > 0) {
        for (const s of fresh) tried.add(key(s));
        log.tx(ctx.depth, type, name, cut.zone, rtt.order(fresh).map((s) => s.address));
        // With other servers to turn to, a silent one costs one timeout; a zone's
        // only server gets a second, longer try in case a packet was lost.
        const rounds = fresh.length > 1 ? 1 : 2;
        const judge = verdictJudge(this.deps, name, type, cut.zone, false);
        const result = await askServers(fresh, { name, type, rd: false }, this.options, ctx.budget, judge, rounds);
        if (result.kind === 'response') return accepted(this.deps, result.message, result.value, cut.zone, result.server);
        lastReason = result.reason;
      }
      if (ctx.budget.spent) return { kind: 'failed', reason: ctx.budget.exhaustedBy ?? 'time limit' };
      const ns = unresolved.shift();
      if (ns === undefined || lookups >= MAX_NS_LOOKUPS_PER_REFERRAL) return { kind: 'failed', reason: lastReason };
      lookups++;
      candidates = await this.nsAddresses(ns, ctx);
    }
  }

  /**
   * Looks up a glueless name server's addresses one level deeper: A first,
   * AAAA only when there is no A (an IPv6-only server), within the glueless
   * depth limit and never re-entering a lookup we are already nested in.
   */
  private async nsAddresses(ns: Name, ctx: WorkContext): Promise<Endpoint[]> {
    if (ctx.depth + 1 > MAX_GLUELESS_DEPTH) return [];
    for (const [type, family] of [[TYPE.A, 4], [TYPE.AAAA, 6]] as const) {
      const key = type + '/' + ns;
      if (ctx.ancestors.has(key)) continue;
      const answer = await this.deps.subResolve(ns, type, childContext(ctx, key));
      const rdatas = answer.answer.filter((r) => r.type === type).map((r) => r.rdata);
      const found = addressesFrom(rdatas.filter((r) => r.length === (family === 4 ? 4 : 16)), family, this.deps.serverPort);
      if (found.length > 0) return found;
      if (ctx.budget.spent) break;
    }
    return [];
  }
}

function key(s: Endpoint): string {
  return `${s.address}#${s.port}`;
}

function dedupe(servers: Endpoint[]): Endpoint[] {
  const seen = new Set<string>();
  return servers.filter((s) => !seen.has(key(s)) && (seen.add(key(s)), true));
}
