#!/usr/bin/env node
// dnscache-ctl: talks to a running dnscache-ts over its control socket
// (CONTROL). Prints human-readable output, or the raw JSON response with
// --json. Exit status: 0 done; 1 dnscache answered with an error; 100
// usage; 111 dnscache could not be reached.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageVersion } from '../platform/version';
import { Command, CommanderError } from 'commander';
import { controlRequest, streamRequest } from '../control/client';
import {
  ControlRequest,
  ControlResponse,
  FORCED_STATES,
  isStream,
  RULE_SECONDS_MAX,
  TOP_KINDS,
  TOP_MAX,
} from '../control/protocol';
import { QPS_MAX } from '../rules/action';
import { rcodeName, RCODES_BY_NAME } from '../wire/mnemonics';

const WHO = 'dnscache-ctl';
const EXIT_REFUSED = 1;
const EXIT_USAGE = 100;
const EXIT_FATAL = 111;
const USAGE =
  '[--socket PATH | -d SERVICEDIR] [--json] stats | flush NAME | flush-subtree NAME | flush-all | dump FILE|- | load FILE|- | top [N] [--limit K] | top queries [N] [labels K] | top clients [N] | top rcodes RCODE [N] [labels K] | latency | block SUFFIX|PREFIX [SECONDS] | limit SUFFIX|PREFIX QPS [SECONDS] | unblock SUFFIX|PREFIX | rules | reload | routes | servers | server ADDRESS up|down|auto';

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
  if (dir !== undefined)
    return (
      inDir(dir) ??
      usage(
        `${dir} has no env/CONTROL and no control socket (root/control or control): is it a dnscache-conf service directory with CONTROL set?`,
      )
    );
  const env = process.env.CONTROL;
  if (env) return env;
  return (
    inDir('.') ??
    usage('no control socket: give --socket PATH or --dir SERVICEDIR, set CONTROL, or run in the service directory')
  );
}

function count(text: string, what: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > TOP_MAX)
    usage(`${what}: ${JSON.stringify(text)} is not a number from 1 to ${TOP_MAX}`);
  return Number(text);
}

function bounded(text: string, what: string, max: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > max)
    usage(`${what}: ${JSON.stringify(text)} is not a number from 1 to ${max}`);
  return Number(text);
}

/**
 * `top [N] [--limit K]` (the busiest clients and names among the last N
 * questions), or dnsdist's lists: `top queries [N] [labels K]`,
 * `top clients [N]`, `top rcodes RCODE [N] [labels K]`, N rows.
 */
function topRequest(args: string[], limit: string | undefined): ControlRequest {
  const [first, ...rest] = args;
  if (first === undefined || /^[0-9]+$/.test(first)) {
    if (rest.length > 0) usage(`top: unexpected ${JSON.stringify(rest[0])}`);
    return {
      cmd: 'top',
      ...(first !== undefined ? { queries: count(first, 'N') } : {}),
      ...(limit !== undefined ? { limit: count(limit, '--limit') } : {}),
    };
  }
  const what = TOP_KINDS.find((k) => k === first);
  if (what === undefined) usage(`top: ${JSON.stringify(first)} is not queries, clients, rcodes or a number`);
  let rcode: number | undefined;
  if (what === 'rcodes') {
    const r = rest.shift();
    if (r === undefined) usage('top rcodes: which RCODE? (SERVFAIL, NXDOMAIN, REFUSED, ... or a number)');
    rcode =
      RCODES_BY_NAME.get(r.toUpperCase()) ??
      (/^[0-9]{1,3}$/.test(r) && Number(r) <= 254
        ? Number(r)
        : usage(
            `top rcodes: ${JSON.stringify(r)} is not an RCODE (expected ${[...RCODES_BY_NAME.keys()].join(', ')} or a number)`,
          ));
  }
  let rows = limit !== undefined ? count(limit, '--limit') : undefined;
  let labels: number | undefined;
  while (rest.length > 0) {
    const word = rest.shift()!;
    if (word === 'labels' && what !== 'clients') {
      const k = rest.shift();
      if (k === undefined) usage('top: labels needs a number');
      labels = bounded(k, 'labels', 127);
    } else if (/^[0-9]+$/.test(word) && rows === undefined) rows = count(word, 'N');
    else usage(`top ${what}: unexpected ${JSON.stringify(word)}`);
  }
  return {
    cmd: 'top',
    what,
    ...(rows !== undefined ? { limit: rows } : {}),
    ...(labels !== undefined ? { labels } : {}),
    ...(rcode !== undefined ? { rcode } : {}),
  };
}

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return --
   A response's fields are the daemon's JSON, printed as they come: a wrong field shows as `undefined`
   in the text, and the control tests check each command's rendering. */
type Fields = Record<string, any>;

function rows(list: Array<{ key: string; count: number }>): string {
  if (list.length === 0) return '  (none)\n';
  const width = Math.max(...list.map((r) => String(r.count).length));
  return list.map((r) => `  ${String(r.count).padStart(width)}  ${r.key}\n`).join('');
}

function routeTable(
  list: Array<{ source: string; backend: string; pattern: string; health: string; queries: number }>,
): string {
  if (list.length === 0) return 'no routes\n';
  const head = ['backend', 'health', 'queries', 'pattern', 'source'];
  const rows = list.map((r) => [r.backend, r.health, String(r.queries), r.pattern, r.source]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [head, ...rows]
    .map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n')
    .join('');
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
      if (req.what !== undefined) {
        const what =
          req.what === 'rcodes'
            ? `names answered ${rcodeName(req.rcode ?? 0)}`
            : req.what === 'clients'
              ? 'clients'
              : 'names';
        return `last ${r.queries} queries (ring of ${r.ringSize}, ${r.total} since start)\ntop ${what}${req.labels ? ` (last ${req.labels} labels)` : ''}\n${rows(r.rows)}`;
      }
      return `last ${r.queries} queries (ring of ${r.ringSize}, ${r.total} since start)\ntop clients\n${rows(r.clients)}top names\n${rows(r.names)}`;
    case 'latency': {
      const counts = r.counts as number[];
      const total = counts.reduce((a, b) => a + b, 0);
      const bounds = r.boundsMs as number[];
      const label = (i: number): string =>
        i < bounds.length ? `<${bounds[i]} ms` : `>=${bounds[bounds.length - 1]} ms`;
      const avg = total === 0 ? 0 : r.sumMs / total;
      return (
        `${total} answers, average ${avg.toFixed(2)} ms\n` +
        table(
          ['latency', 'answers', 'share'],
          counts.map((c, i) => [label(i), c, total === 0 ? '-' : `${((100 * c) / total).toFixed(1)}%`]),
        )
      );
    }
    case 'block':
      return `blocked ${r.target} (${r.kind}: drop) ${r.seconds === null ? 'until unblocked' : `for ${r.seconds} s`}\n`;
    case 'limit':
      return `limited ${r.target} (${r.kind}) to ${req.qps} queries/s ${r.seconds === null ? 'until unblocked' : `for ${r.seconds} s`}\n`;
    case 'unblock':
      return `unblocked ${r.target}\n`;
    case 'rules':
      if ((r.rules as Fields[]).length === 0) return 'no rules\n';
      return table(
        ['target', 'kind', 'action', 'source', 'seconds left'],
        (r.rules as Fields[]).map((x) => [x.target, x.kind, x.action, x.source, x.secondsLeft ?? '-']),
      );
    case 'reload':
      return `reloaded: servers ${r.servers} ip ${r.ip} routes ${r.routes}${r.rules ? ` rules ${r.rules}` : ''}\n`;
    case 'routes':
      return routeTable(r.routes);
    case 'servers':
      return table(
        [
          'address',
          'pool',
          'state',
          'policy',
          'order',
          'weight',
          'qps cap',
          'queries',
          'drops',
          'qps',
          'latency ms',
          'in flight',
        ],
        (r.servers as Fields[]).map((s) => [
          s.address,
          s.pool,
          s.forced === 'auto' ? s.state : `${s.state} (forced)`,
          s.policy,
          s.order,
          s.weight,
          s.qpsCap ?? '-',
          s.queries,
          s.drops,
          s.qps,
          s.latencyMs,
          s.outstanding,
        ]),
      );
    case 'server':
      return `${r.address}: ${r.forced === 'auto' ? 'state as the health checks say' : `forced ${r.forced}`} (now ${r.state})\n`;
  }
}

/** Columns padded to their widest cell, numbers to the right. */
function table(head: string[], body: unknown[][]): string {
  const cells = [head, ...body.map((row) => row.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((row) => String(row[i]).length)));
  const numeric = head.map(
    (_, i) => body.length > 0 && body.every((row) => typeof row[i] === 'number' || row[i] === '-'),
  );
  return cells
    .map(
      (row) =>
        row
          .map((c, i) => (numeric[i] ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!)))
          .join('  ')
          .trimEnd() + '\n',
    )
    .join('');
}

async function run(socket: string, json: boolean, req: ControlRequest): Promise<void> {
  let res: ControlResponse;
  try {
    res = isStream(req)
      ? await streamRequest(socket, req, req.cmd === 'dump' ? { output: process.stdout } : { input: process.stdin })
      : await controlRequest(socket, req);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT'
        ? 'no such socket (is dnscache running with CONTROL set?)'
        : e.code === 'EACCES'
          ? 'permission denied (the socket is for its owner only)'
          : e.code === 'ECONNREFUSED'
            ? 'connection refused (dnscache is not running)'
            : e.message;
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
    if (req.cmd === 'load')
      for (const e of (res as Fields).errors as string[]) process.stderr.write(`${WHO}: warning: ${e}\n`);
  }
}

function main(argv: string[]): void {
  let chosen: ControlRequest | null = null;
  const program = new Command()
    .version(`dnscache-ts ${packageVersion()}`, '--version', 'print the version')
    .name(WHO)
    .usage(USAGE)
    .description(
      "Control a running dnscache-ts through its control socket (CONTROL). FILE names a file inside dnscache's ROOT.",
    )
    .option(
      '--socket <path>',
      "the control socket (default: from --dir, else $CONTROL, else the current directory's env/CONTROL, root/control or control)",
    )
    .option('-d, --dir <dir>', 'a service directory made by dnscache-conf: its env/CONTROL names the socket')
    .option('--json', 'print the raw JSON response')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined });
  const sub = (name: string, description: string): Command =>
    program
      .command(name)
      .description(description)
      .allowExcessArguments(false)
      .exitOverride()
      .configureOutput({ writeErr: () => undefined, outputError: () => undefined });
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
  sub(
    'top',
    'busiest clients and names among the last N queries (default: all kept); or top queries [N] [labels K], top clients [N], top rcodes RCODE [N] [labels K] (N rows)',
  )
    .argument('[args...]')
    .option('--limit <k>', 'rows per list (default 10)')
    .action((args: string[], opts: { limit?: string }) => {
      chosen = topRequest(args, opts.limit);
    });
  sub('latency', 'how long clients waited for answers: a histogram').action(() => {
    chosen = { cmd: 'latency' };
  });
  sub(
    'block',
    'drop every question for names at or below SUFFIX, or from clients under PREFIX (ip/ syntax), for SECONDS or until unblocked',
  )
    .argument('<target>')
    .argument('[seconds]')
    .action((target: string, seconds: string | undefined) => {
      chosen = {
        cmd: 'block',
        target,
        ...(seconds !== undefined ? { seconds: bounded(seconds, 'SECONDS', RULE_SECONDS_MAX) } : {}),
      };
    });
  sub(
    'limit',
    'at most QPS questions a second for SUFFIX (together) or from each client under PREFIX, for SECONDS or until unblocked',
  )
    .argument('<target>')
    .argument('<qps>')
    .argument('[seconds]')
    .action((target: string, qps: string, seconds: string | undefined) => {
      chosen = {
        cmd: 'limit',
        target,
        qps: bounded(qps, 'QPS', QPS_MAX),
        ...(seconds !== undefined ? { seconds: bounded(seconds, 'SECONDS', RULE_SECONDS_MAX) } : {}),
      };
    });
  sub('unblock', 'end a block or limit')
    .argument('<target>')
    .action((target: string) => {
      chosen = { cmd: 'unblock', target };
    });
  sub(
    'rules',
    'the abuse rules in force: blocks and limits (with the seconds they have left), then rules/ files',
  ).action(() => {
    chosen = { cmd: 'rules' };
  });
  sub('reload', 're-read servers/, ip/, routes and rules/ (as SIGHUP)').action(() => {
    chosen = { cmd: 'reload' };
  });
  sub('routes', 'the routes in force (routes file and etcd): backend, health, queries, pattern, source').action(() => {
    chosen = { cmd: 'routes' };
  });
  sub('servers', 'every upstream: pool, state, policy fields, queries, drops, qps now, latency, in flight').action(
    () => {
      chosen = { cmd: 'servers' };
    },
  );
  sub('server', 'force an upstream up or down, or back to what its health checks say (auto)')
    .argument('<address>')
    .argument('<state>')
    .action((address: string, state: string) => {
      const forced = FORCED_STATES.find((s) => s === state);
      if (forced === undefined) usage(`server: ${JSON.stringify(state)} is not up, down or auto`);
      chosen = { cmd: 'server', address, state: forced };
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
