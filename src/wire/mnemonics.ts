// Types and RCODEs by name, for logs and metrics: one table of each.

import { TYPE } from './constants';

const TYPE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(TYPE).map(([name, code]) => [code, name]));

/** A type's mnemonic, or TYPEnnn (RFC 3597) for one without. */
export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

/** RFC 6895's names of the RCODEs a resolver may send or meet. */
const RCODE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'NOERROR'],
  [1, 'FORMERR'],
  [2, 'SERVFAIL'],
  [3, 'NXDOMAIN'],
  [4, 'NOTIMP'],
  [5, 'REFUSED'],
  [6, 'YXDOMAIN'],
  [7, 'YXRRSET'],
  [8, 'NXRRSET'],
  [9, 'NOTAUTH'],
  [10, 'NOTZONE'],
  [16, 'BADVERS'],
]);

/** An RCODE's name (NOERROR, SERVFAIL, ...), or RCODEnn. */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`;
}

/** The RCODEs that have a name, by name: what a user may type for one. */
export const RCODES_BY_NAME: ReadonlyMap<string, number> = new Map(
  [...RCODE_NAMES].map(([code, name]) => [name, code]),
);
