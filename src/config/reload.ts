// Re-reading servers/, routes, rules/ and ip/ while running (SIGHUP,
// `dnscache-ctl reload`). All are read and checked first; only if all can be
// read is anything changed, so a bad file leaves the running configuration
// as it was. The servers/ table is swapped in one assignment behind a Map-shaped
// holder the resolver keeps for its whole life.

import { join } from 'node:path';
import { listExistingEntries, readEntryActions } from '../acl/directory';
import { ServerAddress } from './address';
import { ConfigError } from './errors';
import { Route, readRoutesFile } from './routes';
import { readRulesDir } from './rules';
import { PoolTable, readServerFiles, ServerTable } from './servers';
import { RuleAction } from '../rules/action';
import { Name } from '../wire/name';

/**
 * A servers/ table whose contents can be replaced as a whole. The resolver
 * and scrubber see it as the read-only map they always had; a question in
 * flight may see the old table for one step and the new one for the next.
 */
export class SwappableServerTable implements ReadonlyMap<Name, readonly ServerAddress[]> {
  constructor(private table: ServerTable) {}

  /** The table in force (an immutable snapshot). */
  get current(): ServerTable {
    return this.table;
  }

  swap(next: ServerTable): void {
    this.table = next;
  }

  get(key: Name): readonly ServerAddress[] | undefined {
    return this.table.get(key);
  }

  has(key: Name): boolean {
    return this.table.has(key);
  }

  get size(): number {
    return this.table.size;
  }

  forEach(
    fn: (value: readonly ServerAddress[], key: Name, map: ReadonlyMap<Name, readonly ServerAddress[]>) => void,
    thisArg?: unknown,
  ): void {
    for (const [k, v] of this.table) fn.call(thisArg, v, k, this);
  }

  entries(): MapIterator<[Name, readonly ServerAddress[]]> {
    return this.table.entries();
  }

  keys(): MapIterator<Name> {
    return this.table.keys();
  }

  values(): MapIterator<readonly ServerAddress[]> {
    return this.table.values();
  }

  [Symbol.iterator](): MapIterator<[Name, readonly ServerAddress[]]> {
    return this.table.entries();
  }
}

export interface Reloadable {
  readonly servers: ServerTable;
  /** ROOT/routes. */
  readonly routes: readonly Route[];
  /** The same files as pools (policies and options). */
  readonly pools: PoolTable;
  /** Entries of ip/ that count (as the ACL reads them). */
  readonly ipEntries: number;
  /** rules/, by suffix. */
  readonly rules: ReadonlyMap<Name, RuleAction>;
}

/**
 * Reads `root`/servers/, `root`/routes and `root`/rules/ (as at start-up:
 * any problem is a ConfigError naming the file and line) and checks that
 * `root`/ip/ can be listed. `forwarding`: FORWARDONLY, where servers/ files
 * may carry a policy and options.
 */
export function readReloadable(root: string, forwarding = true): Reloadable {
  const { servers, pools } = readServerFiles(root, forwarding);
  const routes = readRoutesFile(root);
  const rules = readRulesDir(root);
  const ipDir = join(root, 'ip');
  let ipEntries: number;
  let names: string[];
  try {
    names = listExistingEntries(ipDir);
    ipEntries = names.length;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(
      `ip/: unable to read ${JSON.stringify(ipDir)} (${code}) (expected a directory of client address prefixes)`,
    );
  }
  // The ACL re-reads ip/ itself; a bad action in a file stops the whole reload here first.
  try {
    readEntryActions(ipDir, names);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return { servers, pools, routes, ipEntries, rules };
}

export interface ReloadOutcome {
  readonly ok: boolean;
  /** Files in servers/ (domains), when ok. */
  readonly servers?: number;
  /** Entries in ip/, when ok. */
  readonly ip?: number;
  /** Routes in the routes file, when ok. */
  readonly routes?: number;
  /** Files in rules/, when ok. */
  readonly rules?: number;
  /** Why nothing changed, when not ok. */
  readonly error?: string;
}
