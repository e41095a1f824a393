// Resolution of one (name, type): local names, the cache, then upstream,
// following CNAMEs; one resolution in flight per (name, type), later askers
// join it. How upstream is asked (routes, iteration or forwarding) is the
// Fetcher's business; this loop only turns verdicts into answers and cache
// entries, and adds serve-stale and prefetch around them.

import { Cache, STALE_TTL, StoredRecord } from '../cache/cache';
import { localAnswer } from '../local/local';
import { Log } from '../log/log';
import type { Clock } from '../platform/clock';
import { Answer, servfail } from '../wire/answer';
import { RCODE, TYPE } from '../wire/constants';
import { ResourceRecord } from '../wire/message';
import { Name, readName } from '../wire/name';
import { OutRecord } from '../wire/writer';
import { ABANDONED, rootContext, WorkBudget, WorkContext } from './budget';
import { Verdict } from './classify';
import { ScrubbedReply } from './scrub';

/** At most this many CNAMEs in one answer (dnscache's QUERY_MAXALIAS). */
export const MAX_CNAME_CHAIN = 16;
/** How long a failed resolution is remembered (RFC 9520 asks for at least 1 s, at most 5 min). */
export const FAILURE_TTL = 5;

export type Fetched =
  | { readonly kind: 'verdict'; readonly verdict: Verdict; readonly server: string; readonly reply: ScrubbedReply }
  | { readonly kind: 'failed'; readonly reason: string };

/** Gets a verdict for (name, type) from upstream, caching what the reply may teach. */
export interface Fetcher {
  fetch(name: Name, type: number, ctx: WorkContext): Promise<Fetched>;
}

type CacheVerdict =
  | { readonly kind: 'answer'; readonly records: OutRecord[] }
  | { readonly kind: 'cname'; readonly record: OutRecord; readonly target: Name }
  | { readonly kind: 'nxdomain' | 'nodata'; readonly soa: OutRecord | null };

function soaOut(soa: StoredRecord | null, ttl: number): OutRecord | null {
  return soa ? { name: soa.name, type: TYPE.SOA, ttl, rdata: soa.rdata } : null;
}

function lifetimeOf(records: readonly OutRecord[]): number {
  let min = Infinity;
  for (const r of records) if (r.ttl < min) min = r.ttl;
  return min === Infinity ? 0 : min;
}

interface InFlight {
  /** Set as soon as run() returns its promise; only then is the entry put in the table. */
  work: Promise<Answer> | null;
  /** The work has ended (run() may end before it returns its promise: everything cached). */
  ended: boolean;
  /** The budget the work runs on: aborting it stops its upstream traffic. */
  readonly budget: WorkBudget;
  /** Clients waiting for it (counted by resolve(), uncounted by abandon()). */
  waiters: number;
}

function untilDeadline(work: Promise<Answer>, budget: WorkBudget, clock: Clock): Promise<Answer> {
  return new Promise((resolve) => {
    const timer = clock.after(Math.max(0, budget.remainingMs()), () => resolve(servfail()));
    work.then(
      (answer) => {
        timer.cancel();
        resolve(answer);
      },
      () => {
        timer.cancel();
        resolve(servfail());
      },
    );
  });
}

export interface ResolverCounters {
  /** Client questions that joined a resolution already in flight. */
  merged: number;
  /** Client questions answered with stale data (serve-stale) because resolution failed. */
  stale: number;
  /** Cached answers refreshed in the background before they expired (prefetch). */
  prefetches: number;
}

/** Prefetches that may run at once (each holds at most one upstream socket). */
export const MAX_PREFETCHES = 1000;

/**
 * Is a failure worth remembering for the name (RFC 9520)? Running out of
 * queries or time is, for the client's own question: asking again at once
 * would spend the same 50 queries again. Not for a lookup nested in it - the
 * question may have spent its budget elsewhere, and the name server's name
 * is someone else's answer too - nor when the client left (the work was
 * stopped, not failed).
 */
function failureSaysSomething(ctx: WorkContext): boolean {
  const why = ctx.budget.exhaustedBy;
  if (why === ABANDONED) return false;
  return ctx.depth === 0 || (why === null && !ctx.budget.spent);
}

/** How long a client waits for a fresh answer before it gets the stale one (RFC 8767 §5 suggests 1.8 s). */
export const CLIENT_RESPONSE_MS = 1800;

/** Background retries of names served stale that may wait at once (each holds a timer and a key). */
export const MAX_STALE_RETRIES = 1000;

/** CNAMEs followed so far (a DNAME comes with the CNAME made from it, and is not counted apart). */
function aliases(chain: readonly OutRecord[]): number {
  let n = 0;
  for (const r of chain) if (r.type === TYPE.CNAME) n++;
  return n;
}

function visited(chain: readonly OutRecord[], name: Name): boolean {
  for (const r of chain) if (r.type === TYPE.CNAME && r.name === name) return true;
  return false;
}

export class Resolver {
  private readonly inflight = new Map<string, InFlight>();
  readonly counters: ResolverCounters = { merged: 0, stale: 0, prefetches: 0 };
  /** Keys of the prefetches running. */
  private readonly prefetching = new Set<string>();
  /** Keys of the names served stale whose retry waits or runs (retryLater). */
  private readonly retries = new Set<string>();

  /**
   * `clock`: what work budgets, serve-stale's timers, the client response
   * timer and the background retries run on (the service's, platform/clock.ts).
   */
  constructor(
    private readonly cache: Cache,
    private readonly fetcher: Fetcher,
    private readonly log: Log,
    private readonly clock: Clock,
  ) {}

  /** A fresh client question's context: its own budget, from now. */
  private rootContext(key: string): WorkContext {
    return rootContext(key, WorkBudget.start(this.clock));
  }

  /** Serve-stale's timers wait in the background: they are no reason to keep the process running. */
  private later(run: () => void, ms: number): void {
    this.clock.after(ms, run).unref();
  }

  /**
   * Resolves a client's (name, type) with a fresh work budget. Each call
   * counts as a waiter; a caller that stops waiting (its client was dropped)
   * calls abandon(), and when nobody waits any more the work is stopped.
   */
  resolve(name: Name, type: number): Promise<Answer> {
    const key = type + '/' + name;
    const answer = this.resolveIn(name, type, this.rootContext(key), key);
    const entry = this.inflight.get(key);
    if (entry === undefined) return answer; // answered at once, from the cache
    entry.waiters++;
    return this.cache.staleSeconds === 0 ? answer : this.withStaleTimer(answer, name, type);
  }

  /**
   * Prefetch (as Unbound's): a cached answer asked for in the last tenth of
   * its life is asked upstream again in the background, so the cache has it
   * fresh before it expires and a popular name never makes a client wait.
   * Once per name at a time, at most MAX_PREFETCHES at once; nobody waits
   * for it, so it runs on its own budget to the end.
   */
  prefetch(name: Name, type: number): void {
    const key = type + '/' + name;
    if (this.prefetching.has(key) || this.prefetching.size >= MAX_PREFETCHES || this.inflight.has(key)) return;
    this.prefetching.add(key);
    this.counters.prefetches++;
    const done = (): void => {
      this.prefetching.delete(key);
    };
    this.resolveIn(name, type, this.rootContext(key), key, true).then(done, done);
  }

  /** One client of resolve(name, type) no longer waits; the last one out stops the work. */
  abandon(name: Name, type: number): void {
    const entry = this.inflight.get(type + '/' + name);
    if (entry && --entry.waiters <= 0) entry.budget.abort(ABANDONED);
  }

  /**
   * Resolves (name, type) as part of `ctx` (a client question or one of its
   * sub-resolutions), sharing the work with an identical resolution in
   * flight. A sub-resolution that joins someone else's waits no longer than
   * its own deadline: two questions whose glueless delegations need each
   * other must not wait on each other forever.
   */
  resolveIn(
    name: Name,
    type: number,
    ctx: WorkContext,
    key: string = type + '/' + name,
    refresh = false,
  ): Promise<Answer> {
    const running = this.inflight.get(key);
    if (running) {
      this.counters.merged++;
      return ctx.depth === 0 ? running.work! : untilDeadline(running.work!, ctx.budget, this.clock);
    }
    // A sub-resolution is waited for by the question that started it (and
    // stops with its budget); only client questions count waiters.
    const entry: InFlight = { work: null, ended: false, budget: ctx.budget, waiters: ctx.depth === 0 ? 0 : 1 };
    // run() takes the entry out when it ends: a then() here to do it cost a
    // promise, a reaction and three closures per miss, held while it waits.
    const work = this.run(name, type, ctx, key, entry, refresh);
    entry.work = work;
    if (!entry.ended) this.inflight.set(key, entry);
    return work;
  }

  /** A record from a fresh reply as the answer shows it: with the TTL the cache keeps its RRset for (MINTTL, MAXTTL). */
  private toOut(rr: ResourceRecord): OutRecord {
    return { name: rr.name, type: rr.type, ttl: this.cache.rrsetTtl(rr.ttl), rdata: rr.rdata };
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /**
   * What the cache says of (name, type); with `stale`, from entries expired
   * within STALE too (serve-stale). `quiet`: a look, not an answer - no
   * `cached` log lines.
   */
  private fromCache(name: Name, type: number, stale = false, quiet = false): CacheVerdict | null {
    const nx = this.cache.getNxdomain(name, stale);
    if (nx) {
      if (!quiet) this.log.cachedNxdomain(name);
      return { kind: 'nxdomain', soa: soaOut(nx.soa, nx.ttl) };
    }
    if (type !== TYPE.CNAME) {
      const c = this.cache.getTyped(name, TYPE.CNAME, stale);
      if (c !== null && c.kind === 'rrset') {
        const target = readName(c.rdatas[0]!, 0).name;
        if (!quiet) this.log.cachedCname(name, target);
        return { kind: 'cname', target, record: { name, type: TYPE.CNAME, ttl: c.ttl, rdata: c.rdatas[0]! } };
      }
    }
    // ANY is always asked upstream: the cache may hold only some of the types.
    if (type === TYPE.ANY) return null;
    const hit = this.cache.getTyped(name, type, stale);
    if (hit === null) return null;
    if (!quiet) this.log.cached(type, name);
    if (hit.kind === 'nodata') return { kind: 'nodata', soa: soaOut(hit.soa, hit.ttl) };
    return { kind: 'answer', records: hit.rdatas.map((rdata) => ({ name, type, ttl: hit.ttl, rdata })) };
  }

  /**
   * Resolves (qname, qtype): the cache, then upstream, following CNAMEs;
   * then takes `entry`, its in-flight entry under `key`, out.
   */
  private async run(
    qname: Name,
    qtype: number,
    ctx: WorkContext,
    key: string,
    entry: InFlight,
    refresh = false,
  ): Promise<Answer> {
    try {
      const chain: OutRecord[] = [];
      let name = qname;
      for (;;) {
        // The names visited so far are the owners of the CNAMEs followed.
        if (aliases(chain) > MAX_CNAME_CHAIN) return servfail();
        // A loop is an error the client should see as one (RFC 1034 §3.6.2): SERVFAIL, with the chain that loops.
        if (visited(chain, name)) return { ...servfail(), answer: chain };
        if (name !== qname) {
          // A CNAME may lead to an internal name (localhost and friends).
          const local = localAnswer(name, qtype);
          if (local) return { ...local, answer: [...chain, ...local.answer], lifetime: 0 };
        }
        // A refresh (prefetch) asks upstream about the name itself even though the cache still has it.
        const cached = refresh && name === qname ? null : this.fromCache(name, qtype);
        if (cached) {
          if (cached.kind === 'cname') {
            chain.push(cached.record);
            name = cached.target;
            continue;
          }
          return this.finish(cached, chain);
        }
        if (this.cache.hasFailure(name, qtype)) return refresh ? servfail() : this.staleOr(qname, qtype, ctx, key);
        const fetched = await this.fetcher.fetch(name, qtype, ctx);
        if (fetched.kind === 'failed') {
          this.log.servfail(name, fetched.reason);
          if (failureSaysSomething(ctx)) this.cache.putFailure(name, qtype, FAILURE_TTL);
          return refresh ? servfail() : this.staleOr(qname, qtype, ctx, key);
        }
        const v = fetched.verdict;
        switch (v.kind) {
          case 'cname':
            // One DNAME can stand above several names of a chain (x. DNAME . makes a.x.x -> a.x -> a.): sent once.
            if (v.dname !== null && !chain.some((r) => r.type === TYPE.DNAME && r.name === v.dname!.name))
              chain.push(this.toOut(v.dname));
            chain.push({ ...this.toOut(v.record), ttl: this.cache.rrsetTtl(v.ttl) });
            name = v.target;
            continue;
          case 'answer':
            return this.finish({ kind: 'answer', records: v.records.map((rr) => this.toOut(rr)) }, chain);
          case 'nxdomain':
            this.cache.putNxdomain(name, v.negativeTtl, v.soa);
            return this.finish(
              {
                kind: 'nxdomain',
                soa: v.soa ? { ...this.toOut(v.soa), ttl: this.cache.negativeTtl(v.negativeTtl) } : null,
              },
              chain,
            );
          case 'nodata':
            if (qtype !== TYPE.ANY) this.cache.putNodata(name, qtype, v.negativeTtl, v.soa);
            return this.finish(
              {
                kind: 'nodata',
                soa: v.soa ? { ...this.toOut(v.soa), ttl: this.cache.negativeTtl(v.negativeTtl) } : null,
              },
              chain,
            );
          case 'yxdomain':
            // Not cached: it says only that this DNAME cannot be applied to this name.
            return {
              rcode: RCODE.YXDOMAIN,
              answer: [...chain, this.toOut(v.dname)],
              authority: [],
              aa: false,
              lifetime: 0,
            };
          case 'referral':
          case 'lame':
            // The fetcher resolves referrals itself; one that reaches us is a failure.
            return servfail();
        }
      }
    } finally {
      entry.ended = true;
      if (this.inflight.get(key) === entry) this.inflight.delete(key);
    }
  }

  /**
   * Serve-stale (RFC 8767): when a client's question cannot be resolved,
   * the answer the cache had before it expired - within STALE - with TTL
   * STALE_TTL (the reply is kept that long too), and a retry in the
   * background once that time is up; else SERVFAIL. Sub-resolutions fail
   * plainly (a stale name-server address is no answer to anyone), and so
   * does a prefetch (what it refreshes has not expired).
   */
  private staleOr(qname: Name, qtype: number, ctx: WorkContext, key: string): Answer {
    if (ctx.depth !== 0 || this.cache.staleSeconds === 0) return servfail();
    const answer = this.staleAnswer(qname, qtype, false);
    if (answer === null) return servfail();
    this.counters.stale++;
    this.retryLater(qname, qtype, key);
    return answer;
  }

  /** The answer the cache holds for (qname, qtype), stale parts included (TTL STALE_TTL), or null. */
  private staleAnswer(qname: Name, qtype: number, quiet: boolean): Answer | null {
    // Most misses are for names the cache never had: one look, nothing made.
    let cached = this.fromCache(qname, qtype, true, quiet);
    if (cached === null) return null;
    const chain: OutRecord[] = [];
    for (;;) {
      if (cached.kind !== 'cname') {
        const answer = this.finish(cached, chain);
        return { ...answer, lifetime: Math.min(answer.lifetime, STALE_TTL), stale: true };
      }
      chain.push(cached.record);
      const name = cached.target;
      if (aliases(chain) > MAX_CNAME_CHAIN || visited(chain, name)) return null;
      cached = this.fromCache(name, qtype, true, quiet);
      if (cached === null) return null;
    }
  }

  /**
   * RFC 8767's client response timer: a client whose question had an answer
   * in the cache before it expired waits at most CLIENT_RESPONSE_MS for a
   * fresh one, then gets the stale one (not kept as a reply: the fresh
   * answer, when it comes, is what the cache then holds). The resolution
   * goes on either way.
   */
  private withStaleTimer(work: Promise<Answer>, name: Name, type: number): Promise<Answer> {
    const stale = this.staleAnswer(name, type, true);
    if (stale === null) return work;
    return new Promise((resolve) => {
      let done = false;
      this.later(() => {
        if (done) return;
        done = true;
        this.counters.stale++;
        resolve({ ...stale, lifetime: 0 });
      }, CLIENT_RESPONSE_MS);
      const settle = (a: Answer): void => {
        if (done) return;
        done = true;
        resolve(a);
      };
      work.then(settle, () => settle(servfail()));
    });
  }

  /**
   * Resolves (name, type) again in the background STALE_TTL from now, once:
   * while a retry waits or runs, serving stale does not start another, and a
   * retry that fails again starts none (the next client asking does). At
   * most MAX_STALE_RETRIES wait at once.
   */
  private retryLater(name: Name, type: number, key: string): void {
    if (this.retries.has(key) || this.retries.size >= MAX_STALE_RETRIES) return;
    this.retries.add(key);
    this.later(() => {
      const done = (): void => {
        this.retries.delete(key);
      };
      this.resolveIn(name, type, this.rootContext(key), key).then(done, done);
    }, STALE_TTL * 1000);
  }

  private finish(v: Exclude<CacheVerdict, { kind: 'cname' }>, chain: OutRecord[]): Answer {
    if (v.kind === 'answer') {
      const answer = [...chain, ...v.records];
      return { rcode: RCODE.NOERROR, answer, authority: [], aa: false, lifetime: lifetimeOf(answer) };
    }
    const authority = v.soa ? [v.soa] : [];
    // Without an SOA there is no negative TTL: such a reply is not kept.
    const lifetime = v.soa ? lifetimeOf([...chain, v.soa]) : 0;
    const nx = v.kind === 'nxdomain';
    return { rcode: nx ? RCODE.NXDOMAIN : RCODE.NOERROR, answer: chain, authority, aa: nx, lifetime };
  }
}
