// Client access control rules: the pure half of dnscache's ip/ directory.
//
// Every name in ip/ is an address prefix. `ip/<prefix>` accepts clients whose
// textual address starts with that prefix at a separator boundary;
// `ip/#<prefix>` rejects them, and rejection wins (djbdnscurve6 clientok.c).
//
// The textual form is the one djbdnscurve6 builds with fehQlibs:
// - IPv4 and IPv4-mapped IPv6 clients: dotted decimal without leading zeros;
//   candidates are cut at the last '.', so 10.1.2.3 tries 10.1.2.3, 10.1.2,
//   10.1, 10.
// - other IPv6 clients: fehQlibs ip6_fmt text (lower-case hex, no leading
//   zeros in a group, the FIRST run of two or more zero groups written as
//   '::', a lone zero group written '0'); candidates are cut at the last ':',
//   so 2001:db8::53 tries 2001:db8::53, 2001:db8:, 2001:db8, 2001.
//   Note ip6_fmt differs from RFC 5952, which compresses the LONGEST run:
//   1:0:0:2:0:0:0:3 is "1::2:0:0:0:3" here, "1:0:0:2::3" in RFC 5952.
// With FLAGEDSERVER, ip/ also flags name servers (djbdnscurve6 serverok.c):
// `ip/%<address>` is never asked, `ip/-<address>` is asked without
// DNSCurve. Those are whole addresses, not prefixes, in the same text form.
// An empty prefix never matches (C6 stats `ip/#` for IPv6 clients, so a file
// named `#` would reject every IPv6 client; we do not copy that).

import { isIPv6 } from 'node:net';
import { RuleAction } from '../rules/action';
import { ClientRule, clientRule } from '../rules/book';

export interface AclRules {
  /** Prefixes from `ip/<prefix>` entries. */
  accept: ReadonlySet<string>;
  /** Prefixes from `ip/#<prefix>` entries (without the '#'). */
  reject: ReadonlySet<string>;
  /** Server addresses from `ip/%<address>` entries (FLAGEDSERVER: never asked), as aclKey() writes them. */
  omit: ReadonlySet<string>;
  /** Server addresses from `ip/-<address>` entries (FLAGEDSERVER: asked plainly). */
  plain: ReadonlySet<string>;
  /** The action an accepting entry's file holds (`qps 50`), by prefix; empty files admit plainly and are not here. */
  actions: ReadonlyMap<string, RuleAction>;
}

/** Whether a client may ask: not at all (false), plainly (true), or under its ip/ file's action. */
export type Admission = boolean | ClientRule;

/**
 * Builds rules from the names of the entries that exist in ip/.
 * Names starting with '.' are ignored, as are names that give an empty
 * prefix ('' and '#'), since an empty prefix never matches.
 */
export function rulesFromEntries(
  names: readonly string[],
  actions: ReadonlyMap<string, RuleAction> = new Map(),
): AclRules {
  const accept = new Set<string>();
  const reject = new Set<string>();
  const omit = new Set<string>();
  const plain = new Set<string>();
  for (const name of names) {
    if (name === '' || name.startsWith('.')) continue;
    if (name.startsWith('#')) {
      if (name.length > 1) reject.add(name.slice(1));
    } else if (name.startsWith('%') || name.startsWith('-')) {
      // A server flag, not a client prefix; one that is not an address matches nothing.
      const key = aclKey(name.slice(1));
      if (key !== '') (name.startsWith('%') ? omit : plain).add(key);
    } else {
      accept.add(name);
    }
  }
  return { accept, reject, omit, plain, actions };
}

/** Parses strict dotted-quad IPv4 text (decimal, leading zeros tolerated). */
function parseIPv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    octets.push(value);
  }
  return octets;
}

function parseHexGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const groups: number[] = [];
  for (const part of text.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
    groups.push(parseInt(part, 16));
  }
  return groups;
}

/**
 * Parses IPv6 text (no zone id) into eight 16-bit groups.
 * Written here rather than taken from ipaddr.js, which reads the
 * IPv4-compatible form "::127.0.0.1" as the IPv4-mapped "::ffff:127.0.0.1".
 */
function parseIPv6(text: string): number[] | undefined {
  if (!isIPv6(text)) return undefined;
  let body = text;
  const lastColon = body.lastIndexOf(':');
  const last = body.slice(lastColon + 1);
  if (last.includes('.')) {
    // Embedded IPv4 in the low 32 bits: rewrite it as two hex groups.
    const v4 = parseIPv4(last);
    if (v4 === undefined) return undefined;
    const hi = (v4[0]! << 8) | v4[1]!;
    const lo = (v4[2]! << 8) | v4[3]!;
    body = `${body.slice(0, lastColon + 1)}${hi.toString(16)}:${lo.toString(16)}`;
  }
  const gap = body.indexOf('::');
  let groups: number[];
  if (gap === -1) {
    const all = parseHexGroups(body);
    if (all === undefined) return undefined;
    groups = all;
    if (groups.length !== 8) return undefined;
  } else {
    const head = parseHexGroups(body.slice(0, gap));
    const rest = parseHexGroups(body.slice(gap + 2));
    if (head === undefined || rest === undefined) return undefined;
    const zeros = 8 - head.length - rest.length;
    if (zeros < 1) return undefined;
    groups = head.concat(new Array<number>(zeros).fill(0), rest);
  }
  return groups;
}

/**
 * fehQlibs ip6_fmt: lower-case hex without leading zeros; the first run of
 * two or more zero groups becomes '::'; any other zero group is '0'.
 */
export function formatIPv6(groups: readonly number[]): string {
  let start = -1;
  for (let i = 0; i + 1 < groups.length; i++) {
    if (groups[i] === 0 && groups[i + 1] === 0) {
      start = i;
      break;
    }
  }
  const hex = (g: number): string => g.toString(16);
  if (start === -1) return groups.map(hex).join(':');
  let end = start;
  while (end < groups.length && groups[end] === 0) end++;
  return groups.slice(0, start).map(hex).join(':') + '::' + groups.slice(end).map(hex).join(':');
}

/**
 * The text a client address is matched as: dotted decimal for IPv4 and
 * IPv4-mapped IPv6 (`::ffff:127.0.0.1` → `127.0.0.1`), fehQlibs text for
 * other IPv6 (`2001:DB8:0::53%eth0` → `2001:db8::53`; zone ids and
 * surrounding brackets are dropped). Returns '' for text that is not an
 * address, which matches nothing.
 */
export function aclKey(address: string): string {
  let text = address.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  if (!text.includes(':')) {
    const v4 = parseIPv4(text);
    return v4 === undefined ? '' : v4.join('.');
  }
  const groups = parseIPv6(text);
  if (groups === undefined) return '';
  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  ) {
    const hi = groups[6]!;
    const lo = groups[7]!;
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return formatIPv6(groups);
}

/**
 * The prefixes tried for a key, longest first: the key, then the key cut at
 * its last separator ('.' for IPv4 keys, ':' for IPv6 keys), repeatedly.
 * Empty prefixes are never produced.
 */
export function candidatePrefixes(key: string): string[] {
  if (key === '') return [];
  const sep = key.includes(':') ? ':' : '.';
  const out: string[] = [];
  let text = key;
  for (;;) {
    out.push(text);
    const cut = text.lastIndexOf(sep);
    if (cut <= 0) break;
    text = text.slice(0, cut);
  }
  return out;
}

/** Rejections first (any matching `#` prefix denies), then acceptances; no match denies. */
export function isAllowed(rules: AclRules, address: string): boolean {
  return admission(rules, address, 0) !== false;
}

/**
 * As isAllowed, and the action of the longest accepting entry, if its file
 * holds one: a ClientRule of the client's own (a qps limit is per address).
 * `now` starts its rate limiter (ms).
 */
export function admission(
  rules: AclRules,
  address: string,
  now: number,
  override?: (candidates: readonly string[]) => RuleAction | null,
): Admission {
  const candidates = candidatePrefixes(aclKey(address));
  for (const prefix of candidates) {
    if (rules.reject.has(prefix)) return false;
  }
  for (const prefix of candidates) {
    if (rules.accept.has(prefix)) {
      // A rule added through the control socket (`dnscache-ctl block 192.0.2`) wins over the file's.
      const action = override?.(candidates) ?? rules.actions.get(prefix);
      return action === undefined ? true : clientRule(action, now);
    }
  }
  return false;
}

/** What ip/ says of a name server at `address` (FLAGEDSERVER): 'omit' (ip/%), 'plain' (ip/-) or null. */
export function serverFlag(rules: AclRules, address: string): 'omit' | 'plain' | null {
  if (rules.omit.size === 0 && rules.plain.size === 0) return null;
  const key = aclKey(address);
  if (rules.omit.has(key)) return 'omit';
  if (rules.plain.has(key)) return 'plain';
  return null;
}
