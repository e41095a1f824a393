// Directories of one file per domain (servers/, rules/): the file name is the
// domain (`@` for the root, `\ooo` octal escapes, trailing dot optional,
// case-insensitive), entries starting with `.` are skipped. Reading them is
// the same whatever the files hold; what they hold is the caller's to parse.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Name, NameError, nameFromText, nameToText } from '../wire/name';
import { ConfigError, quote } from './errors';

export interface DomainFile {
  readonly name: Name;
  /** `servers/example.com`, for messages. */
  readonly label: string;
  readonly text: string;
}

export interface DomainDirOptions {
  /** A missing directory: an error (servers/), or no files (rules/, which older roots lack). */
  readonly missing: 'error' | 'empty';
  /** What a file holds, for messages: "server addresses, one per line". */
  readonly contents: string;
  /** What the directory must hold, for messages: 'at least "@"'. */
  readonly dirExpected?: string;
  /** At most this many files; more is an error. */
  readonly maxFiles?: number;
}

function errnoCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e && typeof e.code === 'string' ? e.code : String(err);
}

/**
 * Reads `rootDir/dirName/`. Every entry whose name does not start with `.`
 * must be a readable regular file named after a domain; two files naming the
 * same domain, a sub-directory or an unreadable file is a ConfigError naming
 * it. Files come sorted by name bytes.
 */
export function readDomainFiles(rootDir: string, dirName: string, opts: DomainDirOptions): DomainFile[] {
  const dir = path.join(rootDir, dirName);
  let names: Buffer[];
  try {
    names = fs.readdirSync(dir, { encoding: 'buffer' });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' && opts.missing === 'empty') return [];
    const what =
      code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : `cannot be read (${code})`;
    throw new ConfigError(
      `${dirName}/: ${quote(dir)} ${what} (expected a directory holding one file per domain${opts.dirExpected ? `, ${opts.dirExpected}` : ''})`,
    );
  }
  // File names are bytes: keep them as bytes (latin1) for the domain, show them as UTF-8.
  names = names.filter((n) => n[0] !== 0x2e /* . */).sort((a, b) => Buffer.compare(a, b));
  if (opts.maxFiles !== undefined && names.length > opts.maxFiles) {
    throw new ConfigError(`${dirName}/: ${names.length} files (expected at most ${opts.maxFiles})`);
  }

  const out: DomainFile[] = [];
  const fileOf = new Map<Name, string>();
  const dirBuf = Buffer.from(dir + path.sep);
  for (const raw of names) {
    const shown = raw.toString('utf8');
    const label = `${dirName}/${shown}`;
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
        `${label}: names the same domain ${quote(nameToText(name))} as ${dirName}/${previous} (expected one file per domain; names are case-insensitive)`,
      );
    }
    const file = Buffer.concat([dirBuf, raw]);
    let text: string;
    try {
      const st = fs.statSync(file);
      if (st.isDirectory()) throw new ConfigError(`${label}: is a directory (expected a file of ${opts.contents})`);
      if (!st.isFile()) throw new ConfigError(`${label}: is not a regular file (expected a file of ${opts.contents})`);
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(
        `${label}: unable to read (${errnoCode(err)}) (expected a readable file of ${opts.contents})`,
      );
    }
    fileOf.set(name, shown);
    out.push({ name, label, text });
  }
  return out;
}
