// One UDP try against one server, over real loopback sockets: the random
// source port (and what happens when it is taken), the reply, decoys, an
// ICMP-refused server and a silent one.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, Socket } from 'node:dgram';
import { Random } from '../../src/random/random';
import { udpTry } from '../../src/transport/udp';

/** A Random whose ports come from a list, then from the real generator. */
function portsFrom(ports: number[]): Random {
  const r = new Random(null);
  const real = r.port.bind(r);
  r.port = () => ports.shift() ?? real();
  return r;
}

async function bound(port = 0): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(port, '127.0.0.1', resolve));
  return s;
}

/** An echo server answering every datagram with `reply(query)` (or nothing for null). */
async function server(reply: (q: Buffer) => Buffer[] | null): Promise<{ port: number; sources: number[]; close(): void }> {
  const s = await bound();
  const sources: number[] = [];
  s.on('message', (msg, peer) => {
    sources.push(peer.port);
    for (const out of reply(msg) ?? []) s.send(out, peer.port, peer.address);
  });
  return { port: s.address().port, sources, close: () => s.close() };
}

const QUERY = Buffer.from('0102abcd', 'hex');

describe('udpTry', () => {
  it('binds a random port, retries one that is taken, and returns the accepted reply', async () => {
    const taken = await bound();
    const srv = await server((q) => [Buffer.from('junk'), Buffer.concat([q, Buffer.from('!')])]);
    try {
      const wanted = 20000 + Math.floor(Math.random() * 20000);
      const r = await udpTry({ address: '127.0.0.1', port: srv.port, family: 4 }, QUERY, '127.0.0.1', 2000, portsFrom([taken.address().port, wanted]), (b) => b.length === 5);
      assert.equal(r.kind, 'reply');
      assert.deepEqual(r.kind === 'reply' && r.bytes, Buffer.concat([QUERY, Buffer.from('!')]));
      // The taken port was skipped for the next random one.
      assert.deepEqual(srv.sources, [wanted]);
    } finally {
      taken.close();
      srv.close();
    }
  });

  it('a refused port (ICMP unreachable) is an error at once, not a timeout', async () => {
    const closed = await bound();
    const port = closed.address().port;
    closed.close();
    const t0 = Date.now();
    const r = await udpTry({ address: '127.0.0.1', port, family: 4 }, QUERY, '127.0.0.1', 3000, new Random(null), () => true);
    assert.equal(r.kind, 'error');
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  });

  it('a silent server: timeout after the given time', async () => {
    const srv = await server(() => null);
    try {
      const t0 = Date.now();
      const r = await udpTry({ address: '127.0.0.1', port: srv.port, family: 4 }, QUERY, '127.0.0.1', 150, new Random(null), () => true);
      assert.equal(r.kind, 'timeout');
      assert.ok(Date.now() - t0 >= 140, `took ${Date.now() - t0} ms`);
    } finally {
      srv.close();
    }
  });

  it('an address it cannot send from is an error', async () => {
    const r = await udpTry({ address: '127.0.0.1', port: 53, family: 4 }, QUERY, '192.0.2.1', 1000, new Random(null), () => true);
    assert.equal(r.kind, 'error');
  });
});
