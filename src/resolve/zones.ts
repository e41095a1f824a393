// Which servers/ entry governs a name (spec §2.1): the closest enclosing one.

import type { Endpoint } from '../config/address';
import type { ServerTable } from '../config/servers';
import { Name, parentName } from '../wire/name';

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
  return closestServers(table, a)?.zone === closestServers(table, b)?.zone;
}
