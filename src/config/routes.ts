// Routes (dnsrouter's): `ADDRESS:PORT,REGEX` - names matching REGEX go to
// the backend at ADDRESS:PORT. REGEX is matched against the lower-cased
// question name with its trailing dot, as dnsrouter does. They come from the
// `routes` file in ROOT (one per line, `#` comments) and from etcd (one per
// key, the same format as the value).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { ServerAddress, parseServerEntry } from './address';
import { ConfigError, quote } from './errors';

// A pattern comes from whoever may write to etcd, and one such as ^(a+)+$
// takes V8's backtracking engine hours on a 255-byte name, with every query
// waiting. dnsrouter's Go regexps never backtrack; with this flag V8 falls
// back to its linear-time engine once a match backtracks too much, so no
// pattern can stall the process. It only takes effect for matches that
// would have gone pathological; the others run as before.
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/** One route: where it came from (a file's line or an etcd key), its backend and its pattern. */
export interface Route {
  readonly source: string;
  readonly backend: ServerAddress;
  readonly pattern: RegExp;
}

/** Longest route value taken (a pattern is a few dozen characters; etcd values are anyone's). */
export const MAX_ROUTE_LENGTH = 4096;

const EXPECTED = 'expected ADDRESS:PORT,REGEX as dnsrouter writes it, e.g. 127.0.0.1:5300,^[ab]*\\.miek\\.nl\\.$';

export type RouteResult =
  { readonly ok: true; readonly route: Route } | { readonly ok: false; readonly reason: string };

/** Parses one route value; `source` names it in the route and in the reason. */
export function parseRoute(value: string, source: string): RouteResult {
  const fail = (why: string): RouteResult => ({
    ok: false,
    reason: `${source}: ${quote(value.slice(0, 200))} ${why} (${EXPECTED})`,
  });
  if (value.length > MAX_ROUTE_LENGTH) return fail(`is longer than ${MAX_ROUTE_LENGTH} characters`);
  const comma = value.indexOf(',');
  if (comma < 0) return fail('has no comma between the backend and the pattern');
  const backendText = value.slice(0, comma).trim();
  const patternText = value.slice(comma + 1).trim();
  const backend = parseServerEntry(backendText);
  if (!backend.ok)
    return fail(`names no backend: ${quote(backendText)} is not an address with a port (${backend.reason})`);
  if (!/\]:|^[^:]*:[0-9]+$/.test(backendText))
    return fail(`names no port: ${quote(backendText)} (dnsrouter's routes always give one)`);
  if (patternText === '') return fail('has an empty pattern');
  let pattern: RegExp;
  try {
    pattern = new RegExp(patternText);
  } catch (err) {
    return fail(`has a pattern that is not a regular expression: ${(err as Error).message}`);
  }
  return { ok: true, route: Object.freeze({ source, backend: Object.freeze(backend.value), pattern }) };
}

/**
 * The `routes` file: one route per line; blank lines and `#` comments
 * (a line whose first non-blank character is `#`) skipped. A bad line is a
 * ConfigError naming the file and line: the whole file is refused.
 */
export function parseRoutesFile(text: string, fileLabel: string): Route[] {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const nul = text.indexOf('\0');
  if (nul >= 0)
    throw new ConfigError(
      `${fileLabel}: not a text file (a NUL character at offset ${nul}; ${EXPECTED}, one per line)`,
    );
  const routes: Route[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.trim().startsWith('#')) return;
    const parsed = parseRoute(line.trim(), `${fileLabel} line ${i + 1}`);
    if (!parsed.ok) throw new ConfigError(parsed.reason);
    routes.push(parsed.route);
  });
  return routes;
}

/** ROOT/routes, parsed; no routes when there is no such file. */
export function readRoutesFile(root: string): Route[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(root, 'routes'), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new ConfigError(`routes: unable to read it (${code ?? String(err)}) (expected a readable file, or none)`);
  }
  return parseRoutesFile(text, 'routes');
}
