// Address syntax shared by the environment (IP, IPSEND, METRICS), servers/
// files, routes and dnscache-ctl's `server`.
// Pure functions: no I/O, no exceptions; callers turn failures into
// ConfigErrors that name the variable or file line.

import * as net from 'node:net';
import ipaddr from 'ipaddr.js';

export const DEFAULT_DNS_PORT = 53;

/** An IP address in the textual form Node's dgram and net modules accept. */
export interface IpAddress {
  address: string;
  family: 4 | 6;
}

/** Where a server listens: an IP literal, a port and the address family. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** An upstream server from a servers/ file. */
export type ServerAddress = Endpoint;

/**
 * 127.0.0.0/8 or ::1, also written IPv4-mapped (::ffff:127.0.0.1): the
 * addresses QUERY_LOCALHOST=0 never sends to. Not on any per-packet path
 * unless QUERY_LOCALHOST=0.
 */
export function isLoopback(address: string): boolean {
  try {
    return ipaddr.process(address).range() === 'loopback';
  } catch {
    return false;
  }
}

/** The failure reason when text is simply not an address (no more specific hint). */
export const NOT_AN_IP = 'not an IPv4 or IPv6 address';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

const OCTET = /^[0-9]{1,3}$/;
// Interface names or numeric scope ids; excludes `#`, `]`, whitespace and `%`.
const ZONE = /^[A-Za-z0-9_.\-@]+$/;

/**
 * Strict dotted quad: exactly four decimal octets 0-255. Leading zeros
 * ("010") are refused because inet_aton would read them as octal while
 * djbdns reads them as decimal. Returns the canonical text or undefined.
 */
export function parseIPv4(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    if (p.length > 1 && p.startsWith('0')) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out.push(v);
  }
  return out.join('.');
}

/** True if `text` would be a dotted quad but for a leading zero in an octet. */
function hasLeadingZeroOctet(text: string): boolean {
  const parts = text.split('.');
  return (
    parts.length === 4 &&
    parts.every((p) => OCTET.test(p) && Number(p) <= 255) &&
    parts.some((p) => p.length > 1 && p.startsWith('0'))
  );
}

/**
 * IPv6 text, optionally with `%scope` (interface name or number). Returns the
 * compact lower-case form (RFC 5952) with the scope appended unchanged.
 */
export function parseIPv6(text: string): string | undefined {
  const pct = text.indexOf('%');
  const bare = pct < 0 ? text : text.slice(0, pct);
  const zone = pct < 0 ? undefined : text.slice(pct + 1);
  if (zone !== undefined && !ZONE.test(zone)) return undefined;
  // Both must agree: ipaddr.js tolerates leading zeros in an embedded IPv4
  // part, Node's parser does not.
  if (!net.isIPv6(bare) || !ipaddr.IPv6.isValid(bare)) return undefined;
  const canonical = ipaddr.IPv6.parse(bare).toString();
  return zone === undefined ? canonical : `${canonical}%${zone}`;
}

/**
 * An IPv4 or IPv6 address. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
 * without scope) is returned as the IPv4 address it maps, as djbdnscurve6
 * treats both spellings as the same address.
 */
export function parseIp(text: string): ParseResult<IpAddress> {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { ok: true, value: { address: v4, family: 4 } };
  const v6 = parseIPv6(text);
  if (v6 !== undefined) {
    if (!v6.includes('%')) {
      const parsed = ipaddr.IPv6.parse(v6);
      if (parsed.isIPv4MappedAddress()) {
        return { ok: true, value: { address: parsed.toIPv4Address().toString(), family: 4 } };
      }
    }
    return { ok: true, value: { address: v6, family: 6 } };
  }
  if (hasLeadingZeroOctet(text)) {
    return { ok: false, reason: 'leading zeros in an IPv4 octet are ambiguous (octal or decimal?)' };
  }
  return { ok: false, reason: NOT_AN_IP };
}

/** A decimal port number 1..65535. */
export function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const v = Number(text);
  return v >= 1 && v <= 65535 ? v : undefined;
}

/**
 * One servers/ entry (already stripped of blanks and comments):
 * `1.2.3.4`, `1.2.3.4:5353`, `::1`, `fe80::1%eth0`, `[::1]`, `[::1]:5353`.
 * The port defaults to 53. A bare IPv6 address never carries a port.
 */
export function parseServerEntry(text: string): ParseResult<ServerAddress> {
  let host: string;
  let portText: string | undefined;
  let bracketed = false;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { ok: false, reason: 'missing "]"' };
    host = text.slice(1, close);
    bracketed = true;
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return { ok: false, reason: `unexpected ${JSON.stringify(rest)} after "]"` };
      portText = rest.slice(1);
    }
  } else {
    const colons = text.split(':').length - 1;
    if (colons === 1) {
      const colon = text.indexOf(':');
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    } else {
      host = text;
    }
  }

  let port = DEFAULT_DNS_PORT;
  if (portText !== undefined) {
    const p = parsePort(portText);
    if (p === undefined)
      return { ok: false, reason: `port ${JSON.stringify(portText)} is not a number from 1 to 65535` };
    port = p;
  }

  if (bracketed && parseIPv6(host) === undefined) {
    const v4 = parseIPv4(host) !== undefined;
    return { ok: false, reason: v4 ? 'only an IPv6 address may be written in brackets' : NOT_AN_IP };
  }
  // Without brackets a port can only follow an IPv4 address (one colon in
  // all), so `host` is never IPv6 here; parseIp gives the reason if bad.
  const ip = parseIp(host);
  if (!ip.ok) return ip;
  return { ok: true, value: { address: ip.value.address, port, family: ip.value.family } };
}
