// The package's version, for the three programs' --version.

/** package.json's version (the package's root is three folders above dist/src/cli). */
export function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../../package.json') as { version: string }).version;
}
