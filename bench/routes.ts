// The routes file of the `routed` benchmark target (run.ts) and of
// route-cost.ts: 1,000 routes as an operator with many backends might have.

import { ZONE } from './backend';

/**
 * The routes file of the `routed` target: 1,000 routes to the benchmark's NSD,
 * of which one matches the workload's names (everything under the zone) - 900
 * patterns ending in a literal suffix of their own, 90 exact names, and 9
 * patterns with no literal tail, which every name is tested against.
 */
export function benchRoutes(backend: string): string {
  const lines: string[] = [];
  for (let i = 0; i < 900; i++) lines.push(`${backend},^[a-z0-9-]*\\.svc${i}\\.internal\\.$`);
  for (let i = 0; i < 90; i++) lines.push(`${backend},^host${i}\\.example\\.org\\.$`);
  for (let i = 0; i < 9; i++) lines.push(`${backend},^www${i}[0-9]+\\.`);
  lines.push(`${backend},\\.${ZONE.replace(/\./g, '\\.')}\\.$`);
  return lines.join('\n') + '\n';
}
