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
//   {"cmd":"top","what":"queries","limit":10,"labels":2}   (what: queries, clients, rcodes; rcodes needs "rcode")
//   {"cmd":"latency"}
//   {"cmd":"block","target":"example.com","seconds":60}   (target: a suffix, or a client prefix as ip/ writes it)
//   {"cmd":"limit","target":"192.0.2","qps":50,"seconds":60}
//   {"cmd":"unblock","target":"example.com"}
//   {"cmd":"rules"}
//   {"cmd":"servers"}
//   {"cmd":"server","address":"192.0.2.53:53","state":"down"}   (up, down or auto)
//
// Responses: {"ok":true,"cmd":"...", ...results} or {"ok":false,"error":"..."}.
// A streamed dump's lines come before the response line, which is the
// connection's last: dump lines begin {"format": or {"kind":, a response
// {"ok":, so a client tells them apart by that.

import { QPS_MAX } from '../rules/action';

export const COMMANDS = [
  'stats',
  'flush',
  'flush-subtree',
  'flush-all',
  'dump',
  'load',
  'top',
  'reload',
  'routes',
  'servers',
  'server',
  'latency',
  'block',
  'limit',
  'unblock',
  'rules',
] as const;
export const TOP_KINDS = ['queries', 'clients', 'rcodes'] as const;
/** Longest block or limit, seconds (a week); without seconds a rule lasts until unblock or restart. */
export const RULE_SECONDS_MAX = 604800;
export const FORCED_STATES = ['up', 'down', 'auto'] as const;
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
  | {
      readonly cmd: 'top';
      readonly queries?: number;
      readonly limit?: number;
      /** dnsdist-style lists; without it, the busiest clients and names together. */
      readonly what?: (typeof TOP_KINDS)[number];
      readonly labels?: number;
      readonly rcode?: number;
    }
  | { readonly cmd: 'latency' }
  | { readonly cmd: 'block'; readonly target: string; readonly seconds?: number }
  | { readonly cmd: 'limit'; readonly target: string; readonly qps: number; readonly seconds?: number }
  | { readonly cmd: 'unblock'; readonly target: string }
  | { readonly cmd: 'rules' }
  | { readonly cmd: 'reload' }
  | { readonly cmd: 'routes' }
  | { readonly cmd: 'servers' }
  | { readonly cmd: 'server'; readonly address: string; readonly state: (typeof FORCED_STATES)[number] };

export type ControlResponse =
  | ({ readonly ok: true; readonly cmd: Command } & Record<string, unknown>)
  | { readonly ok: false; readonly error: string };

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

function optionalCount(
  o: Record<string, unknown>,
  cmd: string,
  key: string,
  min = 1,
  max = TOP_MAX,
): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    bad(`${cmd}: "${key}" must be an integer from ${min} to ${max}`);
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
    case 'servers':
    case 'latency':
    case 'rules':
      return { cmd };
    case 'block':
    case 'unblock':
    case 'limit': {
      const target = stringField(o, cmd, 'target');
      if (cmd === 'unblock') return { cmd, target };
      const seconds = optionalCount(o, cmd, 'seconds', 1, RULE_SECONDS_MAX);
      const opt = seconds !== undefined ? { seconds } : {};
      if (cmd === 'block') return { cmd, target, ...opt };
      const qps = optionalCount(o, cmd, 'qps', 1, QPS_MAX);
      if (qps === undefined) bad('limit: "qps" must be an integer from 1 to ' + QPS_MAX);
      return { cmd, target, qps, ...opt };
    }
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
      return { cmd, ...dumpPlace(o, cmd) };
    case 'load':
      return { cmd, ...dumpPlace(o, cmd) };
    case 'top': {
      const queries = optionalCount(o, cmd, 'queries');
      const limit = optionalCount(o, cmd, 'limit');
      const base = { cmd, ...(queries !== undefined ? { queries } : {}), ...(limit !== undefined ? { limit } : {}) };
      if (o.what === undefined) return base;
      const what = TOP_KINDS.find((k) => k === o.what);
      if (what === undefined) bad(`top: "what" must be one of ${TOP_KINDS.join(', ')}`);
      const labels = optionalCount(o, cmd, 'labels', 1, 127);
      const rcode = optionalCount(o, cmd, 'rcode', 0, 254);
      if (what === 'rcodes' && rcode === undefined) bad('top: "rcode" (0 to 254) is needed with "what":"rcodes"');
      return {
        ...base,
        what,
        ...(labels !== undefined && what !== 'clients' ? { labels } : {}),
        ...(what === 'rcodes' && rcode !== undefined ? { rcode } : {}),
      };
    }
    default:
      bad(`unknown command ${JSON.stringify(cmd)} (expected one of ${COMMANDS.join(', ')})`);
  }
}
