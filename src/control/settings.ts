// The control socket's environment: CONTROL (path of the unix socket; unset
// or empty: no control socket) and CONTROLRING (how many recent questions
// `top` looks at, default 10000). Bad values are ConfigErrors, as for the
// rest of dnscache's environment.

import * as path from 'node:path';
import { ConfigError, Env } from '../config';
import { quote } from '../config/errors';
import { RING_SIZE_DEFAULT, RING_SIZE_MAX } from './recent';

export interface ControlSettings {
  /** Absolute path of the socket, or null for none. */
  readonly socket: string | null;
  readonly ringSize: number;
}

/** Longest unix socket path Linux takes (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

export function controlSettings(env: Env): ControlSettings {
  let ringSize = RING_SIZE_DEFAULT;
  const ring = env.CONTROLRING;
  if (ring !== undefined) {
    const expected = `expected the number of recent queries kept for top, 1 to ${RING_SIZE_MAX}`;
    if (!/^[0-9]+$/.test(ring))
      throw new ConfigError(`CONTROLRING: ${quote(ring)} is not a decimal number (${expected})`);
    ringSize = Number(ring);
    if (ringSize < 1 || ringSize > RING_SIZE_MAX)
      throw new ConfigError(`CONTROLRING: ${quote(ring)} is out of range (${expected})`);
  }
  const raw = env.CONTROL;
  if (raw === undefined || raw === '') return { socket: null, ringSize };
  if (raw.includes('\0'))
    throw new ConfigError(`CONTROL: ${quote(raw)} contains NUL (expected the path of the control socket)`);
  const socket = path.resolve(raw);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    throw new ConfigError(
      `CONTROL: ${quote(socket)} is longer than ${MAX_SOCKET_PATH} bytes (expected a shorter path for the control socket)`,
    );
  }
  return { socket, ringSize };
}
