// Iterative resolution (spec §5.3-5.6): start at the closest servers/ entry
// or cached delegation point (delegation.ts), ask with RD=0, follow
// referrals down. When the servers of a point fail - their addresses
// expired, dead, lame or wrong - go back up to the point above and ask it
// again: the parent's referral brings its own NS names and fresh glue
// (Unbound's parent-side fallback), so one expired address record cannot
// take a whole zone down. Names are minimised on the way down (RFC 9156)
// unless QMIN=0. Servers whose NS names carry a DNSCurve key (uz5.ts) are
// asked through DNSCurve.

import { isLoopback } from '../config/address';
import { Endpoint } from '../transport/udp';
import { askServers, CurveOptions, UpstreamOptions, UpstreamServer } from '../transport/upstream';
import { ANSWERABLE } from '../cache/cache';
import { CLASS, TYPE } from '../wire/constants';
import { ResourceRecord } from '../wire/message';
import { Answer } from '../wire/answer';
import { isAtOrBelow, Name, nameToBuffer, parentName } from '../wire/name';
import { childContext, inLineage, MAX_GLUELESS_DEPTH, MAX_NS_LOOKUPS_PER_REFERRAL, WorkContext } from './budget';
import { addressesFrom, closestPoint, DelegationPoint, knownAddresses, NO_GLUE, referralPoint } from './delegation';
import { accepted, upstreamOptions, UpstreamDeps, verdictJudge } from './forward';
import { MinimiseState } from './qmin';
import { dnameTarget, ScrubbedReply } from './scrub';
import { Fetched, Fetcher } from './resolver';
import { curveKeyOf, qualify, ServerFlag, withCurveKey } from './uz5';
import { formatFor } from '../transport/curve/client';
import { TxMode } from '../log/log';

/** Referrals (and steps back up) followed for one question before we call it a loop. */
const MAX_REFERRALS = 24;

export interface IterateDeps extends UpstreamDeps {
  /** Port for servers learned from NS records (53; the lab uses another). */
  readonly serverPort: number;
  /** Resolves a name server's address records as a sub-resolution of `ctx`. */
  readonly subResolve: (name: Name, type: number, ctx: WorkContext) => Promise<Answer>;
  /** QNAME minimisation (RFC 9156, relaxed): on unless QMIN=0. */
  readonly qmin: boolean;
  /**
   * QUERY_LOCALHOST: false never asks 127.0.0.0/8 or ::1 at an address
   * learned from the DNS (Unbound's do-not-query-localhost): a delegation
   * to loopback is someone else's trick. servers/ entries are the
   * operator's own word and are asked wherever they are.
   */
  readonly queryLocalhost: boolean;
  /** DNSCurve towards servers with uz5 names (USETEXTFORMAT, UZ5FALLBACK); null: every query plain. */
  readonly curve?: CurveOptions | null;
  /** FLAGEDSERVER: what ip/ says of a server's address; null when not set. */
  readonly serverFlag?: ((address: string) => ServerFlag) | null;
}

/** Servers that failed one question (all of a point's, together): not asked it again when a referral names them again. */
type Failed = Set<string>;

/** A verdict made from the cache has no reply behind it. */
const NOTHING_TO_LEARN: ScrubbedReply = {
  rcode: 0,
  aa: false,
  answer: [],
  authority: [],
  additional: [],
  strayNs: null,
};

function key(s: Endpoint): string {
  return `${s.address}#${s.port}`;
}

export class IterativeFetcher implements Fetcher {
  private readonly options: UpstreamOptions;

  constructor(private readonly deps: IterateDeps) {
    this.options = { ...upstreamOptions(deps), curve: deps.curve ?? null };
  }

  async fetch(name: Name, type: number, ctx: WorkContext): Promise<Fetched> {
    const { cache, servers, log } = this.deps;
    // DS records live on the parent side of a zone cut.
    const from = type === TYPE.DS && name.length > 1 ? parentName(name) : name;
    let point = closestPoint(cache, servers, from);
    if (!point) return { kind: 'failed', reason: 'no servers for this name (servers/@ missing)' };
    if (point.kind === 'ns') for (const ns of point.ns) log.cachedNs(point.zone, ns.name);
    const synthesised = this.fromCachedDname(name, point.zone);
    if (synthesised !== null) return synthesised;
    const failed: Failed = new Set();
    /** Zones whose servers failed us once already: we went back above them, and do not again. */
    let climbed: Set<Name> | null = null;
    const qmin = new MinimiseState(this.deps.qmin && type !== TYPE.DS);
    for (let moves = 0; moves < MAX_REFERRALS;) {
      const [askName, askType] = qmin.question(name, type, point.zone);
      const minimised = askName !== name || askType !== type;
      const asked = await this.askPoint(point, askName, askType, ctx, failed, !minimised);
      if (asked.kind === 'verdict') {
        const v = asked.verdict;
        if (v.kind === 'referral') {
          point = referralPoint(cache, servers, name, v.zone, v.ns, asked.reply.additional, this.deps.serverPort);
          moves++;
          continue;
        }
        if (!minimised) return asked;
        // No zone cut at askName: these servers serve the rest.
        qmin.giveUp();
        continue;
      }
      if (ctx.budget.spent) return { kind: 'failed', reason: ctx.budget.exhaustedBy ?? 'time limit' };
      // A server that fails a minimised question may only fail minimisation (RFC 9156 §2.3): ask in full.
      if (minimised) {
        qmin.giveUp();
        continue;
      }
      if (point.kind === 'fixed' || climbed?.has(point.zone)) return asked;
      const above = closestPoint(cache, servers, point.zone, true);
      if (above === null) return asked;
      (climbed ??= new Set()).add(point.zone);
      point = above;
      moves++;
    }
    return { kind: 'failed', reason: 'too many referrals' };
  }

  /**
   * A CNAME made from a DNAME the cache holds between `name` and its
   * starting zone (RFC 6672 §3.4): the servers would only send the same,
   * and asking them a minimised question below a DNAME owner is asking
   * about names that do not exist there.
   */
  private fromCachedDname(name: Name, zone: Name): Fetched | null {
    if (name === zone) return null;
    for (let owner = parentName(name); ; owner = parentName(owner)) {
      const set = this.deps.cache.getRRset(owner, TYPE.DNAME, ANSWERABLE);
      if (set !== null) {
        const dname: ResourceRecord = {
          name: owner,
          type: TYPE.DNAME,
          class: CLASS.IN,
          ttl: set.ttl,
          rdata: set.rdatas[0]!,
        };
        const target = dnameTarget(name, owner, dname.rdata);
        if (target === null) return null; // too long: the servers say YXDOMAIN
        const record: ResourceRecord = {
          name,
          type: TYPE.CNAME,
          class: CLASS.IN,
          ttl: set.ttl,
          rdata: nameToBuffer(target),
        };
        return {
          kind: 'verdict',
          server: 'cache',
          verdict: { kind: 'cname', target, ttl: set.ttl, record, dname },
          reply: NOTHING_TO_LEARN,
        };
      }
      if (owner === zone || owner.length === 1) return null;
    }
  }

  /**
   * Asks the servers of one delegation point until one gives a usable reply.
   * Known addresses go first; NS names without addresses are resolved one
   * at a time only when those run out, at most MAX_NS_LOOKUPS_PER_REFERRAL,
   * and never a name inside the point's own zone: only the parent's glue
   * can reach those, and the caller goes back up for it. When every server
   * failed, they join `failed` if `remember` (a minimised question's
   * failure says nothing of its servers).
   */
  private async askPoint(
    point: DelegationPoint,
    name: Name,
    type: number,
    ctx: WorkContext,
    failed: Failed,
    remember: boolean,
  ): Promise<Fetched> {
    const { log } = this.deps;
    const tried = new Set<string>();
    const unresolved: Name[] = [];
    let candidates: UpstreamServer[];
    if (point.kind === 'fixed') candidates = [...point.servers];
    else {
      candidates = [];
      for (const ns of point.ns) {
        const known = knownAddresses(this.deps.cache, point.glue, ns.name, this.deps.serverPort);
        if (known.length > 0) candidates.push(...withCurveKey(known, curveKeyOf(ns.name)));
        else if (!isAtOrBelow(ns.name, point.zone)) unresolved.push(ns.name);
      }
    }
    let lookups = 0;
    let lastReason = 'no addresses for any name server';
    for (;;) {
      const fresh = this.qualified(
        dedupe(
          candidates.filter(
            (s) =>
              !tried.has(key(s)) &&
              !failed.has(key(s)) &&
              (point.kind === 'fixed' || this.deps.queryLocalhost || !isLoopback(s.address)),
          ),
        ),
      );
      if (fresh.length > 0) {
        for (const s of fresh) tried.add(key(s));
        this.logTx(ctx.depth, type, name, point.zone, fresh);
        // With other servers to turn to, a silent one costs one timeout; a zone's
        // only server gets a second, longer try in case a packet was lost.
        const rounds = fresh.length > 1 ? 1 : 2;
        const judge = verdictJudge(this.deps, name, type, point.zone, false);
        const onFallback = (s: UpstreamServer): void =>
          log.tx(ctx.depth, type, name, point.zone, [s.address], 'fallback');
        const result = await askServers(
          fresh,
          { name, type, rd: false, zone: point.zone },
          this.options,
          ctx.budget,
          judge,
          rounds,
          { onFallback },
        );
        if (result.kind === 'response') return accepted(this.deps, result.value, result.server, name, type);
        lastReason = result.reason;
      }
      if (ctx.budget.spent) return { kind: 'failed', reason: ctx.budget.exhaustedBy ?? 'time limit' };
      const ns = unresolved.shift();
      if (ns === undefined || lookups >= MAX_NS_LOOKUPS_PER_REFERRAL) {
        if (remember) for (const k of tried) failed.add(k);
        return { kind: 'failed', reason: lastReason };
      }
      lookups++;
      // What the lookup found, and the parent's glue it may have brought along.
      candidates = withCurveKey(
        [...(await this.nsAddresses(ns, ctx)), ...knownAddresses(this.deps.cache, NO_GLUE, ns, this.deps.serverPort)],
        curveKeyOf(ns),
      );
    }
  }

  /** Servers as FLAGEDSERVER's ip/ entries and their keys allow. */
  private qualified(servers: UpstreamServer[]): UpstreamServer[] {
    const curve = this.deps.curve;
    const flag = this.deps.serverFlag ?? null;
    if (!curve && flag === null) return servers;
    return qualify(servers, flag, (k) => curve?.client.usable(k) ?? false);
  }

  /**
   * The tx lines for asking `servers`: one for those asked through DNSCurve
   * (its format), one for those asked plainly, in the order they are asked.
   */
  private logTx(depth: number, type: number, name: Name, zone: Name, servers: readonly UpstreamServer[]): void {
    const { log, rtt } = this.deps;
    const ordered = rtt.order(servers);
    const curve = this.deps.curve;
    const sealed = curve ? ordered.filter((s) => s.curveKey) : [];
    const mode: TxMode = curve && formatFor(curve.format, name, zone) === 'txt' ? 'txt' : 'streamlined';
    if (sealed.length > 0)
      log.tx(
        depth,
        type,
        name,
        zone,
        sealed.map((s) => s.address),
        mode,
      );
    if (sealed.length < ordered.length)
      log.tx(
        depth,
        type,
        name,
        zone,
        (sealed.length > 0 ? ordered.filter((s) => !s.curveKey) : ordered).map((s) => s.address),
        'plain',
      );
  }

  /**
   * Looks up a glueless name server's addresses one level deeper: A first,
   * AAAA only when there is no A (an IPv6-only server), within the glueless
   * depth limit and never a lookup this one is nested in (the client's own
   * question included): that would wait for itself.
   */
  private async nsAddresses(ns: Name, ctx: WorkContext): Promise<Endpoint[]> {
    if (ctx.depth + 1 > MAX_GLUELESS_DEPTH) return [];
    for (const [type, family] of [
      [TYPE.A, 4],
      [TYPE.AAAA, 6],
    ] as const) {
      const key = type + '/' + ns;
      if (inLineage(ctx, key)) continue;
      const answer = await this.deps.subResolve(ns, type, childContext(ctx, key));
      const rdatas = answer.answer.filter((r) => r.type === type).map((r) => r.rdata);
      const found = addressesFrom(
        rdatas.filter((r) => r.length === (family === 4 ? 4 : 16)),
        family,
        this.deps.serverPort,
      );
      if (found.length > 0) return found;
      if (ctx.budget.spent) break;
    }
    return [];
  }
}

/** One entry per address; where two NS names share one, the one with a DNSCurve key. */
function dedupe(servers: UpstreamServer[]): UpstreamServer[] {
  const seen = new Map<string, number>();
  const out: UpstreamServer[] = [];
  for (const s of servers) {
    const at = seen.get(key(s));
    if (at === undefined) {
      seen.set(key(s), out.length);
      out.push(s);
    } else if (s.curveKey && !out[at]!.curveKey) out[at] = s;
  }
  return out;
}
