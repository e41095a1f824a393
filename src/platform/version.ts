// The package's version: the programs' --version, and dnscache_build_info.

// Read when this module loads, which is before dnscache chroots into ROOT
// (everything is loaded first): a /metrics scrape after the chroot could not
// reach package.json any more, and answered 500.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION = (require('../../../package.json') as { version: string }).version;

/** package.json's version (the package's root is three folders above dist/src/platform). */
export function packageVersion(): string {
  return VERSION;
}
