// The client side of the control protocol (dnscache-ctl, tests): connect
// to the unix socket, send one line, read one line.

import * as net from 'node:net';
import { Readable, Writable } from 'node:stream';
import { ControlRequest, ControlResponse, RESPONSE_START } from './protocol';

export const CLIENT_TIMEOUT_MS = 60000;

/** Sends `line` (a newline is added) and resolves with the response line, without its newline. */
export function exchange(socketPath: string, line: string, timeoutMs = CLIENT_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path: socketPath });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (err: Error | null, value?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(
      () => finish(new Error(`no response from ${socketPath} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('connect', () => socket.write(line + '\n'));
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      const nl = all.indexOf(0x0a);
      if (nl >= 0) finish(null, all.subarray(0, nl).toString('utf8'));
    });
    socket.once('end', () => {
      const all = Buffer.concat(chunks).toString('utf8');
      if (all !== '') finish(null, all);
      else finish(new Error(`${socketPath} closed the connection without a response`));
    });
    socket.once('error', (err) => finish(err));
  });
}

/** Sends a request and parses the response. */
export async function controlRequest(
  socketPath: string,
  req: ControlRequest,
  timeoutMs = CLIENT_TIMEOUT_MS,
): Promise<ControlResponse> {
  return responseFrom(await exchange(socketPath, JSON.stringify(req), timeoutMs));
}

/** A response line parsed, or an error saying it is not one. */
function responseFrom(line: string): ControlResponse {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new Error(`not a control response: ${JSON.stringify(line.slice(0, 200))}`);
  }
  if (typeof v !== 'object' || v === null || typeof (v as { ok?: unknown }).ok !== 'boolean') {
    throw new Error(`not a control response: ${JSON.stringify(line.slice(0, 200))}`);
  }
  return v as ControlResponse;
}

/**
 * A streamed dump or load (dump -, load -): sends the request line, then
 * all of `input` (a load); writes what comes back before the response line
 * to `output` (a dump). The response is the connection's last line, so
 * only the last line received is held back until the connection ends;
 * writes wait while `output` is full. A connection quiet for `idleMs` is
 * given up.
 */
export function streamRequest(
  socketPath: string,
  req: ControlRequest,
  io: { readonly input?: Readable; readonly output?: Writable },
  idleMs = CLIENT_TIMEOUT_MS,
): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path: socketPath });
    let held: Buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | null, value?: ControlResponse): void => {
      if (settled) return;
      settled = true;
      io.input?.unpipe(socket);
      socket.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    socket.setTimeout(idleMs, () => finish(new Error(`${socketPath} sent nothing for ${idleMs} ms`)));
    socket.once('connect', () => {
      socket.write(JSON.stringify(req) + '\n');
      io.input?.pipe(socket);
    });
    socket.on('data', (d: Buffer) => {
      held = held.length === 0 ? d : Buffer.concat([held, d]);
      const last = held.lastIndexOf(0x0a, held.length - 2);
      if (last < 0) return;
      const out = held.subarray(0, last + 1);
      held = held.subarray(last + 1);
      if (io.output && !io.output.write(out)) {
        socket.pause();
        io.output.once('drain', () => socket.resume());
      }
    });
    socket.once('end', () => {
      const line = held.toString('utf8').replace(/\n$/, '');
      if (!line.startsWith(RESPONSE_START))
        return finish(new Error(`${socketPath} closed the connection before its response (the dump is incomplete)`));
      try {
        finish(null, responseFrom(line));
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.once('error', (err) => finish(err));
  });
}
