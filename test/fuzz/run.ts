// `npm run fuzz [-- --count N] [--replies N] [--seed N]`: a long fuzz run
// (test/fuzz/fuzz.ts) against a real dnscache on loopback; prints the
// report and exits 1 if the process went down or a name was poisoned.

import { runFuzz } from './fuzz';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0)
    throw new Error(`--${name}: ${JSON.stringify(process.argv[i + 1])} is not a whole number`);
  return v;
}

async function main(): Promise<void> {
  const cleanups: Array<() => unknown> = [];
  const queries = option('count', 1_000_000);
  const started = Date.now();
  try {
    const report = await runFuzz(
      {
        queries,
        replies: option('replies', Math.round(queries / 10)),
        seed: option('seed', Date.now() & 0x7fffffff),
        batch: 1000,
        progress: (l) => console.log(l),
      },
      { after: (fn) => void cleanups.push(fn) },
    );
    console.log(JSON.stringify({ ...report, seconds: Math.round((Date.now() - started) / 1000) }, null, 1));
    process.exitCode = report.failures.length === 0 && report.poisoned.length === 0 ? 0 : 1;
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

void main();
