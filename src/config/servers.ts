// servers/ directory: one file per domain, named after the domain ("@" is the
// root), listing the servers to ask for names at or below it — the root
// servers in servers/@, or with FORWARDONLY the upstream caches.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Name, NameError, ROOT, nameFromText, nameToText } from '../wire/name';
import { NOT_AN_IP, ServerAddress, parseServerEntry } from './address';
import { ConfigError, quote } from './errors';

export type ServerTable = ReadonlyMap<Name, readonly ServerAddress[]>;

const EXPECTED_LINE = 'expected IPv4, IPv6 or [IPv6]:port, optionally followed by a # comment';

/**
 * Parses the contents of one servers/ file. Blank lines and lines whose
 * first non-blank character is `#` are skipped; every other line holds one
 * address, optionally followed by a `#` comment. Duplicates are dropped
 * (first kept). `fileLabel` (e.g. "servers/@") is used in error messages.
 */
export function parseServersFile(text: string, fileLabel: string): ServerAddress[] {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const nul = text.indexOf('\0');
  if (nul >= 0) throw new ConfigError(`${fileLabel}: not a text file (a NUL character at offset ${nul}; expected one address per line)`);
  const lines = text.split('\n');
  const out: ServerAddress[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const hash = line.indexOf('#');
    const entry = (hash < 0 ? line : line.slice(0, hash)).trim();
    if (entry === '') continue;
    const parsed = parseServerEntry(entry);
    if (!parsed.ok) {
      const detail = parsed.reason === NOT_AN_IP ? '' : `: ${parsed.reason}`;
      throw new ConfigError(`${fileLabel} line ${i + 1}: ${quote(entry)} is not an address${detail} (${EXPECTED_LINE})`);
    }
    const key = `${parsed.value.address} ${parsed.value.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(Object.freeze(parsed.value));
  }
  if (out.length === 0) {
    throw new ConfigError(`${fileLabel}: no server addresses (expected at least one address per file, one per line)`);
  }
  return out;
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

function errnoCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e && typeof e.code === 'string' ? e.code : String(err);
}

/**
 * Reads `rootDir/servers/`. Every entry whose name does not start with `.`
 * must be a readable regular file whose name is a domain (`@` for the root,
 * `\ooo` octal escapes, trailing dot optional, case-insensitive). Two files
 * naming the same domain, a sub-directory, an unreadable file, a bad line or
 * a file without addresses is a ConfigError; so is a missing servers/@.
 */
export function readServersDir(rootDir: string): ServerTable {
  const dir = path.join(rootDir, 'servers');
  let names: Buffer[];
  try {
    names = fs.readdirSync(dir, { encoding: 'buffer' });
  } catch (err) {
    const code = errnoCode(err);
    const what = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : `cannot be read (${code})`;
    throw new ConfigError(
      `servers/: ${quote(dir)} ${what} (expected a directory holding one file per domain, at least "@")`,
    );
  }
  // File names are bytes: keep them as bytes (latin1) for the domain, show them as UTF-8.
  names = names.filter((n) => n[0] !== 0x2e /* . */).sort(Buffer.compare);

  const entries: [Name, readonly ServerAddress[]][] = [];
  const fileOf = new Map<Name, string>();
  const dirBuf = Buffer.from(dir + path.sep);
  for (const raw of names) {
    const shown = raw.toString('utf8');
    const label = `servers/${shown}`;
    let name: Name;
    try {
      name = nameFromText(raw.toString('latin1'), 'octal');
    } catch (err) {
      if (!(err instanceof NameError)) throw err;
      throw new ConfigError(
        `${label}: file name ${quote(shown)} is not a domain name: ${err.message} (expected a domain such as example.com, or @ for the root)`,
      );
    }
    const previous = fileOf.get(name);
    if (previous !== undefined) {
      throw new ConfigError(
        `${label}: names the same domain ${quote(nameToText(name))} as servers/${previous} (expected one file per domain; names are case-insensitive)`,
      );
    }
    const file = Buffer.concat([dirBuf, raw]);
    let text: string;
    try {
      const st = fs.statSync(file);
      if (st.isDirectory()) {
        throw new ConfigError(`${label}: is a directory (expected a file of server addresses, one per line)`);
      }
      if (!st.isFile()) {
        throw new ConfigError(`${label}: is not a regular file (expected a file of server addresses, one per line)`);
      }
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`${label}: unable to read (${errnoCode(err)}) (expected a readable file of server addresses)`);
    }
    fileOf.set(name, shown);
    entries.push([name, Object.freeze(parseServersFile(text, label))]);
  }

  if (!fileOf.has(ROOT)) {
    throw new ConfigError(
      'servers/@: missing (expected the root servers or, with FORWARDONLY, the upstream caches, one address per line)',
    );
  }
  return new FrozenMap(entries);
}
