// The client side of the control protocol (dnscache-ctl, tests): connect
// to the unix socket, send one line, read one line.

import * as net from 'node:net';
import { ControlRequest, ControlResponse } from './protocol';

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
    const timer = setTimeout(() => finish(new Error(`no response from ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
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
export async function controlRequest(socketPath: string, req: ControlRequest, timeoutMs = CLIENT_TIMEOUT_MS): Promise<ControlResponse> {
  const line = await exchange(socketPath, JSON.stringify(req), timeoutMs);
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
