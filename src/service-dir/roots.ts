// Where root/servers/@ comes from. dnscache-conf copies /etc/dnsroots.local
// if it exists, else /etc/dnsroots.global. We do the same, and fall back to
// the IANA list shipped in the package (root/dnsroots.global), so a plain
// `npm install` works without djbdns's files. An explicit file (--roots or
// $DNSCACHE_CONF_ROOTS) wins over all of them; tests always give one.

import * as path from 'node:path';
import { parseServersFile } from '../config/servers';

export const ROOTS_ENV = 'DNSCACHE_CONF_ROOTS';
export const ETC_ROOTS = ['/etc/dnsroots.local', '/etc/dnsroots.global'] as const;
export const PACKAGE_NAME = 'dnscache-ts';
export const PACKAGED_ROOTS = path.join('root', 'dnsroots.global');

export interface RootsSource {
  path: string;
  /** How it was chosen, for the message if it cannot be read. */
  from: '--roots' | typeof ROOTS_ENV | 'system' | 'package';
}

export interface FileProbe {
  exists(p: string): boolean;
  /** The file's text, or undefined if it cannot be read. */
  read(p: string): string | undefined;
}

/**
 * The installed package's own roots file: the first directory at or above
 * `start` (normally the directory of dnscache-conf.js: dist/src/cli, or
 * src/cli when run from source) that holds package.json named dnscache-ts
 * and root/dnsroots.global.
 */
export function findPackagedRoots(start: string, probe: FileProbe): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    const candidate = path.join(dir, PACKAGED_ROOTS);
    if (probe.exists(candidate)) {
      const pkg = probe.read(path.join(dir, 'package.json'));
      if (pkg !== undefined) {
        try {
          if ((JSON.parse(pkg) as { name?: unknown }).name === PACKAGE_NAME) return candidate;
        } catch {
          // not our package.json: keep looking
        }
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The roots file to copy; undefined when there is none at all. */
export function chooseRoots(
  option: string | undefined,
  env: string | undefined,
  probe: FileProbe,
  packaged: string | undefined,
): RootsSource | undefined {
  if (option !== undefined) return { path: option, from: '--roots' };
  if (env !== undefined && env !== '') return { path: env, from: ROOTS_ENV };
  for (const p of ETC_ROOTS) if (probe.exists(p)) return { path: p, from: 'system' };
  return packaged === undefined ? undefined : { path: packaged, from: 'package' };
}

/**
 * Checks the roots file as dnscache-ts will read servers/@: every line an
 * address, at least one. Returns a message naming the file, or undefined.
 */
export function rootsProblem(text: string, file: string): string | undefined {
  try {
    if (parseServersFile(text, file).length === 0) return `${file} lists no servers (expected one IP address per line)`;
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}
