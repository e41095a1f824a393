// Carries out a plan (plan.ts): creates D, which must not exist, then every
// entry with its owner and mode set explicitly (whatever the umask and the
// setgid bits of the directories above), each file fsync'ed, and finally
// the directories. If anything fails, D is removed again, so a failed run
// leaves nothing half-made behind.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Entry } from './plan';

export class ConfError extends Error {
  override readonly name = 'ConfError';
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : String(err);
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function writeEntry(dir: string, e: Entry): void {
  const p = e.path === '.' ? dir : path.join(dir, e.path);
  const step = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      throw new ConfError(`unable to ${what} ${p}: ${describe(err)}`);
    }
  };
  if (e.kind === 'dir') {
    if (e.path !== '.') step('create', () => fs.mkdirSync(p, 0o700));
    step('set the owner of', () => fs.chownSync(p, e.uid, e.gid));
    step('set the mode of', () => fs.chmodSync(p, e.mode));
    return;
  }
  let fd = -1;
  step('create', () => {
    fd = fs.openSync(
      p,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
      0o600,
    );
  });
  try {
    step('write', () => {
      let off = 0;
      while (off < e.content.length) off += fs.writeSync(fd, e.content, off);
    });
    step('set the owner of', () => fs.fchownSync(fd, e.uid, e.gid));
    step('set the mode of', () => fs.fchmodSync(fd, e.mode));
    step('fsync', () => fs.fsyncSync(fd));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Creates `dir` and the plan's entries. Throws ConfError naming the path
 * on failure ("already exists" if `dir` does).
 */
export function writeServiceDir(dir: string, entries: readonly Entry[]): void {
  try {
    fs.mkdirSync(dir, 0o700);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new ConfError(`${dir} already exists (dnscache-conf makes a new directory: remove it or choose another)`);
    if (code === 'ENOENT')
      throw new ConfError(`unable to create ${dir}: its parent directory ${path.dirname(dir)} does not exist`);
    throw new ConfError(`unable to create ${dir}: ${describe(err)}`);
  }
  try {
    // D itself last: until then it stays 0700, so nobody sees it half-made.
    const self = entries.filter((e) => e.path === '.');
    for (const e of entries) if (e.path !== '.') writeEntry(dir, e);
    for (const e of self) writeEntry(dir, e);
    const dirs = entries.filter((e) => e.kind === 'dir').map((e) => (e.path === '.' ? dir : path.join(dir, e.path)));
    for (const d of dirs.reverse()) {
      try {
        fsyncPath(d);
      } catch (err) {
        throw new ConfError(`unable to fsync ${d}: ${describe(err)}`);
      }
    }
    try {
      fsyncPath(path.dirname(dir));
    } catch {
      // the new entry in the parent is durable on most file systems anyway
    }
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
