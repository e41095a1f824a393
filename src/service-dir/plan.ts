// What `dnscache-conf acct logacct /D [ip]` creates, as data: every directory
// and file of the service directory with its mode, owner and contents, in
// creation order. Pure: the caller looks up the accounts, reads the roots
// file, draws the seed and finds the executables; write.ts carries it out.
//
// The layout is djbdns dnscache-conf's (spec §9, C6 form, without C6's
// bugs), so daemontools' supervise runs it unchanged, plus two files for
// systemd: run-systemd (./run without daemontools) and dnscache-ts.service.

import { parseIp } from '../config/address';
import { shellWord, singleQuoted } from './quote';
import { systemdUnit } from './systemd';

export const USAGE = 'dnscache-conf [--roots FILE] acct logacct /D [ip]';

/** The listen address when none is given: ORIG's (C6 uses ::1, which fails where IPv6 is off). */
export const DEFAULT_IP = '127.0.0.1';
/** C6's IPSEND: any local address, IPv4 or IPv6. */
export const IPSEND = '::';
export const CACHESIZE = '1000000';
/**
 * Soft limit on the data segment (softlimit -d). Node needs ~50 MB before
 * any cache and hangs or aborts when it hits the limit (dnscache's
 * 3000000 / 30000000 would stop it from starting), so the default leaves
 * room for V8's heap growing under load beside a full 1 MB cache (whose
 * chunks live outside the heap but in the data segment all the same).
 */
export const DATALIMIT = '300000000';
/**
 * softlimit -o: open files, as dnscache-conf. No effect on node, which raises
 * its soft limit to the hard one at start; kept so that run is dnscache-conf's.
 */
export const OPEN_FILES = 250;
export const SEED_BYTES = 128;
export const UNIT_NAME = 'dnscache-ts.service';
/** The `ip/` entries dnscache-conf (C6) always creates. */
export const LOOPBACK_CLIENTS = ['127.0.0.1', '::1'] as const;

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

export interface ConfInput {
  /** D: absolute and normalised (see checkServiceDir). */
  dir: string;
  /** Runs dnscache (its UID/GID after the drop). */
  acct: Account;
  /** Owns log/main and runs multilog. */
  logAcct: Account;
  /** The listen address as given (already checked with checkIp). */
  ip: string;
  /** Contents of the roots file, copied to root/servers/@ as they are. */
  roots: Buffer;
  seed: Buffer;
  /** Absolute path of the node executable. */
  node: string;
  /** Absolute path of dist/src/cli/dnscache.js. */
  dnscache: string;
}

interface Common {
  /** Relative to D; '.' is D itself. */
  path: string;
  /** Permission bits including setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
}
export type Entry = (Common & { kind: 'dir' }) | (Common & { kind: 'file'; content: Buffer });

export type Check = { ok: true; value: string } | { ok: false; reason: string };

/**
 * D as dnscache-conf wants it: absolute (else a usage error), normalised
 * (no trailing slash, no `.`/`..`, no doubled slashes) and free of newlines,
 * which would break env/ROOT and the scripts.
 */
export function checkServiceDir(dir: string): Check {
  if (!dir.startsWith('/'))
    return { ok: false, reason: `the directory must be an absolute path: ${JSON.stringify(dir)} is relative` };
  if (/[\n\r\0]/.test(dir))
    return { ok: false, reason: `the directory ${JSON.stringify(dir)} contains a newline or NUL` };
  const parts: string[] = [];
  for (const p of dir.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  if (parts.length === 0) return { ok: false, reason: 'the directory must not be /' };
  return { ok: true, value: '/' + parts.join('/') };
}

/** The listen address: any address dnscache-ts accepts in $IP. */
export function checkIp(ip: string): Check {
  const r = parseIp(ip);
  if (!r.ok)
    return { ok: false, reason: `unable to parse IP address ${JSON.stringify(ip)} (expected an IPv4 or IPv6 address)` };
  return { ok: true, value: r.value.address };
}

/**
 * The client ACL entries: 127.0.0.1 and ::1 as C6, plus the listen address
 * itself (without a %scope), so that the host can always ask the cache it
 * listens with - unless that is a wildcard (0.0.0.0, ::).
 */
export function ipEntries(ip: string): string[] {
  const entries: string[] = [...LOOPBACK_CLIENTS];
  const r = parseIp(ip);
  if (!r.ok) return entries;
  const address = r.value.address.replace(/%.*$/, '');
  if (address !== '0.0.0.0' && address !== '::' && !entries.includes(address)) entries.push(address);
  return entries;
}

/**
 * Flags for node before dnscache.js, wherever it is started. A young
 * generation of 2 x 8 MB instead of V8's 2 x 16 MB: with the cache outside
 * the heap, little survives a scavenge, so the smaller one costs no CPU we
 * could measure and takes 13 MB (130 bytes per name of a 100k-name cache)
 * less RSS. It must be a command-line flag: V8 sizes the heap at start.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/** `node` + NODE_FLAGS + `dnscache`, as shell words. */
function nodeCommand(node: string, dnscache: string): string {
  return [node, ...NODE_FLAGS, dnscache].map(shellWord).join(' ');
}

/** The daemontools run script: dnscache-conf's, exec'ing our dnscache with node. */
export function runScript(acct: string, node: string, dnscache: string): string {
  const inner = `\n  exec envuidgid ${shellWord(acct)} softlimit -o${OPEN_FILES} -d "$DATALIMIT" ${nodeCommand(node, dnscache)}\n`;
  return `#!/bin/sh\nexec 2>&1\nexec <seed\nexec envdir ./env sh -c ${singleQuoted(inner)}\n`;
}

/**
 * log/run: dnscache-conf's, except that with LOGFORMAT=json in ../env the
 * lines are kept without multilog's `t` stamp - each carries its own time,
 * and a stamp in front would make it no longer a JSON object.
 */
export function logRunScript(logAcct: string): string {
  return [
    '#!/bin/sh',
    '# JSON lines (env/LOGFORMAT json) carry their own time: a TAI64N stamp in front would break them.',
    't=t; [ "$(head -n 1 ../env/LOGFORMAT 2>/dev/null)" = json ] && t=',
    `exec setuidgid ${shellWord(logAcct)} multilog $t ./main`,
    '',
  ].join('\n');
}

/**
 * ./run without daemontools, for systemd (or any supervisor): the same
 * environment, limits and standard input, made with sh, id and env only.
 */
export function runSystemdScript(acct: string, node: string, dnscache: string): string {
  const a = shellWord(acct);
  return `#!/bin/sh
# What ./run does, without daemontools (used by ${UNIT_NAME}):
#   envdir ./env   every file in env/ sets the variable of its name to its
#                  first line, trailing blanks removed; an empty file unsets it
#   envuidgid ${acct}  UID and GID of that account (dnscache drops to them)
#   softlimit      a soft limit of $DATALIMIT bytes of data (-o${OPEN_FILES}, the open
#                  files, is left out: node raises that soft limit itself)
# and the seed on standard input. Runs in the service directory.
exec 2>&1
exec <seed
set --
datalimit=
for f in ./env/*; do
  [ -f "$f" ] || continue
  name=\${f##*/}
  case $name in
    UID|GID) continue ;;
    [0-9]*|*[!A-Za-z0-9_]*) echo "run-systemd: warning: env/$name ignored: not a variable name"; continue ;;
  esac
  if [ -s "$f" ]; then
    value=$(head -n 1 "$f" | sed 's/[[:blank:]]*$//')
    set -- "$@" "$name=$value"
    if [ "$name" = DATALIMIT ]; then datalimit=$value; fi
  else
    unset "$name"
  fi
done
uid=$(id -u ${a}) && gid=$(id -g ${a}) || { echo "run-systemd: fatal: unknown account ${acct}"; exit 111; }
if [ -n "$datalimit" ]; then
  case $datalimit in
    *[!0-9]*) echo "run-systemd: fatal: env/DATALIMIT: \\"$datalimit\\" is not a number of bytes"; exit 111 ;;
  esac
  ulimit -S -d $((datalimit / 1024)) || exit 111
fi
exec env "$@" UID="$uid" GID="$gid" ${nodeCommand(node, dnscache)}
`;
}

function text(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/** Every directory and file to create, in order; D itself comes first. */
export function planServiceDir(input: ConfInput): Entry[] {
  const root = { uid: 0, gid: 0 };
  const log = { uid: input.logAcct.uid, gid: input.logAcct.gid };
  const dir = (path: string, mode: number, owner = root): Entry => ({ kind: 'dir', path, mode, ...owner });
  const file = (path: string, mode: number, content: Buffer, owner = root): Entry => ({
    kind: 'file',
    path,
    mode,
    content,
    ...owner,
  });
  const env = (name: string, value: string): Entry => file(`env/${name}`, 0o644, text(value + '\n'));
  return [
    dir('.', 0o3755),
    dir('log', 0o2755),
    dir('log/main', 0o2755, log),
    file('log/status', 0o644, Buffer.alloc(0), log),
    dir('env', 0o2755),
    env('ROOT', `${input.dir}/root`),
    env('IP', input.ip),
    env('IPSEND', IPSEND),
    env('CACHESIZE', CACHESIZE),
    env('DATALIMIT', DATALIMIT),
    // As djbdnscurve6's dnscache-conf writes them: DNSCurve's TXT format, plain
    // queries after two unanswered encrypted tries, and ip/%, ip/- honoured.
    env('USETEXTFORMAT', '1'),
    env('UZ5FALLBACK', '2'),
    env('FLAGEDSERVER', '1'),
    // The control socket inside ROOT: made by root before the chroot (mode 0600), so only root
    // reaches it; one directory (root/) is all systemd's ProtectSystem=strict must leave writable.
    env('CONTROL', `${input.dir}/root/control`),
    file('run', 0o755, text(runScript(input.acct.name, input.node, input.dnscache))),
    file('log/run', 0o755, text(logRunScript(input.logAcct.name))),
    dir('root', 0o2755),
    dir('root/ip', 0o2755),
    ...ipEntries(input.ip).map((client) => file(`root/ip/${client}`, 0o600, Buffer.alloc(0))),
    dir('root/servers', 0o2755),
    file('root/servers/@', 0o644, input.roots),
    // Where `dnscache-ctl dump dumps/cache.dump` writes: dnscache runs as acct by then.
    dir('root/dumps', 0o700, { uid: input.acct.uid, gid: input.acct.gid }),
    file('seed', 0o600, input.seed),
    file('run-systemd', 0o755, text(runSystemdScript(input.acct.name, input.node, input.dnscache))),
    file(UNIT_NAME, 0o644, text(systemdUnit({ dir: input.dir, paths: [input.dir, input.node, input.dnscache] }))),
  ];
}
