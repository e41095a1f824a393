// QNAME minimisation (RFC 9156), relaxed: on the way down, each zone's
// servers are asked only for the next label below their zone, with type NS
// (as Knot Resolver does). A referral moves the question to the zone below;
// any other answer - an NS answer too: the same servers serve the child -
// means these servers can go on, so one more label is added. A server that answers a
// minimised question with NXDOMAIN (an empty non-terminal it does not know
// exists), an error or silence may simply be broken for minimised
// questions: the question is then asked in full, as a resolver without
// minimisation would (the relaxed mode of RFC 9156 §2.3 / Unbound's
// qname-minimisation-strict: no).

import { TYPE } from '../wire/constants';
import { Name } from '../wire/name';
import { Verdict } from './classify';

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
  private zone: Name | null = null;
  /** Labels below `zone` asked for next. */
  private below = 1;
  private asked = 0;
  private full: boolean;

  constructor(enabled: boolean) {
    this.full = !enabled;
  }

  /** The question to ask the servers of `zone` for (name, type). */
  question(name: Name, type: number, zone: Name): readonly [Name, number] {
    if (this.full) return [name, type];
    if (zone !== this.zone) {
      this.zone = zone;
      this.below = 1;
    }
    const target = ancestorWith(name, labelCount(zone) + this.below);
    if (target === name || this.asked >= MAX_MINIMISE_COUNT) return [name, type];
    this.asked++;
    return [target, TYPE.NS];
  }

  /** The minimised question got `kind` (not a referral): no cut there; go one label further, or in full. */
  answered(kind: Verdict['kind']): void {
    if (kind === 'nxdomain' || kind === 'cname') this.full = true;
    else this.below++;
  }

  /** The minimised question failed: ask in full from now on. */
  giveUp(): void {
    this.full = true;
  }
}
