// QNAME minimisation (RFC 9156), relaxed, as Knot Resolver does it: on the
// way down, each zone's servers are asked only for the next label below
// their zone, with type NS. A referral moves the question to the zone
// below. Any other answer means there is no zone cut at that name, and the
// servers that gave it serve everything below it as far as they know: the
// question is then asked in full (RFC 9156 would add one label at a time;
// the names below an empty non-terminal are the zone's own business, and
// Knot's way costs fewer queries). A server that answers a minimised
// question with NXDOMAIN (an empty non-terminal it does not know exists),
// an error or silence may simply be broken for minimised questions: the
// question is asked in full then too (the relaxed mode of RFC 9156 §2.3,
// Unbound's qname-minimisation-strict: no).

import { TYPE } from '../wire/constants';
import { Name } from '../wire/name';

/** Minimised questions one resolution may ask before it asks in full (RFC 9156 §2.3 MAX_MINIMISE_COUNT). */
export const MAX_MINIMISE_COUNT = 10;

function labelCount(name: Name): number {
  let n = 0;
  for (let i = 0; name.charCodeAt(i) !== 0; i += name.charCodeAt(i) + 1) n++;
  return n;
}

/** The ancestor of `name` (or `name` itself) with `labels` labels. */
function ancestorWith(name: Name, labels: number): Name {
  let drop = labelCount(name) - labels;
  let i = 0;
  for (; drop > 0; drop--) i += name.charCodeAt(i) + 1;
  return name.slice(i) as Name;
}

/** Where one resolution stands in minimising its question. */
export class MinimiseState {
  private asked = 0;
  private full: boolean;

  constructor(enabled: boolean) {
    this.full = !enabled;
  }

  /** The question to ask the servers of `zone` for (name, type). */
  question(name: Name, type: number, zone: Name): readonly [Name, number] {
    if (this.full) return [name, type];
    const target = ancestorWith(name, labelCount(zone) + 1);
    if (target === name || this.asked >= MAX_MINIMISE_COUNT) return [name, type];
    this.asked++;
    return [target, TYPE.NS];
  }

  /** The minimised question was answered (not referred) or failed: ask in full from now on. */
  giveUp(): void {
    this.full = true;
  }
}
