// Loopback address allocation for lab servers.
//
// Every test file runs its servers on its own random 127.A.B.C so parallel
// test processes never fight over a port, and so a test can give each fake
// nameserver a distinct IP exactly as on the real Internet.

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import ipaddr from 'ipaddr.js';

/** True for 127.0.0.0/8 and ::1 (also 127/8 in IPv4-mapped form). */
export function isLoopback(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'loopback';
}

/** The lab must never touch a real network; refuse anything but loopback. */
export function assertLoopback(address: string, what: string): void {
  if (!isLoopback(address)) throw new Error(`lab: ${what} ${address} is not a loopback address`);
}

/** The address to bind a client socket to when the caller did not choose one. */
export function defaultSource(server: string): string {
  return net.isIPv6(server) ? '::1' : '127.0.0.1';
}

function randomInt(lo: number, hi: number): number {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

function closeQuietly(thing: { close(cb?: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => {
    try {
      thing.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/** True if both UDP and TCP can bind `address`:`port` right now. */
export async function canBind(address: string, port: number): Promise<boolean> {
  const udp = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
  const tcp = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address, port, exclusive: true }, () => resolve());
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host: address, port, exclusive: true }, () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    await closeQuietly(udp);
    if (tcp.listening) await closeQuietly(tcp);
  }
}

/**
 * A random 127.A.B.C (A 64..250, B and C 1..254) where binding both UDP and
 * TCP to `port` works right now. The range avoids 127.0.0.x, which system
 * resolvers and other local services like to use.
 */
export async function freeLoopback(port = 0): Promise<string> {
  for (let attempt = 0; attempt < 64; attempt++) {
    const address = `127.${randomInt(64, 250)}.${randomInt(1, 254)}.${randomInt(1, 254)}`;
    if (await canBind(address, port)) return address;
  }
  throw new Error(`lab: no free loopback address for port ${port}`);
}
