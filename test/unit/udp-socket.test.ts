// Both listening sockets (node:dgram and the recvmmsg/sendmmsg addon) on
// real loopback sockets: what the listener relies on must hold for each.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, Socket } from 'node:dgram';
import * as os from 'node:os';
import { BatchUdpSocket, batchAvailable } from '../../src/server/udp-batch';
import { DgramUdpSocket, OnDatagram, Peer, ServerUdpSocket, UdpSocketOptions } from '../../src/server/udp-socket';

type Make = (opts: UdpSocketOptions, on: OnDatagram) => ServerUdpSocket;

const kinds: Array<[string, Make, boolean]> = [
  ['node:dgram', (o, on) => new DgramUdpSocket(o, on), true],
  ['recvmmsg/sendmmsg addon', (o, on) => new BatchUdpSocket(o, on), batchAvailable()],
];

const hasIpv6Loopback = ((): boolean => {
  try {
    return os.networkInterfaces().lo?.some((i) => i.family === 'IPv6') ?? false;
  } catch {
    return false;
  }
})();

/** A client socket and the datagrams it receives. */
async function client(
  family: 4 | 6,
): Promise<{ socket: Socket; port: number; got: Buffer[]; wait: (n: number) => Promise<Buffer[]> }> {
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  const got: Buffer[] = [];
  let waiter: (() => void) | null = null;
  socket.on('message', (m) => {
    got.push(m);
    waiter?.();
  });
  await new Promise<void>((resolve) => socket.bind(0, family === 6 ? '::1' : '127.0.0.1', () => resolve()));
  const wait = (n: number): Promise<Buffer[]> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`got ${got.length} datagrams, expected ${n}`)), 5000);
      const check = (): void => {
        if (got.length >= n) {
          clearTimeout(timer);
          waiter = null;
          resolve(got);
        }
      };
      waiter = check;
      check();
    });
  return { socket, port: socket.address().port, got, wait };
}

for (const [kind, make, available] of kinds) {
  describe(`listening UDP socket: ${kind}`, { skip: available ? false : 'the native addon is not built' }, () => {
    const open: ServerUdpSocket[] = [];
    const clients: Socket[] = [];
    after(async () => {
      await Promise.all(open.map((s) => s.close()));
      for (const c of clients) c.close();
    });

    async function serve(
      on: (s: () => ServerUdpSocket) => OnDatagram,
      address = '127.0.0.1',
      family: 4 | 6 = 4,
    ): Promise<ServerUdpSocket> {
      let self: ServerUdpSocket | null = null;
      const s = make(
        { address, port: 0, family },
        on(() => self!),
      );
      self = s;
      await s.bind();
      open.push(s);
      return s;
    }

    it('answers each datagram at once, whole and in order, telling who sent it', async () => {
      const seen: Array<[string, number]> = [];
      const s = await serve((self) => (packet, address, port) => {
        seen.push([address, port]);
        self().reply(Buffer.concat([Buffer.from('re:'), packet]));
      });
      assert.ok(s.port > 0);
      const c = await client(4);
      clients.push(c.socket);
      // 200 at once: more than one batch of the addon's (32) waits in the socket.
      const big = Buffer.alloc(9000, 7);
      for (let i = 0; i < 200; i++) c.socket.send(i === 100 ? big : Buffer.from(`q${i}`), s.port, '127.0.0.1');
      const got = await c.wait(200);
      const texts = got.map((m) => (m.length > 100 ? `big ${m.length}` : m.toString('latin1')));
      assert.deepEqual(
        texts,
        Array.from({ length: 200 }, (_, i) => (i === 100 ? `big ${9003}` : `re:q${i}`)),
      );
      assert.ok(got[100]!.subarray(3).equals(big));
      assert.equal(seen.length, 200);
      assert.ok(seen.every(([a, p]) => a === '127.0.0.1' && p === c.port));
    });

    it('answers later, through peer() and sendTo(), from a copy of the packet', async () => {
      const later: Array<[Buffer, Peer]> = [];
      const s = await serve((self) => (packet) => {
        later.push([Buffer.from(packet), self().peer()]);
      });
      const a = await client(4);
      const b = await client(4);
      clients.push(a.socket, b.socket);
      const arrived = async (n: number): Promise<void> => {
        for (let t = 0; later.length < n && t < 100; t++) await new Promise((r) => setTimeout(r, 20));
        assert.equal(later.length, n);
      };
      // All of a's first, then b's: b's datagrams land in the slots a's had.
      for (let i = 0; i < 20; i++) a.socket.send(Buffer.from(`a${i}`), s.port, '127.0.0.1');
      await arrived(20);
      for (let i = 0; i < 20; i++) b.socket.send(Buffer.from(`b${i}`), s.port, '127.0.0.1');
      await arrived(40);
      // Answered after every batch is long gone, in reverse order.
      for (const [packet, peer] of later.reverse()) s.sendTo(Buffer.concat([Buffer.from('late:'), packet]), peer);
      const [ga, gb] = await Promise.all([a.wait(20), b.wait(20)]);
      assert.deepEqual(ga.map(String).sort(), Array.from({ length: 20 }, (_, i) => `late:a${i}`).sort());
      assert.deepEqual(gb.map(String).sort(), Array.from({ length: 20 }, (_, i) => `late:b${i}`).sort());
    });

    it('fails to bind a port in use with the errno name, as node:dgram does', async () => {
      const s = await serve(() => () => {});
      const clash = make({ address: '127.0.0.1', port: s.port, family: 4 }, () => {});
      await assert.rejects(clash.bind(), (err: NodeJS.ErrnoException) => {
        assert.equal(err.code, 'EADDRINUSE');
        assert.match(err.message, new RegExp(`EADDRINUSE 127\\.0\\.0\\.1:${s.port}`));
        return true;
      });
      await clash.close();
    });

    it('stops delivering once closed, and closes twice without harm', async () => {
      let count = 0;
      const s = make({ address: '127.0.0.1', port: 0, family: 4 }, () => count++);
      await s.bind();
      const port = s.port;
      const c = await client(4);
      clients.push(c.socket);
      c.socket.send('one', port, '127.0.0.1');
      for (let t = 0; count < 1 && t < 100; t++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(count, 1);
      await s.close();
      await s.close();
      c.socket.send('two', port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(count, 1);
    });

    /** Serves on `address`, sends `text` from a client of `clientFamily`; the reply and the address the socket reported. */
    async function echoFrom(
      address: string,
      clientFamily: 4 | 6,
      to: string,
    ): Promise<{ reply: string; seen: string[] }> {
      const seen: string[] = [];
      const s = await serve(
        (self) => (packet, from) => {
          seen.push(from);
          self().reply(packet);
        },
        address,
        6,
      );
      const c = await client(clientFamily);
      clients.push(c.socket);
      c.socket.send('hello', s.port, to);
      return { reply: String((await c.wait(1))[0]), seen };
    }

    it('gives IPv4 clients of an IPv6 socket on :: the mapped address text', async () => {
      assert.deepEqual(await echoFrom('::', 4, '127.0.0.1'), { reply: 'hello', seen: ['::ffff:127.0.0.1'] });
    });

    it('serves IPv6 clients', { skip: hasIpv6Loopback ? false : 'no IPv6 loopback' }, async () => {
      assert.deepEqual(await echoFrom('::1', 6, '::1'), { reply: 'hello', seen: ['::1'] });
    });
  });
}

describe(
  'listening UDP socket: SO_REUSEPORT for WORKERS',
  { skip: batchAvailable() ? false : 'the native addon is not built' },
  () => {
    it('lets each process bind the port, and the kernel spreads the senders over them', async () => {
      const seen = [0, 0];
      const make = (k: number, port: number): BatchUdpSocket => {
        const s: BatchUdpSocket = new BatchUdpSocket(
          { address: '127.0.0.1', port, family: 4, reusePort: true },
          (packet) => {
            seen[k]!++;
            s.reply(packet);
          },
        );
        return s;
      };
      const first = make(0, 0);
      await first.bind();
      const second = make(1, first.port);
      await second.bind();
      const clients = await Promise.all(Array.from({ length: 40 }, () => client(4)));
      try {
        for (const c of clients) c.socket.send('hi', first.port, '127.0.0.1');
        await Promise.all(clients.map((c) => c.wait(1)));
        assert.equal(seen[0]! + seen[1]!, 40);
        // 40 source ports hashed over 2 sockets: both get some (all on one: about 1 in 5e11).
        assert.ok(seen[0]! > 0 && seen[1]! > 0, `spread ${seen.join('/')}`);
      } finally {
        for (const c of clients) c.socket.close();
        await Promise.all([first.close(), second.close()]);
      }
    });
  },
);
