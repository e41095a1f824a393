// The control protocol: over the unix socket named by CONTROL, the client
// sends one request - a JSON object on one line - and reads one response
// line, then the server closes the connection.
//
//   {"cmd":"stats"}
//   {"cmd":"flush","name":"www.example.com"}
//   {"cmd":"flush-subtree","name":"example.com"}
//   {"cmd":"flush-all"}
//   {"cmd":"dump","file":"cache.dump"}
//   {"cmd":"load","file":"cache.dump"}
//   {"cmd":"top","queries":1000,"limit":10}     (both optional)
//   {"cmd":"reload"}                              (as SIGHUP)
//   {"cmd":"servers"}
//   {"cmd":"server","address":"192.0.2.53:53","state":"down"}   (up, down or auto)
//
// Responses: {"ok":true,"cmd":"...", ...results} or {"ok":false,"error":"..."}.

export const COMMANDS = ['stats', 'flush', 'flush-subtree', 'flush-all', 'dump', 'load', 'top', 'reload', 'servers', 'server'] as const;
export const FORCED_STATES = ['up', 'down', 'auto'] as const;
export type Command = (typeof COMMANDS)[number];

export type ControlRequest =
  | { readonly cmd: 'stats' }
  | { readonly cmd: 'flush'; readonly name: string }
  | { readonly cmd: 'flush-subtree'; readonly name: string }
  | { readonly cmd: 'flush-all' }
  | { readonly cmd: 'dump'; readonly file: string }
  | { readonly cmd: 'load'; readonly file: string }
  | { readonly cmd: 'top'; readonly queries?: number; readonly limit?: number }
  | { readonly cmd: 'reload' }
  | { readonly cmd: 'servers' }
  | { readonly cmd: 'server'; readonly address: string; readonly state: (typeof FORCED_STATES)[number] };

export type ControlResponse = ({ readonly ok: true; readonly cmd: Command } & Record<string, unknown>) | { readonly ok: false; readonly error: string };

/** A request longer than this is refused (requests are a few dozen bytes). */
export const MAX_REQUEST_BYTES = 65536;
export const TOP_MAX = 1_000_000;

export class RequestError extends Error {}

/** A line holding one JSON object (requests, dump-file entries), or what it is instead. */
export function jsonObject(line: string): Record<string, unknown> | 'syntax' | 'not an object' {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'syntax';
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : 'not an object';
}

function bad(message: string): never {
  throw new RequestError(message);
}

function stringField(o: Record<string, unknown>, cmd: string, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') bad(`${cmd}: "${key}" must be a non-empty string`);
  if (v.includes('\0')) bad(`${cmd}: "${key}" must not contain NUL`);
  return v;
}

function optionalCount(o: Record<string, unknown>, cmd: string, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > TOP_MAX) bad(`${cmd}: "${key}" must be an integer from 1 to ${TOP_MAX}`);
  return v;
}

/** Parses one request line; throws RequestError saying what is wrong. */
export function parseRequest(line: string): ControlRequest {
  const parsed = jsonObject(line);
  if (parsed === 'syntax') bad('request is not JSON (expected one JSON object such as {"cmd":"stats"} on one line)');
  if (parsed === 'not an object') bad('request is not a JSON object (expected e.g. {"cmd":"stats"})');
  const o = parsed;
  const cmd = o.cmd;
  switch (cmd) {
    case 'stats':
    case 'flush-all':
    case 'reload':
    case 'servers':
      return { cmd };
    case 'server': {
      const address = stringField(o, cmd, 'address');
      const state = FORCED_STATES.find((s) => s === o.state);
      if (state === undefined) bad(`server: "state" must be one of ${FORCED_STATES.join(', ')}`);
      return { cmd, address, state };
    }
    case 'flush':
    case 'flush-subtree':
      return { cmd, name: stringField(o, cmd, 'name') };
    case 'dump':
    case 'load':
      return { cmd, file: stringField(o, cmd, 'file') };
    case 'top': {
      const queries = optionalCount(o, cmd, 'queries');
      const limit = optionalCount(o, cmd, 'limit');
      return { cmd, ...(queries !== undefined ? { queries } : {}), ...(limit !== undefined ? { limit } : {}) };
    }
    default:
      bad(`unknown command ${JSON.stringify(cmd)} (expected one of ${COMMANDS.join(', ')})`);
  }
}
