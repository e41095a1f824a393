// Which servers/ entry governs a name (spec §2.1): the closest enclosing one.

import type { Endpoint } from '../config/address';
import type { ServerTable } from '../config/servers';
import { isAtOrBelow, Name, parentName } from '../wire/name';

export type { ServerTable } from '../config/servers';

export interface ZoneServers {
  readonly zone: Name;
  readonly servers: readonly Endpoint[];
}

/** The closest servers/ entry at or above `name`, or null when none (no `@`). */
export function closestServers(table: ServerTable, name: Name): ZoneServers | null {
  for (let n = name; ; n = parentName(n)) {
    const servers = table.get(n);
    if (servers) return { zone: n, servers };
    if (n.length === 1) return null;
  }
}

/** dnscache's roots_same: both names are governed by the same servers/ entry. */
export function sameServersZone(table: ServerTable, a: Name, b: Name): boolean {
  // The scrubber asks this of every record, always at or below the zone it
  // asked: then only an entry between the two can tell them apart, and the
  // walk stops there instead of making each parent name up to the root.
  if (isAtOrBelow(a, b)) return noEntryBetween(table, a, b);
  if (isAtOrBelow(b, a)) return noEntryBetween(table, b, a);
  return closestServers(table, a)?.zone === closestServers(table, b)?.zone;
}

/** No servers/ entry at or above `below` and strictly below `above` (`below` lies at or below `above`). */
function noEntryBetween(table: ServerTable, below: Name, above: Name): boolean {
  for (let n = below; n.length > above.length; n = parentName(n)) if (table.has(n)) return false;
  return true;
}
