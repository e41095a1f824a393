// dgram's lookup option for IP literals only.

import type { SocketOptions } from 'node:dgram';

type Lookup = NonNullable<SocketOptions['lookup']>;
const LITERAL_LOOKUPS: Record<4 | 6, Lookup> = {
  4: (address, _options, callback) => callback(null, address, 4),
  6: (address, _options, callback) => callback(null, address, 6),
};

/**
 * A dgram lookup for IP literals only. Every address we bind, connect or
 * send to is one (configured servers, glue, a client's source), yet dgram's
 * default lookup still routes each bind, connect and send through
 * dns.lookup and a nextTick: a measurable cost per packet.
 */
export function literalLookup(family: 4 | 6): Lookup {
  return LITERAL_LOOKUPS[family];
}
