// The native addons (native/*.c), built by node-gyp on `npm install`/`npm ci`
// into build/Release. They are loaded when the modules that use them are, at
// start-up: after a chroot their files are out of reach.

import { join } from 'node:path';
import { getSystemErrorName } from 'node:util';

/** build/Release/<name>.node, from dist/src/platform/. */
function addonPath(name: string): string {
  return join(__dirname, '..', '..', '..', 'build', 'Release', `${name}.node`);
}

/** The addon's exports, or the Error that loading it gave (not built, wrong platform). */
export function loadAddon<T>(name: string): T | Error {
  try {
    // A computed path that may not exist (no compiler at install): only require() can try it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(addonPath(name)) as T;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * An addon's Error ("bind: Address already in use", errno 98, syscall
 * "bind") as node's own socket errors word it: "bind EADDRINUSE
 * 127.0.0.1:53", with code, errno (negative) and syscall.
 */
export function systemError(err: unknown, where: string): NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.errno !== 'number' || typeof e.syscall !== 'string')
    return err instanceof Error ? err : new Error(String(err));
  const code = getSystemErrorName(-e.errno);
  const out = new Error(`${e.syscall} ${code} ${where}`) as NodeJS.ErrnoException;
  out.code = code;
  out.errno = -e.errno;
  out.syscall = e.syscall;
  return out;
}
