#!/usr/bin/env node
// dnscache-ctl: talks to a running dnscache-ts over its control socket
// (CONTROL). Prints human-readable output, or the raw JSON response with
// --json. Exit status: 0 done; 1 dnscache answered with an error; 100
// usage; 111 dnscache could not be reached.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageVersion } from './version';
import { Command, CommanderError } from 'commander';
import { controlRequest, streamRequest } from '../control/client';
import { ControlRequest, ControlResponse, isStream, TOP_MAX } from '../control/protocol';

const WHO = 'dnscache-ctl';
const EXIT_REFUSED = 1;
const EXIT_USAGE = 100;
const EXIT_FATAL = 111;
const USAGE = '[--socket PATH | -d SERVICEDIR] [--json] stats | flush NAME | flush-subtree NAME | flush-all | dump FILE|- | load FILE|- | top [N] [--limit K] | reload | routes';

function usage(reason?: string): never {
  if (reason) process.stderr.write(`${WHO}: usage: ${reason}\n`);
  process.stderr.write(`${WHO}: usage: ${WHO} ${USAGE}\n`);
  process.exit(EXIT_USAGE);
}

function fatal(message: string): never {
  process.stderr.write(`${WHO}: fatal: ${message}\n`);
  process.exit(EXIT_FATAL);
}

/** The first line of `file`, or null when there is no such file. */
function firstLine(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').split('\n')[0]!.trim();
  } catch {
    return null;
  }
}

/**
 * --socket; else, with --dir D (a service directory), D/env/CONTROL or
 * D/root/control or D/control; else $CONTROL; else the same in the current
 * directory (run from the service directory).
 */
function socketPath(option: string | undefined, dir: string | undefined): string {
  if (option) return option;
  const inDir = (d: string): string | null => {
    const configured = firstLine(path.join(d, 'env', 'CONTROL'));
    if (configured) return path.resolve(d, configured);
    for (const p of ['root/control', 'control']) {
      try {
        if (fs.lstatSync(path.join(d, p)).isSocket()) return path.join(d, p);
      } catch {
        // not here
      }
    }
    return null;
  };
  if (dir !== undefined) return inDir(dir) ?? usage(`${dir} has no env/CONTROL and no control socket (root/control or control): is it a dnscache-conf service directory with CONTROL set?`);
  const env = process.env.CONTROL;
  if (env) return env;
  return inDir('.') ?? usage('no control socket: give --socket PATH or --dir SERVICEDIR, set CONTROL, or run in the service directory');
}

function count(text: string, what: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > TOP_MAX) usage(`${what}: ${JSON.stringify(text)} is not a number from 1 to ${TOP_MAX}`);
  return Number(text);
}

type Fields = Record<string, any>;

function rows(list: Array<{ key: string; count: number }>): string {
  if (list.length === 0) return '  (none)\n';
  const width = Math.max(...list.map((r) => String(r.count).length));
  return list.map((r) => `  ${String(r.count).padStart(width)}  ${r.key}\n`).join('');
}

function routeTable(list: Array<{ source: string; backend: string; pattern: string; health: string; queries: number }>): string {
  if (list.length === 0) return 'no routes\n';
  const head = ['backend', 'health', 'queries', 'pattern', 'source'];
  const rows = list.map((r) => [r.backend, r.health, String(r.queries), r.pattern, r.source]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [head, ...rows].map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n').join('');
}

/** The human-readable form of a successful response. */
function render(req: ControlRequest, r: Fields): string {
  switch (req.cmd) {
    case 'stats':
      return (
        `uptime     ${r.uptime} s\n` +
        `queries    ${r.queries} (cache hits ${r.cacheHits}, misses ${r.cacheMisses}, local ${r.localAnswers}, errors ${r.errors})\n` +
        `cache      ${r.cache.entries} entries, ${r.cache.bytes} of ${r.cache.maxBytes} bytes (memory ${r.cache.memory}), motion ${r.cache.motion}\n` +
        `in flight  udp ${r.inFlight.udp} (edns ${r.inFlight.edns}), tcp ${r.inFlight.tcp}, resolutions ${r.inFlight.resolutions}\n` +
        `upstream   ${r.upstreamQueries} queries, ${r.merged} merged\n`
      );
    case 'flush':
      return `flushed ${r.name}: ${r.removed} entries\n`;
    case 'flush-subtree':
      return `flushed ${r.name} and below: ${r.removed} entries\n`;
    case 'flush-all':
      return `flushed everything: ${r.removed} entries\n`;
    case 'dump':
      return `dumped ${r.entries} entries (${r.bytes} bytes) to ${r.path === '-' ? 'standard output' : r.path}\n`;
    case 'load':
      return `loaded ${r.loaded} entries from ${r.path === '-' ? 'standard input' : r.path}; skipped ${r.skipped} (${r.expired} expired, ${r.malformed} malformed, ${r.tooBig} too big)\n`;
    case 'top':
      return `last ${r.queries} queries (ring of ${r.ringSize}, ${r.total} since start)\ntop clients\n${rows(r.clients)}top names\n${rows(r.names)}`;
    case 'reload':
      return `reloaded: servers ${r.servers} ip ${r.ip} routes ${r.routes}\n`;
    case 'routes':
      return routeTable(r.routes);
  }
}

async function run(socket: string, json: boolean, req: ControlRequest): Promise<void> {
  let res: ControlResponse;
  try {
    res = isStream(req) ? await streamRequest(socket, req, req.cmd === 'dump' ? { output: process.stdout } : { input: process.stdin }) : await controlRequest(socket, req);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such socket (is dnscache running with CONTROL set?)' : e.code === 'EACCES' ? 'permission denied (the socket is for its owner only)' : e.code === 'ECONNREFUSED' ? 'connection refused (dnscache is not running)' : e.message;
    fatal(`unable to talk to dnscache at ${socket}: ${why}`);
  }
  // A dump to standard output has its report on standard error.
  const report = isStream(req) && req.cmd === 'dump' ? process.stderr : process.stdout;
  if (json) report.write(JSON.stringify(res) + '\n');
  if (!res.ok) {
    if (!json) process.stderr.write(`${WHO}: ${res.error}\n`);
    process.exit(EXIT_REFUSED);
  }
  if (!json) {
    report.write(render(req, res));
    if (req.cmd === 'load') for (const e of (res as Fields).errors as string[]) process.stderr.write(`${WHO}: warning: ${e}\n`);
  }
}

function main(argv: string[]): void {
  let chosen: ControlRequest | null = null;
  const program = new Command()
    .version(`dnscache-ts ${packageVersion()}`, '--version', 'print the version')
    .name(WHO)
    .usage(USAGE)
    .description('Control a running dnscache-ts through its control socket (CONTROL). FILE names a file inside dnscache\'s ROOT.')
    .option('--socket <path>', 'the control socket (default: from --dir, else $CONTROL, else the current directory\'s env/CONTROL, root/control or control)')
    .option('-d, --dir <dir>', 'a service directory made by dnscache-conf: its env/CONTROL names the socket')
    .option('--json', 'print the raw JSON response')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined });
  const sub = (name: string, description: string): Command =>
    program.command(name).description(description).allowExcessArguments(false).exitOverride().configureOutput({ writeErr: () => undefined, outputError: () => undefined });
  sub('stats', 'queries, cache, in-flight and upstream counters').action(() => {
    chosen = { cmd: 'stats' };
  });
  sub('flush', 'remove every cache entry for NAME (all types, negative answers, failures)')
    .argument('<name>')
    .action((name: string) => {
      chosen = { cmd: 'flush', name };
    });
  sub('flush-subtree', 'remove every cache entry at or below NAME')
    .argument('<name>')
    .action((name: string) => {
      chosen = { cmd: 'flush-subtree', name };
    });
  sub('flush-all', 'empty the cache').action(() => {
    chosen = { cmd: 'flush-all' };
  });
  sub('dump', 'write the cache to FILE (inside ROOT), atomically; - writes it to standard output')
    .argument('<file>')
    .action((file: string) => {
      chosen = file === '-' ? { cmd: 'dump', stream: true } : { cmd: 'dump', file };
    });
  sub('load', 'restore the entries of FILE (inside ROOT) that have not expired; - reads standard input')
    .argument('<file>')
    .action((file: string) => {
      chosen = file === '-' ? { cmd: 'load', stream: true } : { cmd: 'load', file };
    });
  sub('top', 'busiest clients and names among the last N queries (default: all kept)')
    .argument('[n]')
    .option('--limit <k>', 'rows per list (default 10)')
    .action((n: string | undefined, opts: { limit?: string }) => {
      chosen = { cmd: 'top', ...(n !== undefined ? { queries: count(n, 'N') } : {}), ...(opts.limit !== undefined ? { limit: count(opts.limit, '--limit') } : {}) };
    });
  sub('reload', 're-read servers/, ip/ and routes (as SIGHUP)').action(() => {
    chosen = { cmd: 'reload' };
  });
  sub('routes', 'the routes in force (routes file and etcd): backend, health, queries, pattern, source').action(() => {
    chosen = { cmd: 'routes' };
  });

  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.version') process.exit(0);
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') {
        process.stdout.write(program.helpInformation());
        process.exit(0);
      }
      usage(err.message.replace(/^error: /, ''));
    }
    throw err;
  }
  const req = chosen as ControlRequest | null;
  if (req === null) usage();
  const opts = program.opts<{ socket?: string; dir?: string; json?: boolean }>();
  void run(socketPath(opts.socket, opts.dir), opts.json === true, req);
}

main(process.argv.slice(2));
