// The package's version: the programs' --version, and dnscache_build_info.

/** package.json's version (the package's root is three folders above dist/src/platform). */
export function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../../package.json') as { version: string }).version;
}
