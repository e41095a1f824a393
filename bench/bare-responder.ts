// The floor for a Node.js resolver on node:dgram: a dgram server that answers every query
// by copying one canned reply and patching in the query's ID. No parsing, no
// cache, no logging - only what Node itself costs per datagram in and out.
// Usage: node dist/bench/bare-responder.js ADDRESS PORT

import * as dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { literalLookup } from '../src/transport/lookup';

const [address = '127.0.0.1', portText = '5300'] = process.argv.slice(2);

// A typical positive answer (one A record), close in size to what the resolvers send.
const canned = dnsPacket.encode({
  type: 'response',
  id: 0,
  flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
  questions: [{ type: 'A', name: 'h0.bench.test', class: 'IN' }],
  answers: [{ type: 'A', name: 'h0.bench.test', class: 'IN', ttl: 86400, data: '10.0.0.0' }],
});

// dgram resolves even IP literals through dns.lookup (and a nextTick) on every
// send unless told otherwise; dnscache-ts skips that, so the floor does too.
const socket = dgram.createSocket({ type: 'udp4', lookup: literalLookup(4) });
socket.on('message', (query, peer) => {
  if (query.length < 12) return;
  // A copy per reply: the buffer must not change while a send is pending.
  const reply = Buffer.from(canned);
  reply[0] = query[0]!;
  reply[1] = query[1]!;
  socket.send(reply, peer.port, peer.address);
});
socket.bind(Number(portText), address);
const stop = (): void => {
  socket.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
