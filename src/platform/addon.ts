// The native addons (native/*.c), built by node-gyp on `npm install`/`npm ci`
// into build/Release. They are loaded when the modules that use them are, at
// start-up: after a chroot their files are out of reach.

import { join } from 'node:path';

/** build/Release/<name>.node, from dist/src/platform/. */
function addonPath(name: string): string {
  return join(__dirname, '..', '..', '..', 'build', 'Release', `${name}.node`);
}

/** The addon's exports, or the Error that loading it gave (not built, wrong platform). */
export function loadAddon<T>(name: string): T | Error {
  try {
    return require(addonPath(name)) as T;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
