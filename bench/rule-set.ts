// The benchmark's 1,000 abuse rules: none matches a benchmark name, of many
// lengths and under the benchmark's own zone too, so a hit's walk up its
// labels finds rules of its suffixes' lengths and looks them up (the worst
// case of the length filter in rules/book.ts).

import { RuleAction } from '../src/rules/action';

const ACTIONS: readonly RuleAction[] = [
  { kind: 'drop' },
  { kind: 'refuse' },
  { kind: 'nxdomain' },
  { kind: 'truncate' },
  { kind: 'qps', limit: 100 },
];
const PARENTS = ['bench.test', 'example.com', 't-ipnet.de', 'test', 'net'];

export const THOUSAND_RULE_NAMES: ReadonlyArray<readonly [string, RuleAction]> = Array.from(
  { length: 1000 },
  (_, i) => [`abuse${i}.${PARENTS[i % 5]}`, ACTIONS[i % 5]!] as const,
);
