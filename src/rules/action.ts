// What an abuse rule does to a question it matches, and the one-line syntax
// rules/ files, ip/ files and `dnscache-ctl limit` share. Pure.

/** dnsdist's actions, in dnscache's file model. */
export type RuleAction =
  /** No reply at all. */
  | { readonly kind: 'drop' }
  /** RCODE REFUSED, the question echoed. */
  | { readonly kind: 'refuse' }
  /** RCODE NXDOMAIN, no records. */
  | { readonly kind: 'nxdomain' }
  /** Over UDP: an empty reply with TC=1, so a real client asks again over TCP; over TCP: answered as usual. */
  | { readonly kind: 'truncate' }
  /** Up to `limit` questions a second answered as usual; the excess dropped. */
  | { readonly kind: 'qps'; readonly limit: number };

export type ActionKind = RuleAction['kind'];
export const ACTION_KINDS: readonly ActionKind[] = ['drop', 'refuse', 'nxdomain', 'truncate', 'qps'];

export const QPS_MAX = 10_000_000;
export const EXPECTED_ACTION = `expected one of drop, refuse, nxdomain, truncate or "qps N" (N from 1 to ${QPS_MAX})`;

/** One action as written (`drop`, `qps 50`), or why it is not one. */
export function parseAction(text: string): { ok: true; action: RuleAction } | { ok: false; reason: string } {
  const words = text.trim().split(/[ \t]+/);
  const [kind, arg] = words;
  if (kind === 'qps') {
    if (words.length !== 2) return { ok: false, reason: '"qps" needs one number' };
    const n = /^[0-9]{1,8}$/.test(arg!) ? Number(arg) : NaN;
    if (!(n >= 1 && n <= QPS_MAX))
      return { ok: false, reason: `${JSON.stringify(arg)} is not a number from 1 to ${QPS_MAX}` };
    return { ok: true, action: { kind: 'qps', limit: n } };
  }
  if (words.length === 1 && (kind === 'drop' || kind === 'refuse' || kind === 'nxdomain' || kind === 'truncate'))
    return { ok: true, action: { kind } };
  return { ok: false, reason: 'not an action' };
}

/**
 * The action of a rule file's text: blank lines and `#` comments skipped,
 * then exactly one action line. Returns null for a file without any (an
 * ip/ file that only admits); a problem is a message naming `label`, the
 * line and what was expected.
 */
export function actionOfFile(
  text: string,
  label: string,
): { ok: true; action: RuleAction | null } | { ok: false; message: string } {
  let found: RuleAction | null = null;
  let foundLine = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const hash = lines[i]!.indexOf('#');
    const line = (hash < 0 ? lines[i]! : lines[i]!.slice(0, hash)).trim();
    if (line === '') continue;
    if (foundLine !== 0)
      return {
        ok: false,
        message: `${label} line ${i + 1}: a second action (the first is line ${foundLine}; expected one action per file)`,
      };
    const parsed = parseAction(line);
    if (!parsed.ok)
      return {
        ok: false,
        message: `${label} line ${i + 1}: ${JSON.stringify(line.slice(0, 80))}: ${parsed.reason} (${EXPECTED_ACTION})`,
      };
    found = parsed.action;
    foundLine = i + 1;
  }
  return { ok: true, action: found };
}

/** As written in a file, and as `dnscache-ctl` shows it. */
export function actionText(a: RuleAction): string {
  return a.kind === 'qps' ? `qps ${a.limit}` : a.kind;
}
