// A recording relay on loopback: datagrams and TCP streams sent to
// address:port go on to target:port, and replies come back; everything the
// clients sent is kept. The lab puts one in front of CurveDNS so the tests
// see exactly the bytes a DNSCurve server receives - what a packet capture
// would show - and can check no plain query name is among them.

import { createSocket, Socket } from 'node:dgram';
import { createServer, connect, Server, Socket as TcpSocket } from 'node:net';
import { assertLoopback } from './addresses';

export interface Relayed {
  readonly transport: 'udp' | 'tcp';
  readonly bytes: Buffer;
}

export interface Relay {
  readonly address: string;
  readonly port: number;
  /** What clients sent, in order (TCP: each chunk as read). */
  readonly received: Relayed[];
  stop(): Promise<void>;
}

/** Datagrams from one client go out through their own socket, so replies find their way back. */
const MAX_UDP_CLIENTS = 256;

export async function startRelay(address: string, port: number, target: string, targetPort: number): Promise<Relay> {
  assertLoopback(address, 'relay address');
  assertLoopback(target, 'relay target');
  const received: Relayed[] = [];
  const family = address.includes(':') ? 'udp6' : 'udp4';
  const udp: Socket = createSocket(family);
  const outward = new Map<string, Socket>();
  udp.on('message', (msg, from) => {
    received.push({ transport: 'udp', bytes: Buffer.from(msg) });
    const id = `${from.address}#${from.port}`;
    let out = outward.get(id);
    if (out === undefined) {
      if (outward.size >= MAX_UDP_CLIENTS) {
        const [oldId, old] = outward.entries().next().value!;
        outward.delete(oldId);
        old.close();
      }
      out = createSocket(family);
      out.on('message', (reply) => udp.send(reply, from.port, from.address));
      out.on('error', () => {});
      outward.set(id, out);
    }
    out.send(msg, targetPort, target);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, address, () => resolve());
  });
  const streams = new Set<TcpSocket>();
  const tcp: Server = createServer((client) => {
    const upstream = connect({ host: target, port: targetPort });
    streams.add(client).add(upstream);
    client.on('data', (chunk) => {
      received.push({ transport: 'tcp', bytes: Buffer.from(chunk) });
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      streams.delete(client);
      streams.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, address, () => resolve());
  });
  let stopped = false;
  return {
    address,
    port,
    received,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of streams) s.destroy();
      for (const s of outward.values()) s.close();
      await Promise.all([
        new Promise<void>((r) => tcp.close(() => r())),
        new Promise<void>((r) => udp.close(() => r())),
      ]);
    },
  };
}
