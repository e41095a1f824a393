// The delegation point: a zone cut, and what we know of the servers behind
// it. Modelled on Unbound's delegpt (iterator/iter_delegpt.c) and Knot
// Resolver's zone cut (lib/zonecut.c): the NS names the child gives for
// itself, the parent's names beside them (a referral's, which may differ),
// and the glue that came with the referral that led here. Finding the cut
// is this module's job; which address to ask next is the transport's
// (transport/rtt.ts orders them, transport/upstream.ts asks).

import ipaddr from 'ipaddr.js';
import { Cache, RANK, Side } from '../cache/cache';
import { localAddress } from '../local/local';
import { Endpoint } from '../transport/udp';
import { TYPE } from '../wire/constants';
import { ResourceRecord } from '../wire/message';
import { isAtOrBelow, Name, parentName, readName } from '../wire/name';
import { ServerTable } from './zones';

/** An NS name of a delegation point, and which side of the cut named it. */
export interface NsName {
  readonly name: Name;
  readonly side: Side;
}

export type DelegationPoint =
  /** A servers/ entry: the operator's addresses, nothing to look up, nothing above to fall back to. */
  | { readonly kind: 'fixed'; readonly zone: Name; readonly servers: readonly Endpoint[] }
  | {
      readonly kind: 'ns';
      readonly zone: Name;
      /** The child's own NS names first, then the parent's that the child did not name. */
      readonly ns: readonly NsName[];
      /** Addresses that came with the referral that led here, by NS name. */
      readonly glue: ReadonlyMap<Name, readonly Endpoint[]>;
    };

function endpoint(address: string, family: 4 | 6, port: number): Endpoint {
  return { address, port, family };
}

/** Addresses from A/AAAA RDATA. */
export function addressesFrom(rdatas: readonly Buffer[], family: 4 | 6, port: number): Endpoint[] {
  return rdatas.map((r) => endpoint(ipaddr.fromByteArray([...r]).toString(), family, port));
}

function namesOf(rdatas: readonly Buffer[], side: Side, into: NsName[]): void {
  for (const r of rdatas) {
    const name = readName(r, 0).name;
    if (!into.some((n) => n.name === name)) into.push({ name, side });
  }
}

export const NO_GLUE: ReadonlyMap<Name, readonly Endpoint[]> = new Map();

/** The delegation point the cache holds for exactly `zone` (either side), or null. */
export function cachedPoint(cache: Cache, zone: Name): DelegationPoint | null {
  const child = cache.getRRset(zone, TYPE.NS);
  const parent = cache.getRRset(zone, TYPE.NS, RANK.ADDITIONAL, 'parent');
  if (child === null && parent === null) return null;
  const ns: NsName[] = [];
  if (child !== null) namesOf(child.rdatas, child.rank >= RANK.AUTHORITY_AA ? 'child' : 'parent', ns);
  if (parent !== null) namesOf(parent.rdatas, 'parent', ns);
  return { kind: 'ns', zone, ns, glue: NO_GLUE };
}

/**
 * The closest servers/ entry or cached delegation at or above `from`
 * (strictly above it when `above`), or null when there is none at all.
 */
export function closestPoint(cache: Cache, servers: ServerTable, from: Name, above = false): DelegationPoint | null {
  let z = from;
  if (above) {
    if (z.length === 1) return null;
    z = parentName(z);
  }
  for (;;) {
    const fixed = servers.get(z);
    if (fixed) return { kind: 'fixed', zone: z, servers: fixed };
    const cached = cachedPoint(cache, z);
    if (cached) return cached;
    if (z.length === 1) return null;
    z = parentName(z);
  }
}

/**
 * Where a referral to `zone` (NS names `ns`) leads: its own names and glue
 * first - the parent just said them - then the names the child gave for
 * itself, if the cache still holds them. A servers/ entry at or below the
 * zone takes precedence over all of it.
 */
export function referralPoint(
  cache: Cache,
  servers: ServerTable,
  qname: Name,
  zone: Name,
  ns: readonly Name[],
  additional: readonly ResourceRecord[],
  port: number,
): DelegationPoint {
  for (let z = qname; isAtOrBelow(z, zone); z = parentName(z)) {
    const fixed = servers.get(z);
    if (fixed) return { kind: 'fixed', zone: z, servers: fixed };
    if (z === zone) break;
  }
  const names: NsName[] = ns.map((name) => ({ name, side: 'parent' }));
  const child = cache.getRRset(zone, TYPE.NS, RANK.AUTHORITY_AA);
  if (child !== null) namesOf(child.rdatas, 'child', names);
  const glue = new Map<Name, Endpoint[]>();
  for (const rr of additional) {
    const family = rr.type === TYPE.A ? 4 : 6;
    const list = glue.get(rr.name) ?? [];
    list.push(...addressesFrom([rr.rdata], family, port));
    glue.set(rr.name, list);
  }
  return { kind: 'ns', zone, ns: names, glue };
}

/**
 * Addresses for an NS name that we can have without asking anyone: the
 * internal ones (localhost), the referral's glue, the child's own address
 * records, and the parent's glue - which may differ from the child's, and
 * be the only ones that work.
 */
export function knownAddresses(
  cache: Cache,
  glue: ReadonlyMap<Name, readonly Endpoint[]>,
  ns: Name,
  port: number,
): Endpoint[] {
  const local = localAddress(ns);
  if (local) return [endpoint(local, 4, port)];
  const out: Endpoint[] = [...(glue.get(ns) ?? [])];
  for (const side of ['child', 'parent'] as const) {
    for (const [type, family] of [
      [TYPE.A, 4],
      [TYPE.AAAA, 6],
    ] as const) {
      const set = cache.getRRset(ns, type, RANK.ADDITIONAL, side);
      if (set !== null)
        out.push(
          ...addressesFrom(
            set.rdatas.filter((r) => r.length === (family === 4 ? 4 : 16)),
            family,
            port,
          ),
        );
    }
  }
  return out;
}
