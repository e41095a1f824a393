// Reading ip/: which entry names exist, in dnscache's sense.
//
// dnscache stat()s ip/<name> per packet, so any object that stat() finds
// counts: a file, a directory, a symlink whose target exists (a dangling
// symlink does not), even a fifo. Entries starting with '.' are skipped
// (editor and rsync temporaries). Errors other than on the directory itself
// count as "does not exist", as stat() errors do in dnscache.

import * as fs from 'node:fs';
import * as path from 'node:path';

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
