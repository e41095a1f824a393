// The content of a reply, independent of who asked and how: what resolution
// (or an internal answer) produced, before it is written for a client.

import { RCODE } from './constants';
import { OutRecord } from './writer';

export interface Answer {
  readonly rcode: number;
  /** CNAME chain first, then the records for the final name. */
  readonly answer: readonly OutRecord[];
  /** The SOA of a negative answer (RFC 2308), else empty. */
  readonly authority: readonly OutRecord[];
  /** dnscache marks only NXDOMAIN replies authoritative. */
  readonly aa: boolean;
  /** Seconds the assembled reply may be served from cache; 0 = build it each time. */
  readonly lifetime: number;
  /** Expired data served because resolution failed (serve-stale), for the latency metrics. */
  readonly stale?: true;
}

/**
 * SERVFAIL carries no records, not even the CNAMEs followed before the
 * failure (dnscache sent them): a half-resolved chain is not something a
 * downstream cache should keep or use. The one exception is made by the
 * resolver: a CNAME loop is sent with the chain that loops, so the client
 * sees why (as Unbound and Knot Resolver do).
 */
export function servfail(): Answer {
  return SERVFAIL;
}

const SERVFAIL: Answer = { rcode: RCODE.SERVFAIL, answer: [], authority: [], aa: false, lifetime: 0 };
