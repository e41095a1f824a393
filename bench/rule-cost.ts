// `node dist/bench/rule-cost.js [--none]`: what the rule book costs a
// question, in process: 5 million checks of 1,000 hot names against the
// benchmark's 1,000 rules (THOUSAND_RULES; none match), or against none.
// Run it with --trace-gc to see that a check allocates nothing.

import { RuleAction } from '../src/rules/action';
import { RuleBook } from '../src/rules/book';
import { Name, nameFromText } from '../src/wire/name';
import { THOUSAND_RULE_NAMES } from './rule-set';

const book = new RuleBook();
if (!process.argv.includes('--none')) {
  const rules = new Map<Name, RuleAction>();
  for (const [suffix, action] of THOUSAND_RULE_NAMES) rules.set(nameFromText(suffix), action);
  book.swapFiles(rules);
}
const names = Array.from({ length: 1000 }, (_, i) => nameFromText(`n${i}.bench.test`));
const ROUNDS = 5000;
let sum = 0;
const started = performance.now();
for (let r = 0; r < ROUNDS; r++) for (const n of names) sum += book.check(n, null, true);
const ns = ((performance.now() - started) * 1e6) / (ROUNDS * names.length);
process.stdout.write(
  `${book.size} rules: ${ns.toFixed(1)} ns a check (${ROUNDS * names.length} checks, ${sum} ruled)\n`,
);
