// The abuse rules in force, and the verdict on one question: rules/ files
// (one action per suffix, swapped whole on reload), rules added through the
// control socket (with an expiry), and the action of the ip/ file that
// admitted the client (ClientRule, decided once per address by the ACL).
// The closest suffix wins; a client's rule is applied first. Runs on every
// packet, hits included: no allocation unless a rule matches, a Map lookup
// per label of the name only at suffix lengths some rule has.

import { realClock } from '../platform/clock';
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

/** A rule for clients whose address starts with a prefix (ip/ syntax: `192.0.2`, `2001:db8`), added through the control socket. */
export interface PrefixRule {
  readonly prefix: string;
  readonly action: RuleAction;
  readonly expires: number;
}

const HASH_SEED = 0x811c9dc5 | 0;
const HASH_PRIME = 16777619;
/** Label start offsets of the name being matched (a name has at most 127 labels). */
const OFFSETS = new Int32Array(128);

const SMI_MASK = 0x3fffffff;

/** FNV-1a over a name's bytes from its end, cut to 30 bits: match() computes the same for each suffix of a question. */
function suffixHash(zone: Name): number {
  let h = HASH_SEED;
  for (let i = zone.length - 1; i >= 0; i--) h = Math.imul(h ^ zone.charCodeAt(i), HASH_PRIME);
  return h & SMI_MASK;
}

export class RuleBook {
  private files: ReadonlyMap<Name, SuffixRule> = new Map();
  private readonly control = new Map<Name, SuffixRule>();
  private readonly prefixes = new Map<string, PrefixRule>();
  /** Changes whenever the prefix rules change (added, removed, expired): the ACL forgets its per-address decisions then. */
  prefixVersion = 0;
  /** When the first prefix rule expires (ms; Infinity: none will). */
  private nextPrefixExpiry = Infinity;
  /** How many rules (of both kinds) have a suffix of each wire length: only those lengths are looked up. */
  private readonly lengths = new Uint32Array(256);
  private total = 0;
  /** Questions given each verdict by a rule (index: Verdict; PASS counts those a qps rule let through, and truncate's over TCP). */
  readonly counters = new Float64Array(VERDICT_NAMES.length);

  /** `now`: milliseconds, the service's clock (platform/clock.ts). */
  constructor(readonly now: () => number = () => realClock.now()) {}

  /** Zones with a rule (of either kind), by suffixHash: what match() looks up. */
  private readonly index = new Map<number, Name[]>();

  private count(zone: Name, by: number): void {
    this.lengths[zone.length]! += by;
    this.total += by;
    const h = suffixHash(zone);
    const zones = this.index.get(h);
    const listed = zones !== undefined && zones.includes(zone);
    const wanted = this.control.has(zone) || this.files.has(zone) || by > 0;
    if (wanted && !listed) {
      if (zones === undefined) this.index.set(h, [zone]);
      else zones.push(zone);
    } else if (!wanted && listed) {
      if (zones.length === 1) this.index.delete(h);
      else zones.splice(zones.indexOf(zone), 1);
    }
  }

  /** The rules/ files read at start or reload replace the previous ones (fresh rate limiters). */
  swapFiles(rules: ReadonlyMap<Name, RuleAction>): void {
    const old = this.files;
    this.files = new Map();
    for (const zone of old.keys()) this.count(zone, -1);
    const now = this.now();
    const next = new Map<Name, SuffixRule>();
    for (const [zone, action] of rules)
      next.set(zone, { zone, action, limiter: limiterFor(action, now), source: 'file', expires: Infinity });
    this.files = next;
    for (const zone of next.keys()) this.count(zone, 1);
  }

  /** A control rule for `zone`, replacing any other control rule there; false when MAX_CONTROL_RULES are in force. */
  addControl(zone: Name, action: RuleAction, seconds: number | null): boolean {
    this.expire();
    if (!this.control.has(zone) && this.control.size + this.prefixes.size >= MAX_CONTROL_RULES) return false;
    const now = this.now();
    if (this.control.delete(zone)) this.count(zone, -1);
    this.control.set(zone, {
      zone,
      action,
      limiter: limiterFor(action, now),
      source: 'control',
      expires: seconds === null ? Infinity : now + seconds * 1000,
    });
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
    this.expirePrefixes();
  }

  /** A control rule for clients under `prefix`, replacing any other there; false when MAX_CONTROL_RULES are in force. */
  addPrefix(prefix: string, action: RuleAction, seconds: number | null): boolean {
    this.expire();
    if (!this.prefixes.has(prefix) && this.control.size + this.prefixes.size >= MAX_CONTROL_RULES) return false;
    const expires = seconds === null ? Infinity : this.now() + seconds * 1000;
    this.prefixes.set(prefix, { prefix, action, expires });
    this.nextPrefixExpiry = Math.min(this.nextPrefixExpiry, expires);
    this.prefixVersion++;
    return true;
  }

  removePrefix(prefix: string): boolean {
    if (!this.prefixes.delete(prefix)) return false;
    this.prefixVersion++;
    return true;
  }

  /** Drops the prefix rules whose time is up; cheap unless one is due (the ACL asks per new decision). */
  expirePrefixes(): void {
    const now = this.now();
    if (this.nextPrefixExpiry > now) return;
    let next = Infinity;
    for (const [prefix, r] of this.prefixes) {
      if (r.expires <= now) this.removePrefix(prefix);
      else next = Math.min(next, r.expires);
    }
    this.nextPrefixExpiry = next;
  }

  /** Is a prefix rule's time up? (The ACL's check per packet while any are in force: one clock read.) */
  get prefixExpiryDue(): boolean {
    return this.nextPrefixExpiry !== Infinity && this.nextPrefixExpiry <= this.now();
  }

  /** The rule of the longest of `candidates` (longest first, as the ACL makes them) that has one. */
  prefixAction(candidates: readonly string[]): RuleAction | null {
    if (this.prefixes.size === 0) return null;
    for (const c of candidates) {
      const r = this.prefixes.get(c);
      if (r !== undefined) return r.action;
    }
    return null;
  }

  listPrefixes(): PrefixRule[] {
    this.expire();
    return [...this.prefixes.values()];
  }

  /** Every rule in force: control rules (which take precedence at the same suffix) and files. */
  list(): SuffixRule[] {
    this.expire();
    return [...this.control.values(), ...[...this.files.values()].filter((r) => !this.control.has(r.zone))];
  }

  get size(): number {
    return this.total;
  }

  /**
   * The rule of the closest suffix of `qname` that has one, or null. Every
   * suffix's hash is taken in one pass from the end of the name, and rules
   * are found by hash and compared in place: no substring is made, so a hit
   * allocates nothing here. The hash is cut to 30 bits, a small integer to V8:
   * a Map key outside that range would be boxed, an allocation per lookup.
   */
  match(qname: Name): SuffixRule | null {
    const length = qname.length;
    let labels = 0;
    for (let off = 0; off < length && labels < OFFSETS.length; off += qname.charCodeAt(off) + 1)
      OFFSETS[labels++] = off;
    let best: SuffixRule | null = null;
    let h = HASH_SEED;
    let pos = length - 1;
    for (let j = labels - 1; j >= 0; j--) {
      const off = OFFSETS[j]!;
      for (; pos >= off; pos--) h = Math.imul(h ^ qname.charCodeAt(pos), HASH_PRIME);
      if (this.lengths[length - off] === 0) continue;
      const zones = this.index.get(h & SMI_MASK);
      if (zones === undefined) continue;
      for (const zone of zones) {
        if (zone.length !== length - off || !qname.startsWith(zone, off)) continue;
        const rule = this.ruleAt(zone);
        if (rule !== null) best = rule; // later in this loop is longer: closer
      }
    }
    return best;
  }

  /** The rule in force at exactly `zone`: a live control rule, else the file's. */
  private ruleAt(zone: Name): SuffixRule | null {
    const own = this.control.get(zone);
    if (own !== undefined) {
      if (own.expires > this.now()) return own;
      this.removeControl(zone);
    }
    return this.files.get(zone) ?? null;
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
