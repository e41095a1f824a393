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
//   {"cmd":"dump","stream":true}                  (the dump comes over the connection)
//   {"cmd":"load","stream":true}                  (the dump follows the request line)
//   {"cmd":"top","queries":1000,"limit":10}     (both optional)
//   {"cmd":"reload"}                              (as SIGHUP)
//   {"cmd":"routes"}                              (the routes in force, their health and queries)
//
// Responses: {"ok":true,"cmd":"...", ...results} or {"ok":false,"error":"..."}.
// A streamed dump's lines come before the response line, which is the
// connection's last: dump lines begin {"format": or {"kind":, a response
// {"ok":, so a client tells them apart by that.

export const COMMANDS = ['stats', 'flush', 'flush-subtree', 'flush-all', 'dump', 'load', 'top', 'reload', 'routes'] as const;
export type Command = (typeof COMMANDS)[number];

export type ControlRequest =
  | { readonly cmd: 'stats' }
  | { readonly cmd: 'flush'; readonly name: string }
  | { readonly cmd: 'flush-subtree'; readonly name: string }
  | { readonly cmd: 'flush-all' }
  | { readonly cmd: 'dump'; readonly file: string }
  | { readonly cmd: 'dump'; readonly stream: true }
  | { readonly cmd: 'load'; readonly file: string }
  | { readonly cmd: 'load'; readonly stream: true }
  | { readonly cmd: 'top'; readonly queries?: number; readonly limit?: number }
  | { readonly cmd: 'reload' }
  | { readonly cmd: 'routes' };

export type ControlResponse = ({ readonly ok: true; readonly cmd: Command } & Record<string, unknown>) | { readonly ok: false; readonly error: string };

/** A request longer than this is refused (requests are a few dozen bytes). */
export const MAX_REQUEST_BYTES = 65536;
export const TOP_MAX = 1_000_000;

export class RequestError extends Error {}

/** Whether a request streams a dump over its connection (dump -, load -). */
export function isStream(req: ControlRequest): req is Extract<ControlRequest, { stream: true }> {
  return 'stream' in req;
}

/** The start of every response line, and of no dump line. */
export const RESPONSE_START = '{"ok":';

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

/** Where a dump goes or a load comes from: a file inside ROOT, or the connection. */
function dumpPlace(o: Record<string, unknown>, cmd: string): { readonly file: string } | { readonly stream: true } {
  if (o.stream === true) {
    if (o.file !== undefined) bad(`${cmd}: give "file" or "stream":true, not both`);
    return { stream: true };
  }
  if (o.stream !== undefined && o.stream !== false) bad(`${cmd}: "stream" must be true or false`);
  return { file: stringField(o, cmd, 'file') };
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
    case 'routes':
      return { cmd };
    case 'flush':
    case 'flush-subtree':
      return { cmd, name: stringField(o, cmd, 'name') };
    case 'dump':
      return { cmd, ...dumpPlace(o, cmd) };
    case 'load':
      return { cmd, ...dumpPlace(o, cmd) };
    case 'top': {
      const queries = optionalCount(o, cmd, 'queries');
      const limit = optionalCount(o, cmd, 'limit');
      return { cmd, ...(queries !== undefined ? { queries } : {}), ...(limit !== undefined ? { limit } : {}) };
    }
    default:
      bad(`unknown command ${JSON.stringify(cmd)} (expected one of ${COMMANDS.join(', ')})`);
  }
}
