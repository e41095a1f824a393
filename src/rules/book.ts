// The abuse rules in force, and the verdict on one question: rules/ files
// (one action per suffix, swapped whole on reload), rules added through the
// control socket (with an expiry), and the action of the ip/ file that
// admitted the client (ClientRule, decided once per address by the ACL).
// The closest suffix wins; a client's rule is applied first. Runs on every
// packet, hits included: no allocation unless a rule matches, a Map lookup
// per label of the name only at suffix lengths some rule has.

import { Name } from '../wire/name';
import { RuleAction } from './action';
import { RateLimiter } from './limiter';

/** What the engine does with a question: answer it as usual, or what instead. Numbers, so the hot path allocates nothing. */
export const PASS = 0;
export const DROP = 1;
export const REFUSE = 2;
export const NXDOMAIN = 3;
export const TRUNCATE = 4;
export type Verdict = typeof PASS | typeof DROP | typeof REFUSE | typeof NXDOMAIN | typeof TRUNCATE;
export const VERDICT_NAMES = ['pass', 'drop', 'refuse', 'nxdomain', 'truncate'] as const;

/** At most this many rules/ files are read (a reload with more is refused). */
export const MAX_FILE_RULES = 100_000;
/** At most this many rules added through the control socket are in force at once. */
export const MAX_CONTROL_RULES = 10_000;

/** The action of the ip/ file that admitted a client, with its own rate limiter (qps is per client address). */
export interface ClientRule {
  readonly action: RuleAction;
  readonly limiter: RateLimiter | null;
}

export interface SuffixRule {
  readonly zone: Name;
  readonly action: RuleAction;
  readonly limiter: RateLimiter | null;
  /** `rules/` file, or added through the control socket. */
  readonly source: 'file' | 'control';
  /** When a control rule ends (the book's clock, ms); Infinity: never. */
  readonly expires: number;
}

function limiterFor(action: RuleAction, now: number): RateLimiter | null {
  return action.kind === 'qps' ? new RateLimiter(action.limit, now) : null;
}

/** An action applied to one question: its verdict (`qps`: PASS within the rate, DROP over it). */
function verdictOf(action: RuleAction, limiter: RateLimiter | null, udp: boolean, now: () => number): Verdict {
  switch (action.kind) {
    case 'drop':
      return DROP;
    case 'refuse':
      return REFUSE;
    case 'nxdomain':
      return NXDOMAIN;
    case 'truncate':
      return udp ? TRUNCATE : PASS;
    case 'qps':
      return limiter!.take(now()) ? PASS : DROP;
  }
}

/** A client rule for a qps action gets its own limiter; other actions need none. */
export function clientRule(action: RuleAction, now: number): ClientRule {
  return { action, limiter: limiterFor(action, now) };
}

export class RuleBook {
  private files: ReadonlyMap<Name, SuffixRule> = new Map();
  private readonly control = new Map<Name, SuffixRule>();
  /** How many rules (of both kinds) have a suffix of each wire length: only those lengths are looked up. */
  private readonly lengths = new Uint32Array(256);
  private total = 0;
  /** Questions given each verdict by a rule (index: Verdict; PASS counts those a qps rule let through). */
  readonly counters = new Float64Array(VERDICT_NAMES.length);

  /** `now`: milliseconds, injectable for tests. */
  constructor(readonly now: () => number = () => performance.now()) {}

  private count(zone: Name, by: number): void {
    this.lengths[zone.length]! += by;
    this.total += by;
  }

  /** The rules/ files read at start or reload replace the previous ones (fresh rate limiters). */
  swapFiles(rules: ReadonlyMap<Name, RuleAction>): void {
    for (const zone of this.files.keys()) this.count(zone, -1);
    const now = this.now();
    const next = new Map<Name, SuffixRule>();
    for (const [zone, action] of rules) next.set(zone, { zone, action, limiter: limiterFor(action, now), source: 'file', expires: Infinity });
    for (const zone of next.keys()) this.count(zone, 1);
    this.files = next;
  }

  /** A control rule for `zone`, replacing any other control rule there; false when MAX_CONTROL_RULES are in force. */
  addControl(zone: Name, action: RuleAction, seconds: number | null): boolean {
    this.expire();
    if (!this.control.has(zone) && this.control.size >= MAX_CONTROL_RULES) return false;
    const now = this.now();
    if (this.control.delete(zone)) this.count(zone, -1);
    this.control.set(zone, { zone, action, limiter: limiterFor(action, now), source: 'control', expires: seconds === null ? Infinity : now + seconds * 1000 });
    this.count(zone, 1);
    return true;
  }

  /** Ends the control rule for `zone`; false when there is none. */
  removeControl(zone: Name): boolean {
    if (!this.control.delete(zone)) return false;
    this.count(zone, -1);
    return true;
  }

  /** Drops the control rules whose time is up. */
  expire(): void {
    const now = this.now();
    for (const [zone, r] of this.control) if (r.expires <= now) this.removeControl(zone);
  }

  /** Every rule in force: control rules (which take precedence at the same suffix) and files. */
  list(): SuffixRule[] {
    this.expire();
    return [...this.control.values(), ...[...this.files.values()].filter((r) => !this.control.has(r.zone))];
  }

  get size(): number {
    return this.total;
  }

  /** The rule of the closest suffix of `qname` that has one, or null. */
  match(qname: Name): SuffixRule | null {
    const length = qname.length;
    for (let off = 0; off < length; off += qname.charCodeAt(off) + 1) {
      if (this.lengths[length - off] === 0) continue;
      const zone = (off === 0 ? qname : qname.slice(off)) as Name;
      const own = this.control.get(zone);
      if (own !== undefined) {
        if (own.expires > this.now()) return own;
        this.removeControl(zone);
      }
      const file = this.files.get(zone);
      if (file !== undefined) return file;
    }
    return null;
  }

  /**
   * The verdict on a question for `qname` from a client whose ip/ file says
   * `client` (null: nothing), arrived over UDP (`udp`) or TCP.
   */
  check(qname: Name, client: ClientRule | null, udp: boolean): Verdict {
    if (client !== null) {
      const v = verdictOf(client.action, client.limiter, udp, this.now);
      this.counters[v]!++;
      if (v !== PASS) return v;
    }
    if (this.total === 0) return PASS;
    const rule = this.match(qname);
    if (rule === null) return PASS;
    const v = verdictOf(rule.action, rule.limiter, udp, this.now);
    this.counters[v]!++;
    return v;
  }
}
