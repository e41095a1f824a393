// In-memory zone data for the lab's authoritative servers.
//
// Records are kept in dns-packet's own answer format so the server can hand
// them straight to the encoder; tests write zones as plain literals or with
// the small constructors below. Names are absolute, with or without the
// trailing dot; comparisons are case-insensitive (see `canonical`).

import { isIPv4, isIPv6 } from 'node:net';
import * as dnsPacket from 'dns-packet';

/** One resource record. `type` and `data` follow dns-packet's conventions. */
export interface LabRecord {
  name: string;
  /** dns-packet type name: 'A', 'AAAA', 'NS', 'CNAME', 'MX', 'TXT', 'SOA', 'PTR', 'SRV', 'CAA', ... */
  type: string;
  /** Seconds; DEFAULT_TTL when omitted. */
  ttl?: number | undefined;
  // dns-packet's per-type data shapes are a union the zone author should not
  // have to spell out; the encoder validates them when the record is served.
  data: any;
}

/** A zone: its origin (apex) and every record at or below it, glue included. */
export interface LabZone {
  origin: string;
  records: LabRecord[];
}

export const DEFAULT_TTL = 300;

/**
 * Comparison form of a name: lower case, no trailing dot, root as ''.
 * Using '' for the root makes "is below" a plain suffix test.
 */
export function canonical(name: string): string {
  return name.toLowerCase().replace(/\.+$/, '');
}

/** True if `name` equals `ancestor` or lies below it (both canonical). */
export function isAtOrBelow(name: string, ancestor: string): boolean {
  return ancestor === '' || name === ancestor || name.endsWith('.' + ancestor);
}

/** Parent of a canonical name; the root has none. */
export function parentOf(name: string): string | null {
  if (name === '') return null;
  const dot = name.indexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1);
}

/** Throws unless the zone's apex carries the SOA and NS a real zone must have. */
export function validateZone(zone: LabZone): void {
  const origin = canonical(zone.origin);
  const apexTypes = new Set(zone.records.filter((r) => canonical(r.name) === origin).map((r) => r.type.toUpperCase()));
  for (const t of ['SOA', 'NS']) {
    if (!apexTypes.has(t)) throw new Error(`lab zone "${zone.origin || '.'}" has no ${t} at its apex`);
  }
  for (const r of zone.records) {
    const where = `lab zone "${zone.origin || '.'}": record ${r.name} ${r.type}`;
    if (!isAtOrBelow(canonical(r.name), origin)) throw new Error(`${where} lies outside the zone`);
    const t = r.type.toUpperCase();
    if ((t === 'A' && !isIPv4(r.data)) || (t === 'AAAA' && !isIPv6(r.data)))
      throw new Error(`${where}: bad address ${r.data}`);
    // Bad data would otherwise surface only as a missing reply in some later test.
    try {
      dnsPacket.encode({
        answers: [{ name: r.name, type: r.type.toUpperCase(), ttl: 1, data: r.data } as dnsPacket.Answer],
      });
    } catch (err) {
      throw new Error(`${where} cannot be encoded: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Builds a zone from its records, checking the apex (fails early, in the test that wrote it). */
export function zone(origin: string, ...records: Array<LabRecord | LabRecord[]>): LabZone {
  const z: LabZone = { origin, records: records.flat() };
  validateZone(z);
  return z;
}

// --- record constructors -------------------------------------------------

function rec(name: string, type: string, data: unknown, ttl?: number): LabRecord {
  return ttl === undefined ? { name, type, data } : { name, type, data, ttl };
}

/**
 * SOA for `zoneName`. `minimum` is the negative-caching TTL (RFC 2308); the
 * server sends the SOA in negative answers with TTL min(ttl, minimum).
 */
export function soa(zoneName: string, ttl = DEFAULT_TTL, minimum = DEFAULT_TTL): LabRecord {
  const z = canonical(zoneName);
  return rec(
    zoneName,
    'SOA',
    {
      mname: z === '' ? 'ns1.root-lab' : `ns1.${z}`,
      rname: z === '' ? 'hostmaster.root-lab' : `hostmaster.${z}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum,
    },
    ttl,
  );
}

export const a = (name: string, address: string, ttl?: number): LabRecord => rec(name, 'A', address, ttl);
export const aaaa = (name: string, address: string, ttl?: number): LabRecord => rec(name, 'AAAA', address, ttl);
export const ns = (name: string, target: string, ttl?: number): LabRecord => rec(name, 'NS', target, ttl);
export const cname = (name: string, target: string, ttl?: number): LabRecord => rec(name, 'CNAME', target, ttl);
export const ptr = (name: string, target: string, ttl?: number): LabRecord => rec(name, 'PTR', target, ttl);
export const mx = (name: string, preference: number, exchange: string, ttl?: number): LabRecord =>
  rec(name, 'MX', { preference, exchange }, ttl);
/** One TXT record; each argument is one character-string (max 255 bytes each). */
export const txt = (name: string, strings: string | string[], ttl?: number): LabRecord =>
  rec(name, 'TXT', Array.isArray(strings) ? strings : [strings], ttl);
export const srv = (
  name: string,
  priority: number,
  weight: number,
  port: number,
  target: string,
  ttl?: number,
): LabRecord => rec(name, 'SRV', { priority, weight, port, target }, ttl);
export const caa = (name: string, tag: 'issue' | 'issuewild' | 'iodef', value: string, ttl?: number): LabRecord =>
  rec(name, 'CAA', { flags: 0, tag, value }, ttl);
