// Dropping root as dnscache's droproot does (spec §1.1 step 3): chroot into
// ROOT (chdir(ROOT); chroot(".")), then setgroups([GID]), setgid(GID),
// setuid(UID) - and then making sure it took: the IDs are the ones asked
// for and root cannot be regained.
//
// Node has setgroups/setgid/setuid but no chroot: a tiny native addon
// (native/chroot.c, built by node-gyp on `npm install`/`npm ci`) provides it.
// The addon is loaded when this module is, at start-up: after the chroot its
// file is out of reach. A missing addon only matters when a drop is asked for.

import { constants } from 'node:os';
import { loadAddon } from '../platform/addon';

export class PrivilegeError extends Error {}

/** What UID, GID and ROOT ask for. */
export interface PrivilegeDrop {
  /** Absolute path of ROOT. */
  root: string;
  uid: number;
  gid: number;
}

interface ChrootAddon {
  chroot(path: string): void;
}

const addon = loadAddon<ChrootAddon>('chroot');

/** Whether chroot is available (the native addon is built and loads). */
export function chrootAvailable(): boolean {
  return !(addon instanceof Error);
}

/**
 * chdir(path); chroot("."); chdir("/"), as dnscache does. Throws the
 * addon's Error ("<call>: <strerror>", with errno and syscall), or one
 * saying the addon is missing.
 */
export function chroot(path: string): void {
  if (addon instanceof Error) {
    throw new Error(`the native chroot addon is not available (${addon.message}); run npm install to build it`);
  }
  addon.chroot(path);
}

/**
 * The drop UID/GID ask for, or null if neither is set. Both or neither:
 * dropping only the user or only the group would leave a half-privileged
 * process, so one alone is an error.
 */
export function privilegeDropFor(config: {
  root: string;
  uid: number | undefined;
  gid: number | undefined;
}): PrivilegeDrop | null {
  const { root, uid, gid } = config;
  if (uid === undefined && gid === undefined) return null;
  if (uid === undefined)
    throw new PrivilegeError(`GID is set but UID is not (to drop privileges, set both UID and GID)`);
  if (gid === undefined)
    throw new PrivilegeError(`UID is set but GID is not (to drop privileges, set both UID and GID)`);
  return { root, uid, gid };
}

type PosixProcess = Required<
  Pick<NodeJS.Process, 'getuid' | 'geteuid' | 'getgid' | 'getegid' | 'getgroups' | 'setuid' | 'setgid' | 'setgroups'>
>;

/** process, with the POSIX-only calls (undefined on Windows) checked to be there. */
function posix(): PosixProcess {
  const p = process as Partial<PosixProcess>;
  if (!p.getuid || !p.geteuid || !p.getgid || !p.getegid || !p.getgroups || !p.setuid || !p.setgid || !p.setgroups) {
    throw new PrivilegeError('UID and GID need a POSIX system (process.setuid and friends are missing)');
  }
  return process as PosixProcess;
}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** "Operation not permitted (EPERM)" from the addon's or Node's errors. */
function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? (typeof e.errno === 'number' ? errnoNames.get(e.errno) : undefined);
  // Node: "EPERM, Operation not permitted"; the addon: "chdir: Permission denied".
  const text = e.message.replace(/^E[A-Z0-9]+, /, '');
  return code && !text.includes(code) ? `${text} (${code})` : text;
}

/** Runs one step; a failure becomes a PrivilegeError saying what could not be done. */
function step(what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    throw new PrivilegeError(`${what}: ${reason(err)}`);
  }
}

/**
 * chroot(ROOT), setgroups([GID]), setgid(GID), setuid(UID), in dnscache's
 * order, then verify(). Throws a PrivilegeError naming the step that failed;
 * the caller must then not go on (the process is in between).
 */
export function dropPrivileges(drop: PrivilegeDrop): void {
  const { root, uid, gid } = drop;
  const p = posix();
  step(`unable to chroot to ${root}`, () => chroot(root));
  // The addon changed the working directory behind Node's back; this also
  // refreshes Node's cached process.cwd().
  step(`unable to change directory to / inside ${root}`, () => process.chdir('/'));
  step(`unable to set supplementary groups to ${gid}`, () => p.setgroups([gid]));
  step(`unable to set group id to ${gid}`, () => p.setgid(gid));
  step(`unable to set user id to ${uid}`, () => p.setuid(uid));
  verify(drop);
}

/** Throws unless the process runs as UID/GID with only GID as group and cannot become root again. */
function verify(drop: PrivilegeDrop): void {
  const { uid, gid } = drop;
  const p = posix();
  const ids: Array<[string, number, number]> = [
    ['real user id', p.getuid(), uid],
    ['effective user id', p.geteuid(), uid],
    ['real group id', p.getgid(), gid],
    ['effective group id', p.getegid(), gid],
  ];
  for (const [what, actual, wanted] of ids) {
    if (actual !== wanted) throw new PrivilegeError(`privileges not dropped: ${what} is ${actual}, expected ${wanted}`);
  }
  // Node always includes the effective group id in the list.
  const groups = [...new Set(p.getgroups())];
  if (groups.length !== 1 || groups[0] !== gid) {
    throw new PrivilegeError(`privileges not dropped: groups are ${groups.join(',')}, expected only ${gid}`);
  }
  // A saved set-user-ID of 0 would let setuid(0) succeed.
  if (uid !== 0) mustFail('user id 0', () => p.setuid(0));
  if (uid !== 0 && gid !== 0) mustFail('group id 0', () => p.setgid(0));
}

function mustFail(what: string, fn: () => void): void {
  let regained = true;
  try {
    fn();
  } catch {
    regained = false;
  }
  if (regained) throw new PrivilegeError(`privileges not dropped: the process could switch back to ${what}`);
}
