// Reading ip/: which entry names exist, in dnscache's sense.
//
// dnscache stat()s ip/<name> per packet, so any object that stat() finds
// counts: a file, a directory, a symlink whose target exists (a dangling
// symlink does not), even a fifo. Entries starting with '.' are skipped
// (editor and rsync temporaries). Errors other than on the directory itself
// count as "does not exist", as stat() errors do in dnscache.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { actionOfFile, EXPECTED_ACTION, RuleAction } from '../rules/action';
import { AclRules, rulesFromEntries } from './rules';

/** Names of the entries of `dir` that count as present. Throws if `dir` cannot be read. */
export function listExistingEntries(dir: string): string[] {
  const names: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isFile() || entry.isDirectory()) {
      names.push(entry.name);
      continue;
    }
    // Symlinks and entries whose type readdir did not report: stat follows
    // links, so a dangling link (or an entry removed meanwhile) fails here.
    try {
      fs.statSync(path.join(dir, entry.name));
      names.push(entry.name);
    } catch {
      // does not count
    }
  }
  return names;
}

/** Identifies the directory object at `dir` (device and inode), to notice it being replaced. */
export function directoryIdentity(dir: string): string {
  const st = fs.statSync(dir, { bigint: true });
  return `${st.dev}:${st.ino}`;
}

/** An ip/ file longer than this is not read for an action (an action is a few bytes). */
export const MAX_ACTION_FILE = 4096;

/**
 * The actions in ip/'s accepting files (`qps 50`), by entry name. Empty
 * files, directories and `#` entries hold none. Reading the contents costs a
 * stat per entry, on every re-read. Throws an Error naming the file and line
 * for a file that holds something else than one action.
 */
export function readEntryActions(dir: string, names: readonly string[]): Map<string, RuleAction> {
  const out = new Map<string, RuleAction>();
  for (const name of names) {
    if (name.startsWith('#')) continue;
    const file = path.join(dir, name);
    let text: string;
    try {
      const st = fs.statSync(file);
      if (!st.isFile() || st.size === 0) continue;
      if (st.size > MAX_ACTION_FILE)
        throw new Error(`ip/${name}: ${st.size} bytes (expected an empty file, or one action: ${EXPECTED_ACTION})`);
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== undefined) continue; // gone meanwhile, or unreadable: admits, as its existence does
      throw err;
    }
    const parsed = actionOfFile(text, `ip/${name}`);
    if (!parsed.ok) throw new Error(parsed.message);
    if (parsed.action !== null) out.set(name, parsed.action);
  }
  return out;
}

/** ip/ as rules: which entries exist, and the actions their files hold. */
export function readAclRules(dir: string): AclRules {
  const names = listExistingEntries(dir);
  return rulesFromEntries(names, readEntryActions(dir, names));
}
