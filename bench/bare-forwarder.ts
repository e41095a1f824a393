// The floor for a cache miss in any Node.js resolver that uses a fresh
// random source port per upstream query (as dnscache, Unbound and
// dnscache-ts do): per client query, a new dgram socket bound to a random
// port and connected to the backend, the query sent on as it came, the
// first reply relayed back with the client's ID, the socket closed. No
// parsing, no cache, no checks, no logging - only what Node itself costs
// per miss.
// Usage: node dist/bench/bare-forwarder.js ADDRESS PORT BACKEND_ADDRESS BACKEND_PORT

import { randomInt } from 'node:crypto';
import * as dgram from 'node:dgram';
import { literalLookup } from '../src/transport/lookup';

const [address = '127.0.0.1', portText = '5300', backend = '127.0.0.1', backendPortText = '5354'] =
  process.argv.slice(2);
const backendPort = Number(backendPortText);
// dgram resolves even IP literals through dns.lookup unless told otherwise; dnscache-ts skips that, so the floor does too.
const options: dgram.SocketOptions = { type: 'udp4', lookup: literalLookup(4) };

const server = dgram.createSocket(options);
server.on('message', (query, client) => {
  if (query.length < 12) return;
  const upstream = dgram.createSocket(options);
  let open = true;
  const done = (): void => {
    if (!open) return;
    open = false;
    clearTimeout(timer);
    upstream.close();
  };
  const timer = setTimeout(done, 2000);
  upstream.on('error', done);
  upstream.on('message', (reply) => {
    done();
    server.send(reply, client.port, client.address);
  });
  // A taken port (or any other failure) drops the query, as a lost one.
  try {
    upstream.bind({ address: '127.0.0.1', port: randomInt(1024, 65536), exclusive: true });
    if (open) upstream.connect(backendPort, backend);
    if (open) upstream.send(query);
  } catch {
    done();
  }
});
server.bind(Number(portText), address);
const stop = (): void => {
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
