// Which routes a name matches, without trying every pattern. With 1,000
// routes a loop over their regular expressions cost more than the miss
// itself; most patterns end in a literal suffix anchored with `$`
// (`^[ab]*\.miek\.nl\.$`), and only names ending in that suffix can match.
// Each route is filed under what follows its literal tail's first dot;
// a name looks up each of its suffixes that follow a dot (a handful of map
// lookups) and tests only the patterns filed there, plus those with no
// usable tail.

import { Route } from '../config/routes';

/** Is the character at `i` escaped (preceded by an odd number of backslashes)? */
function escaped(source: string, i: number): boolean {
  let n = 0;
  for (let j = i - 1; j >= 0 && source[j] === '\\'; j--) n++;
  return n % 2 === 1;
}

/** Is there a `|` outside every group and character class (then `$` anchors only the last alternative)? */
function topLevelAlternation(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (escaped(source, i)) continue;
    if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

/** Characters that stand for themselves, unescaped. */
const PLAIN = /[a-z0-9_-]/i;

/**
 * What every match of `source` ends with, and whether that is the whole
 * name (the pattern is `^literal$`): the literal characters right before
 * an end anchor. Empty when the pattern is not anchored at its end, has a
 * top-level alternative, or ends in anything but literals.
 */
export function literalTail(source: string): { readonly tail: string; readonly whole: boolean } {
  const none = { tail: '', whole: false };
  if (!source.endsWith('$') || escaped(source, source.length - 1) || topLevelAlternation(source)) return none;
  let tail = '';
  let i = source.length - 2;
  for (; i >= 0; i--) {
    const c = source[i]!;
    if (escaped(source, i)) {
      // `\.`, `\-`: the character itself; `\d`, `\w`, `\b`...: a class or an assertion.
      if (PLAIN.test(c)) break;
      tail = c + tail;
      i--; // the backslash
      continue;
    }
    if (!PLAIN.test(c)) break;
    tail = c + tail;
  }
  return { tail, whole: i === 0 && source[0] === '^' };
}

/** The key a tail is filed under: what follows its first dot (before it may be the end of a longer label), or all of it when it is the whole name. */
function keyOf(tail: string, whole: boolean): string | null {
  if (whole) return tail;
  const dot = tail.indexOf('.');
  return dot < 0 || dot === tail.length - 1 ? null : tail.slice(dot + 1);
}

export class RouteTable {
  private readonly filed = new Map<string, Route[]>();
  /** Routes whose pattern has no literal tail: tested against every name. */
  private readonly always: Route[] = [];
  private readonly order = new Map<Route, number>();

  constructor(readonly routes: readonly Route[]) {
    routes.forEach((r, i) => {
      this.order.set(r, i);
      const { tail, whole } = literalTail(r.pattern.source);
      const key = keyOf(tail, whole);
      if (key === null) this.always.push(r);
      else {
        const list = this.filed.get(key);
        if (list) list.push(r);
        else this.filed.set(key, [r]);
      }
    });
  }

  get size(): number {
    return this.routes.length;
  }

  /** Every route `text` (a lower-cased name with its trailing dot) matches, in the table's order. */
  match(text: string): Route[] {
    const out: Route[] = [];
    for (const r of this.always) if (r.pattern.test(text)) out.push(r);
    // The name itself, then each suffix after a dot ("a.b." -> "a.b.", "b."). Every
    // dot: a pattern sees characters, and `\.` matches the one in an escaped "\." too.
    for (let at = 0; at < text.length;) {
      const list = this.filed.get(at === 0 ? text : text.slice(at));
      if (list) for (const r of list) if (r.pattern.test(text)) out.push(r);
      const dot = text.indexOf('.', at);
      if (dot < 0) break;
      at = dot + 1;
    }
    if (out.length > 1) out.sort((a, b) => this.order.get(a)! - this.order.get(b)!);
    return out;
  }
}
