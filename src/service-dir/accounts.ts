// Account lookup by name, as getpwnam(3) does for dnscache-conf and
// envuidgid: through `getent passwd` (so NSS sources such as LDAP count),
// or /etc/passwd where getent is missing.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Account } from './plan';

/** A user name that can be looked up and written into a script unquoted. */
const NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/;

/** Parses one passwd line; only accepts the entry of `name` itself. */
export function parsePasswdLine(line: string, name: string): Account | undefined {
  const f = line.split(':');
  if (f.length < 7 || f[0] !== name) return undefined;
  if (!/^[0-9]+$/.test(f[2]!) || !/^[0-9]+$/.test(f[3]!)) return undefined;
  return { name, uid: Number(f[2]), gid: Number(f[3]) };
}

/** Looks `name` up; undefined if there is no such account. */
export function lookupAccount(name: string): Account | undefined {
  // getent also takes numbers (uid 0 → root): getpwnam does not, nor do we.
  if (!NAME.test(name) || /^[0-9]+$/.test(name)) return undefined;
  let out: string;
  try {
    out = execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { status?: number };
    if (e.code !== 'ENOENT') return undefined; // getent ran: 2 = not found
    try {
      out = readFileSync('/etc/passwd', 'utf8');
    } catch {
      return undefined;
    }
  }
  for (const line of out.split('\n')) {
    const account = parsePasswdLine(line, name);
    if (account) return account;
  }
  return undefined;
}
