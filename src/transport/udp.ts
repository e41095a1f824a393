// One UDP try against one upstream server: a fresh socket bound to a random
// source port, connected to the server so the kernel discards datagrams from
// anyone else, then the first datagram the caller accepts (spec §5.5).

import { createSocket, Socket, SocketOptions } from 'node:dgram';
import { Random } from '../random/random';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export type TryResult =
  | { readonly kind: 'reply'; readonly bytes: Buffer; readonly rttMs: number }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly message: string };

/** Decides what a received datagram is: the answer, or noise to keep waiting through. */
export type Acceptor = (bytes: Buffer) => boolean;

const BIND_TRIES = 10;

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

function bindRandom(socket: Socket, address: string, random: Random): Promise<void> {
  return new Promise((resolve, reject) => {
    let tries = 0;
    const attempt = (): void => {
      // After a few collisions let the kernel pick (it randomises too).
      const port = tries < BIND_TRIES ? random.port() : 0;
      tries++;
      const onError = (err: NodeJS.ErrnoException): void => {
        socket.off('listening', onListening);
        if (err.code === 'EADDRINUSE' && tries <= BIND_TRIES) attempt();
        else reject(err);
      };
      const onListening = (): void => {
        socket.off('error', onError);
        resolve();
      };
      socket.once('error', onError);
      socket.once('listening', onListening);
      socket.bind({ address, port, exclusive: true });
    };
    attempt();
  });
}

export async function udpTry(server: Endpoint, query: Buffer, sendFrom: string, timeoutMs: number, random: Random, accept: Acceptor): Promise<TryResult> {
  const socket = createSocket({ type: server.family === 6 ? 'udp6' : 'udp4', lookup: literalLookup(server.family) });
  try {
    await bindRandom(socket, sendFrom, random);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(server.port, server.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const started = performance.now();
    return await new Promise<TryResult>((resolve) => {
      const timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
      socket.on('message', (msg) => {
        if (!accept(msg)) return;
        clearTimeout(timer);
        resolve({ kind: 'reply', bytes: msg, rttMs: performance.now() - started });
      });
      socket.on('error', (err) => {
        // ICMP port unreachable and the like: this server will not answer.
        clearTimeout(timer);
        resolve({ kind: 'error', message: err.message });
      });
      socket.send(query, (err) => {
        if (err) {
          clearTimeout(timer);
          resolve({ kind: 'error', message: err.message });
        }
      });
    });
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  } finally {
    socket.removeAllListeners('message');
    socket.on('error', () => {});
    try {
      socket.close();
    } catch {
      // already closed
    }
  }
}
