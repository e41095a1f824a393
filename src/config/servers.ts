// servers/ directory: one file per domain, named after the domain ("@" is the
// root), listing the servers to ask for names at or below it — the root
// servers in servers/@, or with FORWARDONLY the upstream caches.

import { Name, ROOT } from '../wire/name';
import { NOT_AN_IP, ServerAddress, parseServerEntry } from './address';
import { readDomainFiles } from './domain-files';
import { ConfigError, quote } from './errors';

export type ServerTable = ReadonlyMap<Name, readonly ServerAddress[]>;

/**
 * How a pool picks the upstream to ask first (the rest follow, for failover).
 * Names as dnsdist spells them.
 */
export const POLICIES = ['leastOutstanding', 'firstAvailable', 'wrandom', 'roundrobin', 'rtt'] as const;
export type PolicyName = (typeof POLICIES)[number];

/** One upstream of a pool with its `key=value` options (defaults filled in). */
export interface PoolServer {
  readonly endpoint: ServerAddress;
  /** `order=N`: firstAvailable's preference and leastOutstanding's tie-break; default: the line's rank, from 1. */
  readonly order: number;
  /** `weight=N`: wrandom's share; default 1. */
  readonly weight: number;
  /** `qps=N`: firstAvailable passes over the server above N queries a second; null: no cap. */
  readonly qps: number | null;
}

/** A servers/ file: its upstreams and, if it names one, its policy (null: the default of the mode). */
export interface Pool {
  readonly policy: PolicyName | null;
  readonly servers: readonly PoolServer[];
}

export type PoolTable = ReadonlyMap<Name, Pool>;

const EXPECTED_LINE =
  'expected IPv4, IPv6 or [IPv6]:port, optionally followed by key=value options (order, weight, qps) and a # comment';
const EXPECTED_POLICY = `expected "policy" and one of ${POLICIES.join(', ')}`;
/** Bounds of the numeric options, so a typo cannot make a weight sum overflow or a cap meaningless. */
const OPTION_MAX = { order: 1_000_000, weight: 1_000_000, qps: 10_000_000 } as const;
type OptionKey = keyof typeof OPTION_MAX;

/**
 * Parses the contents of one servers/ file into a pool. Blank lines and
 * lines whose first non-blank character is `#` are skipped; `policy NAME`
 * chooses the pool's policy (once per file); every other line holds one
 * address, optionally followed by `key=value` options and a `#` comment.
 * Duplicates are dropped (first kept). `fileLabel` (e.g. "servers/@") is
 * used in error messages. Without `forwarding` (iterative resolution, where
 * a servers/ file lists authorities) options and policies are refused: they
 * would be silently ignored there.
 */
export function parsePoolFile(text: string, fileLabel: string, forwarding = true): Pool {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const nul = text.indexOf('\0');
  if (nul >= 0)
    throw new ConfigError(
      `${fileLabel}: not a text file (a NUL character at offset ${nul}; expected one address per line)`,
    );
  const lines = text.split('\n');
  const out: PoolServer[] = [];
  const seen = new Set<string>();
  let policy: PolicyName | null = null;
  let policyLine = 0;
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const hash = line.indexOf('#');
    const entry = (hash < 0 ? line : line.slice(0, hash)).trim();
    if (entry === '') continue;
    const where = `${fileLabel} line ${i + 1}`;
    const [first, ...rest] = entry.split(/[ \t]+/) as [string, ...string[]];
    if (first === 'policy') {
      if (!forwarding)
        throw new ConfigError(
          `${where}: ${quote(entry)}: a policy applies only with FORWARDONLY (expected only addresses when resolving iteratively)`,
        );
      if (policyLine !== 0)
        throw new ConfigError(
          `${where}: a second policy line (the first is line ${policyLine}; expected one per file)`,
        );
      const name = POLICIES.find((p) => p === rest[0]);
      if (rest.length !== 1 || name === undefined)
        throw new ConfigError(`${where}: ${quote(entry)} is not a policy (${EXPECTED_POLICY})`);
      policy = name;
      policyLine = i + 1;
      continue;
    }
    const parsed = parseServerEntry(first);
    if (!parsed.ok) {
      const detail = parsed.reason === NOT_AN_IP ? '' : `: ${parsed.reason}`;
      throw new ConfigError(`${where}: ${quote(entry)} is not an address${detail} (${EXPECTED_LINE})`);
    }
    if (rest.length > 0 && !forwarding) {
      throw new ConfigError(
        `${where}: ${quote(rest.join(' '))}: options apply only with FORWARDONLY (expected only an address when resolving iteratively)`,
      );
    }
    const options = parseOptions(rest, `${where}: ${quote(entry)}`);
    const key = `${parsed.value.address} ${parsed.value.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(
      Object.freeze({
        endpoint: Object.freeze(parsed.value),
        order: options.order ?? out.length + 1,
        weight: options.weight ?? 1,
        qps: options.qps ?? null,
      }),
    );
  }
  if (out.length === 0) {
    throw new ConfigError(`${fileLabel}: no server addresses (expected at least one address per file, one per line)`);
  }
  return Object.freeze({ policy, servers: Object.freeze(out) });
}

/** `order=1 weight=3 qps=100`: each key once, each value a whole number from 1 to its bound. */
function parseOptions(words: readonly string[], where: string): Partial<Record<OptionKey, number>> {
  const out: Partial<Record<OptionKey, number>> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    const key = word.slice(0, eq) as OptionKey;
    if (eq < 0 || !Object.hasOwn(OPTION_MAX, key)) {
      throw new ConfigError(`${where}: ${quote(word)} is not an option (${EXPECTED_LINE})`);
    }
    if (out[key] !== undefined)
      throw new ConfigError(`${where}: ${key} given twice (expected each option once per line)`);
    const value = word.slice(eq + 1);
    const n = /^[0-9]{1,8}$/.test(value) ? Number(value) : NaN;
    if (!(n >= 1 && n <= OPTION_MAX[key])) {
      throw new ConfigError(`${where}: ${key}=${quote(value)} (expected a whole number from 1 to ${OPTION_MAX[key]})`);
    }
    out[key] = n;
  }
  return out;
}

/** The addresses of one servers/ file, in file order (the iterative resolver's view of it). */
export function parseServersFile(text: string, fileLabel: string, forwarding = true): ServerAddress[] {
  return parsePoolFile(text, fileLabel, forwarding).servers.map((s) => s.endpoint);
}

/** A Map that refuses changes once built (the Config is frozen all the way down). */
class FrozenMap<K, V> extends Map<K, V> {
  private sealed = false;
  constructor(entries: Iterable<readonly [K, V]>) {
    super();
    for (const [k, v] of entries) super.set(k, v);
    this.sealed = true;
  }
  override set(key: K, value: V): this {
    if (this.sealed) throw new TypeError('ServerTable is read-only');
    return super.set(key, value);
  }
  override delete(key: K): boolean {
    if (this.sealed) throw new TypeError('ServerTable is read-only');
    return super.delete(key);
  }
  override clear(): void {
    if (this.sealed) throw new TypeError('ServerTable is read-only');
    super.clear();
  }
}

/**
 * Reads `rootDir/servers/`. Every entry whose name does not start with `.`
 * must be a readable regular file whose name is a domain (`@` for the root,
 * `\ooo` octal escapes, trailing dot optional, case-insensitive). Two files
 * naming the same domain, a sub-directory, an unreadable file, a bad line or
 * a file without addresses is a ConfigError; so is a missing servers/@.
 */
export function readServersDir(rootDir: string, forwarding = true): ServerTable {
  return readServerFiles(rootDir, forwarding).servers;
}

/** servers/ read once: the pools, and the same addresses as the resolvers' table. */
export interface ServerFiles {
  readonly servers: ServerTable;
  readonly pools: PoolTable;
}

/** readServersDir's reading, keeping each file's pool (policy and options). */
export function readServerFiles(rootDir: string, forwarding: boolean): ServerFiles {
  const files = readDomainFiles(rootDir, 'servers', {
    missing: 'error',
    contents: 'server addresses, one per line',
    dirExpected: 'at least "@"',
  });
  const entries: [Name, Pool][] = files.map((f) => [f.name, parsePoolFile(f.text, f.label, forwarding)]);
  const fileOf = new Set(files.map((f) => f.name));
  if (!fileOf.has(ROOT)) {
    throw new ConfigError(
      'servers/@: missing (expected the root servers or, with FORWARDONLY, the upstream caches, one address per line)',
    );
  }
  return {
    pools: new FrozenMap(entries),
    servers: new FrozenMap(
      entries.map(([name, pool]) => [name, Object.freeze(pool.servers.map((s) => s.endpoint))] as const),
    ),
  };
}
