// One UDP try against one upstream server: a fresh socket bound to a random
// source port, connected to the server so the kernel discards datagrams from
// anyone else, then the first datagram the caller accepts (spec §5.5).

import { createSocket, Socket, SocketOptions } from 'node:dgram';
import type { Endpoint } from '../config/address';
import { Random } from '../random/random';
import { PendingTimeout, upstreamTimeouts } from './timeouts';

export type { Endpoint } from '../config/address';

export type TryResult =
  | { readonly kind: 'reply'; readonly bytes: Buffer; readonly rttMs: number }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly message: string };

/** Decides what a received datagram is: the answer, or noise to keep waiting through. */
export type Acceptor = (bytes: Buffer) => boolean;

const BIND_TRIES = 10;
const TIMED_OUT: TryResult = { kind: 'timeout' };

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

/**
 * Binds to a random port (dnscache's rule, spec §5.5), retrying on
 * collisions. With a literal lookup dgram binds synchronously and reports
 * failure through a synchronous 'error' event, so no promise is needed.
 */
function bindRandom(socket: Socket, address: string, random: Random): Error | null {
  let failure: NodeJS.ErrnoException | null = null;
  let bound = false;
  const onError = (err: NodeJS.ErrnoException): void => {
    failure = err;
  };
  socket.on('error', onError);
  try {
    for (let tries = 0; ; tries++) {
      failure = null;
      // After a few collisions let the kernel pick (it randomises too).
      socket.bind({ address, port: tries < BIND_TRIES ? random.port() : 0, exclusive: true }, () => {
        bound = true;
      });
      if (bound) return null;
      const err = failure as NodeJS.ErrnoException | null;
      if (err === null) return new Error('bind did not complete synchronously');
      if (err.code !== 'EADDRINUSE' || tries >= BIND_TRIES) return err;
    }
  } finally {
    socket.off('error', onError);
  }
}

/**
 * One try, driven by callbacks: bind, connect and send all complete
 * synchronously with a literal lookup, so the try costs no promise and one
 * slot on the timeout wheel (timeouts.ts). `done` is called exactly once,
 * possibly before this returns (a failed bind), and must not throw: it may
 * run inside a socket's event handler. (A CPU profile of cold misses had the
 * awaits between these steps, then the promise and async frames around
 * them, among its larger JS entries.)
 */
export function startUdpTry(server: Endpoint, query: Buffer, sendFrom: string, timeoutMs: number, random: Random, accept: Acceptor, done: (result: TryResult) => void): void {
  const socket = createSocket({ type: server.family === 6 ? 'udp6' : 'udp4', lookup: literalLookup(server.family) });
  let timer: PendingTimeout | null = null;
  let finished = false;
  const finish = (result: TryResult): void => {
    if (finished) return;
    finished = true;
    if (timer !== null) upstreamTimeouts.cancel(timer);
    try {
      socket.close();
    } catch {
      // already closed
    }
    done(result);
  };
  const bindError = bindRandom(socket, sendFrom, random);
  if (bindError) {
    socket.on('error', () => {});
    finish({ kind: 'error', message: bindError.message });
    return;
  }
  // Send errors, and ICMP port unreachable and the like on the connected
  // socket: this server will not answer. Errors after the end are ignored.
  socket.on('error', (err) => finish({ kind: 'error', message: err.message }));
  let started = 0;
  socket.on('message', (msg) => {
    if (!finished && accept(msg)) finish({ kind: 'reply', bytes: msg, rttMs: performance.now() - started });
  });
  try {
    socket.connect(server.port, server.address);
    started = performance.now();
    socket.send(query);
  } catch (err) {
    finish({ kind: 'error', message: (err as Error).message });
    return;
  }
  timer = upstreamTimeouts.after(timeoutMs, () => finish(TIMED_OUT));
}

/** startUdpTry as a promise. */
export function udpTry(server: Endpoint, query: Buffer, sendFrom: string, timeoutMs: number, random: Random, accept: Acceptor): Promise<TryResult> {
  return new Promise<TryResult>((resolve) => startUdpTry(server, query, sendFrom, timeoutMs, random, accept, resolve));
}
