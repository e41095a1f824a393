// rules/ in ROOT: one file per suffix (named like servers/ files, `@` for
// every name), holding the one action for names at or below it. Read at
// start and on reload, all or nothing: a bad file leaves the rules in force.

import { ConfigError } from './errors';
import { readDomainFiles } from './domain-files';
import { Name } from '../wire/name';
import { actionOfFile, EXPECTED_ACTION, RuleAction } from '../rules/action';
import { MAX_FILE_RULES } from '../rules/book';

/** Reads `rootDir/rules/` (none: no rules); throws a ConfigError naming the file and line. */
export function readRulesDir(rootDir: string): ReadonlyMap<Name, RuleAction> {
  const out = new Map<Name, RuleAction>();
  for (const f of readDomainFiles(rootDir, 'rules', {
    missing: 'empty',
    contents: 'one action',
    maxFiles: MAX_FILE_RULES,
  })) {
    const parsed = actionOfFile(f.text, f.label);
    if (!parsed.ok) throw new ConfigError(parsed.message);
    if (parsed.action === null) throw new ConfigError(`${f.label}: no action (${EXPECTED_ACTION})`);
    out.set(f.name, parsed.action);
  }
  return out;
}
