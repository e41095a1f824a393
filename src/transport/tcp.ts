// One TCP try against one upstream server (after a truncated UDP reply, or
// a route backend's health check, route/health.ts): connect, send the
// length-prefixed query, read length-prefixed replies until one is accepted.

import { connect } from 'node:net';
import type { Clock } from '../platform/clock';
import { Acceptor, CANCELLED, Endpoint, RunningTry, TryResult } from './udp';

/** One TCP try; `done` is told its outcome exactly once (CANCELLED when the try is cancelled). */
export function tcpTry(
  server: Endpoint,
  query: Buffer,
  sendFrom: string,
  timeoutMs: number,
  clock: Clock,
  accept: Acceptor,
  done: (result: TryResult) => void,
): RunningTry {
  const started = clock.now();
  const socket = connect({ host: server.address, port: server.port, localAddress: sendFrom, family: server.family });
  let buffered: Buffer = Buffer.alloc(0);
  let settled = false;
  const finish = (result: TryResult): void => {
    if (settled) return;
    settled = true;
    timer.cancel();
    socket.destroy();
    done(result);
  };
  const timer = clock.after(timeoutMs, () => finish({ kind: 'timeout' }));
  socket.on('connect', () => {
    const framed = Buffer.allocUnsafe(query.length + 2);
    framed.writeUInt16BE(query.length, 0);
    query.copy(framed, 2);
    socket.write(framed);
  });
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const len = buffered.readUInt16BE(0);
      if (buffered.length < len + 2) return;
      const msg = buffered.subarray(2, len + 2);
      buffered = buffered.subarray(len + 2);
      if (accept(msg)) {
        finish({ kind: 'reply', bytes: Buffer.from(msg), rttMs: clock.now() - started });
        return;
      }
    }
  });
  socket.on('error', (err) => finish({ kind: 'error', message: err.message }));
  socket.on('close', () => finish({ kind: 'error', message: 'connection closed' }));
  return { cancel: () => finish(CANCELLED) };
}
