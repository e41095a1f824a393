// dnscache-conf end to end: the real command makes a service directory in a
// temporary place, which is compared file by file (names, types, modes with
// setgid and sticky bits, owners, contents) with the layout of spec §9; the
// refusals (existing directory, relative path, unknown account, bad address
// or roots file) and their exit codes; and then the generated service is
// started - ./run under a plain sh (daemontools' envdir, envuidgid and
// softlimit if installed, else small sh stand-ins for them) and
// ./run-systemd as the systemd unit starts it - and answers a query.
//
// Before starting, env/ is adapted for the lab: a free loopback address and
// port, FORWARDONLY, and servers/@ listing a TypeScript lab server. The roots
// file given to dnscache-conf lists loopback addresses only, so even a
// mistake here could not send a packet off the machine.
//
// Needs root (dnscache-conf sets owners): otherwise skipped, saying so. Uses
// the existing accounts nobody (dnscache) and daemon (log).

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseServersFile } from '../../src/config/servers';
import { DATALIMIT, logRunScript, lookupAccount, NODE_FLAGS, runSystemdScript } from '../../src/service-dir';
import { assertLoopback, freeLoopback } from '../lab/addresses';
import { query, records } from '../lab/client';
import { LabServer } from '../lab/server';
import { freshName, queriesFor, startLab, suiteScope, WILDCARD_ADDRESS } from './fixtures';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli');
const CONF_JS = path.join(CLI, 'dnscache-conf.js');
const DNSCACHE_JS = fs.realpathSync(path.join(CLI, 'dnscache.js'));
const ACCT = 'nobody';
const LOGACCT = 'daemon';
const PORT = 5300;
const START_TIMEOUT_MS = 8000;
/**
 * What dnscache says when it cannot chroot and drop privileges here (the
 * native chroot addon is not built; or an older dnscache-ts without UID/GID):
 * the service is then started without UID/GID, and the test says so.
 */
const PRIVDROP_REFUSED = /chroot addon is not available|UID\/GID.*not available yet/;

const IS_ROOT = process.getuid?.() === 0;
const acct = lookupAccount(ACCT);
const logAcct = lookupAccount(LOGACCT);
const ROOT_SKIP = !IS_ROOT
  ? 'dnscache-conf sets file owners: run the tests as root to check it'
  : !acct || !logAcct
    ? `needs the accounts ${ACCT} and ${LOGACCT}`
    : false;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnscache-conf-e2e-'));
/** Every service process started here: killed at the end whatever happened, so nothing outlives the tests. */
const spawned = new Set<ChildProcess>();
function killAll(): void {
  for (const p of spawned) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}
process.on('exit', killAll);
after(() => {
  killAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});
/** Per test: a hung service or query fails the test instead of the whole run. */
const TEST_TIMEOUT = { timeout: 60_000 };

/** A roots file for dnscache-conf to copy: loopback only, never the IANA list. */
const TEST_ROOTS = '# test roots: loopback only\n127.53.255.1\n::1\n';
const rootsFile = path.join(tmp, 'roots');
fs.writeFileSync(rootsFile, TEST_ROOTS);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function conf(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [CONF_JS, ...args], {
    cwd: tmp,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Found {
  type: 'dir' | 'file' | 'other';
  mode: string;
  uid: number;
  gid: number;
  content?: Buffer;
}

/** Everything under `dir` ('.' is dir itself), by relative path. */
function walk(dir: string): Map<string, Found> {
  const out = new Map<string, Found>();
  const visit = (rel: string): void => {
    const p = rel === '.' ? dir : path.join(dir, rel);
    const st = fs.lstatSync(p);
    const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    const found: Found = { type, mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid };
    if (type === 'file') found.content = fs.readFileSync(p);
    out.set(rel, found);
    if (type === 'dir') for (const name of fs.readdirSync(p).sort()) visit(rel === '.' ? name : `${rel}/${name}`);
  };
  visit('.');
  return out;
}

/** Spec §9 (C6 form), our choices applied: what D must hold. Content undefined = checked apart. */
function expectedLayout(
  D: string,
  ip: string,
  ipEntries: string[],
): Map<string, Omit<Found, 'content'> & { content?: string | undefined }> {
  const root = { uid: 0, gid: 0 };
  const log = { uid: logAcct!.uid, gid: logAcct!.gid };
  const m = new Map<string, Omit<Found, 'content'> & { content?: string | undefined }>();
  const dir = (p: string, mode: string, owner = root): void => void m.set(p, { type: 'dir', mode, ...owner });
  const file = (p: string, mode: string, content: string | undefined, owner = root): void =>
    void m.set(p, { type: 'file', mode, content, ...owner });
  dir('.', '3755');
  dir('log', '2755');
  dir('log/main', '2755', log);
  file('log/status', '644', '', log);
  file('log/run', '755', logRunScript(LOGACCT));
  dir('env', '2755');
  file('env/ROOT', '644', `${D}/root\n`);
  file('env/IP', '644', `${ip}\n`);
  file('env/IPSEND', '644', '::\n');
  file('env/CACHESIZE', '644', '1000000\n');
  file('env/DATALIMIT', '644', `${DATALIMIT}\n`);
  file('env/USETEXTFORMAT', '644', '1\n');
  file('env/UZ5FALLBACK', '644', '2\n');
  file('env/FLAGEDSERVER', '644', '1\n');
  file('env/CONTROL', '644', `${D}/root/control\n`);
  file(
    'run',
    '755',
    `#!/bin/sh\nexec 2>&1\nexec <seed\nexec envdir ./env sh -c '\n  exec envuidgid ${ACCT} softlimit -o250 -d "$DATALIMIT" ${process.execPath} ${NODE_FLAGS.join(' ')} ${DNSCACHE_JS}\n'\n`,
  );
  dir('root', '2755');
  dir('root/ip', '2755');
  for (const client of ipEntries) file(`root/ip/${client}`, '600', '');
  dir('root/servers', '2755');
  file('root/servers/@', '644', TEST_ROOTS);
  dir('root/dumps', '700', { uid: acct!.uid, gid: acct!.gid });
  file('seed', '600', undefined);
  file('run-systemd', '755', undefined);
  file('dnscache-ts.service', '644', undefined);
  return m;
}

function compareLayout(D: string, ip: string, ipEntries: string[]): Map<string, Found> {
  const found = walk(D);
  const want = expectedLayout(D, ip, ipEntries);
  assert.deepEqual([...found.keys()].sort(), [...want.keys()].sort(), 'the entries of D');
  for (const [p, w] of want) {
    const f = found.get(p)!;
    assert.deepEqual(
      { type: f.type, mode: f.mode, uid: f.uid, gid: f.gid },
      { type: w.type, mode: w.mode, uid: w.uid, gid: w.gid },
      p,
    );
    if (w.content !== undefined) assert.equal(f.content!.toString('utf8'), w.content, p);
  }
  assert.equal(found.get('seed')!.content!.length, 128, 'seed is 128 bytes');
  const runSystemd = found.get('run-systemd')!.content!.toString('utf8');
  assert.ok(runSystemd.includes(`uid=$(id -u ${ACCT}) && gid=$(id -g ${ACCT})`), runSystemd);
  assert.ok(
    runSystemd.includes(
      `exec env "$@" UID="$uid" GID="$gid" ${process.execPath} ${NODE_FLAGS.join(' ')} ${DNSCACHE_JS}\n`,
    ),
    runSystemd,
  );
  const unit = found.get('dnscache-ts.service')!.content!.toString('utf8');
  assert.match(unit, new RegExp(`^WorkingDirectory=${D}$`, 'm'));
  assert.match(unit, new RegExp(`^ExecStart=${D}/run-systemd$`, 'm'));
  assert.match(unit, /^CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SYS_CHROOT CAP_SETUID CAP_SETGID$/m);
  return found;
}

function onPath(cmd: string, PATH: string): boolean {
  return PATH.split(':').some((d) => d !== '' && fs.existsSync(path.join(d, cmd)));
}

// --- daemontools stand-ins (used only where daemontools is not installed) ---

const ENVDIR = `#!/bin/sh
# test stand-in for daemontools envdir
dir=$1; shift
for f in "$dir"/*; do
  [ -f "$f" ] || continue
  name=\${f##*/}
  if [ -s "$f" ]; then export "$name=$(head -n 1 "$f" | sed 's/[[:blank:]]*$//')"; else unset "$name"; fi
done
exec "$@"
`;
const ENVUIDGID = `#!/bin/sh
# test stand-in for daemontools envuidgid
acct=$1; shift
uid=$(id -u "$acct") && gid=$(id -g "$acct") || { echo "envuidgid: fatal: unknown account $acct"; exit 111; }
exec env UID="$uid" GID="$gid" "$@"
`;
const SOFTLIMIT = `#!/bin/sh
# test stand-in for daemontools softlimit: -o and -d only
while [ $# -gt 0 ]; do
  case $1 in
    -o) ulimit -S -n "$2" || exit 111; shift 2 ;;
    -o*) ulimit -S -n "\${1#-o}" || exit 111; shift ;;
    -d) ulimit -S -d $(($2 / 1024)) || exit 111; shift 2 ;;
    -d*) ulimit -S -d $((\${1#-d} / 1024)) || exit 111; shift ;;
    *) break ;;
  esac
done
exec "$@"
`;
/** envuidgid that sets nothing: for a dnscache that refuses UID/GID. */
const ENVUIDGID_NOOP = '#!/bin/sh\n# test: run without UID/GID\nshift\nexec "$@"\n';

function shimDir(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text, { mode: 0o755 });
  return dir;
}

// --- starting the service ---

interface Started {
  proc: ChildProcess;
  output: string[];
  exited: Promise<number>;
}

type StartResult =
  { started: true; svc: Started; output: string[] } | { started: false; status: number; output: string[] };

/** Runs `argv` in D like supervise or systemd would, until `starting` or exit. */
async function startService(D: string, argv: string[], PATH: string): Promise<StartResult> {
  const proc = spawn(argv[0]!, argv.slice(1), { cwd: D, env: { PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.add(proc);
  const output: string[] = [];
  let partial = '';
  let onLine: (() => void) | undefined;
  const take = (chunk: Buffer): void => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop()!;
    output.push(...parts);
    onLine?.();
  };
  proc.stdout.on('data', take);
  proc.stderr.on('data', take);
  const exited = new Promise<number>((resolve) =>
    proc.once('close', (code, signal) => {
      if (partial !== '') output.push(partial);
      resolve(code ?? 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 0));
    }),
  );
  const started = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
    onLine = () => {
      if (output.some((l) => /^starting/.test(l))) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    onLine();
    void exited.then(() => {
      clearTimeout(timer);
      resolve(output.some((l) => /^starting/.test(l)));
    });
  });
  if (started) return { started: true, svc: { proc, output, exited }, output };
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  return { started: false, status: await exited, output };
}

async function stopService(svc: Started): Promise<number> {
  svc.proc.kill('SIGTERM');
  const timer = setTimeout(() => svc.proc.kill('SIGKILL'), 5000);
  const status = await svc.exited;
  clearTimeout(timer);
  return status;
}

/** Points the service at the lab: free loopback address and port, FORWARDONLY, servers/@ = lab. */
async function adaptForLab(D: string, lab: LabServer): Promise<{ address: string; port: number }> {
  const address = await freeLoopback(PORT);
  fs.writeFileSync(path.join(D, 'env', 'IP'), `${address}\n`);
  fs.writeFileSync(path.join(D, 'env', 'PORT'), `${PORT}\n`);
  fs.writeFileSync(path.join(D, 'env', 'FORWARDONLY'), '1\n');
  fs.writeFileSync(path.join(D, 'root', 'servers', '@'), `${lab.address}:${lab.port}\n`);
  // Never start with anything but loopback servers.
  for (const s of parseServersFile(fs.readFileSync(path.join(D, 'root', 'servers', '@'), 'utf8'), 'servers/@')) {
    assertLoopback(s.address, 'servers/@ entry');
  }
  return { address, port: PORT };
}

/** Soft limits of a running process, from /proc: [open files, data bytes]. */
function softLimits(pid: number): { files: number; data: number } {
  const text = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
  const soft = (label: string): number => Number(new RegExp(`^${label}\\s+(\\S+)`, 'm').exec(text)![1]);
  return { files: soft('Max open files'), data: soft('Max data size') };
}

/** Starts, retrying on another address if someone took ours. */
async function startAdapted(
  D: string,
  lab: LabServer,
  argv: string[],
  PATH: string,
): Promise<{ result: StartResult; where: { address: string; port: number } }> {
  for (let attempt = 0; ; attempt++) {
    const where = await adaptForLab(D, lab);
    const result = await startService(D, argv, PATH);
    if (!result.started && attempt < 3 && result.output.some((l) => /EADDRINUSE/.test(l))) continue;
    return { result, where };
  }
}

/** Asks the started service a fresh name and checks the answer came from the lab. */
async function checkAnswers(svc: Started, where: { address: string; port: number }, lab: LabServer): Promise<void> {
  const name = freshName('conf');
  const reply = await query(where, name, 'A', { timeoutMs: 5000 });
  assert.equal(reply.packet.rcode, 'NOERROR', svc.output.join('\n'));
  assert.deepEqual(
    records(reply.packet.answers).map((a) => [a.type, a.data]),
    [['A', WILDCARD_ADDRESS]],
  );
  assert.ok(queriesFor(lab, name).length >= 1, 'the lab was asked');
}

describe('dnscache-conf as root', { skip: ROOT_SKIP }, () => {
  const scope = suiteScope();
  const D = path.join(tmp, 'svc');

  it('creates the service directory of spec §9, file by file', () => {
    const r = conf([ACCT, LOGACCT, D, '--roots', rootsFile]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, new RegExp(`systemctl link ${D}/dnscache-ts.service`));
    compareLayout(D, '127.0.0.1', ['127.0.0.1', '::1']);
  });

  it('takes the listen address, the roots file from $DNSCACHE_CONF_ROOTS, and draws a new seed', () => {
    const D6 = path.join(tmp, 'svc6');
    const r = conf([ACCT, LOGACCT, D6, '::1'], { DNSCACHE_CONF_ROOTS: rootsFile });
    assert.equal(r.status, 0, r.stderr);
    compareLayout(D6, '::1', ['127.0.0.1', '::1']);
    const D7 = path.join(tmp, 'svc7');
    const r7 = conf(['--roots', rootsFile, ACCT, LOGACCT, `${D7}/`, '127.0.0.53']);
    assert.equal(r7.status, 0, r7.stderr);
    compareLayout(D7, '127.0.0.53', ['127.0.0.1', '127.0.0.53', '::1']);
    assert.ok(!fs.readFileSync(path.join(D6, 'seed')).equals(fs.readFileSync(path.join(D7, 'seed'))), 'seeds differ');
  });

  it('refuses an existing directory (111) and leaves it alone', () => {
    const before = walk(D);
    const r = conf([ACCT, LOGACCT, D, '--roots', rootsFile]);
    assert.equal(r.status, 111);
    assert.match(r.stderr, /^dnscache-conf: fatal: /);
    assert.ok(r.stderr.includes(D) && r.stderr.includes('already exists'), r.stderr);
    assert.deepEqual(walk(D), before);
  });

  it('refuses a relative path and missing arguments (100, usage)', () => {
    for (const rel of ['svc-rel', './svc-rel']) {
      const r = conf([ACCT, LOGACCT, rel, '--roots', rootsFile]);
      assert.equal(r.status, 100, r.stderr);
      assert.ok(r.stderr.includes(JSON.stringify(rel)) && r.stderr.includes('absolute'), r.stderr);
      assert.match(r.stderr, /^dnscache-conf: usage: dnscache-conf .*acct logacct \/D \[ip\]$/m);
    }
    assert.equal(fs.existsSync(path.join(tmp, 'svc-rel')), false);
    for (const args of [[], [ACCT], [ACCT, LOGACCT]]) {
      const r = conf(args);
      assert.equal(r.status, 100, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /usage: dnscache-conf/);
    }
  });

  it('refuses an unknown account (111), naming it, and creates nothing', () => {
    const Dx = path.join(tmp, 'svc-unknown');
    for (const args of [
      ['no-such-acct-dnscachets', LOGACCT],
      [ACCT, 'no-such-logacct-dnscachets'],
    ]) {
      const r = conf([...args, Dx, '--roots', rootsFile]);
      assert.equal(r.status, 111, r.stderr);
      const name = args.find((a) => a.startsWith('no-such'))!;
      assert.equal(r.stderr, `dnscache-conf: fatal: unknown account: ${name}\n`);
    }
    assert.equal(fs.existsSync(Dx), false);
  });

  it('refuses a bad address (100) and a missing or bad roots file (111), naming them', () => {
    const Dx = path.join(tmp, 'svc-bad');
    const ip = conf([ACCT, LOGACCT, Dx, '1.2.3', '--roots', rootsFile]);
    assert.equal(ip.status, 100);
    assert.ok(ip.stderr.includes('"1.2.3"'), ip.stderr);
    const missing = path.join(tmp, 'no-such-roots');
    const r1 = conf([ACCT, LOGACCT, Dx, '--roots', missing]);
    assert.equal(r1.status, 111);
    assert.ok(r1.stderr.includes(missing) && r1.stderr.includes('ENOENT'), r1.stderr);
    const bad = path.join(tmp, 'bad-roots');
    fs.writeFileSync(bad, '127.0.0.1\nroot.example\n');
    const r2 = conf([ACCT, LOGACCT, Dx], { DNSCACHE_CONF_ROOTS: bad });
    assert.equal(r2.status, 111);
    assert.ok(r2.stderr.includes(`${bad} line 2: "root.example"`), r2.stderr);
    assert.equal(fs.existsSync(Dx), false);
  });

  // --- the generated service, started ---

  const hasDaemontools = ['envdir', 'envuidgid', 'softlimit'].every((c) => onPath(c, process.env.PATH ?? ''));
  const basePath = hasDaemontools
    ? process.env.PATH!
    : `${shimDir('daemontools-standins', { envdir: ENVDIR, envuidgid: ENVUIDGID, softlimit: SOFTLIMIT })}:${process.env.PATH}`;
  /** Set by the ./run test: whether dnscache accepted UID/GID (chroot and privilege drop). */
  let privilegeDrop: boolean | undefined;

  it('runs ./run under sh (envdir, envuidgid, softlimit) and answers from the lab', TEST_TIMEOUT, async (t) => {
    t.diagnostic(
      hasDaemontools
        ? 'daemontools is installed: using the real envdir, envuidgid, softlimit'
        : 'daemontools is not installed: using sh stand-ins for envdir, envuidgid, softlimit',
    );
    const lab = await startLab(scope);
    let { result, where } = await startAdapted(D, lab, ['/bin/sh', './run'], basePath);
    if (!result.started && result.status === 111 && result.output.some((l) => PRIVDROP_REFUSED.test(l))) {
      privilegeDrop = false;
      t.diagnostic(
        `dnscache cannot drop privileges here (${result.output.join(' | ')}): running ./run without UID/GID`,
      );
      const noUid = shimDir('no-uidgid', { envuidgid: ENVUIDGID_NOOP });
      ({ result, where } = await startAdapted(D, lab, ['/bin/sh', './run'], `${noUid}:${basePath}`));
    } else if (result.started) {
      privilegeDrop = true;
    }
    assert.ok(
      result.started,
      `./run did not start (status ${result.started ? '' : result.status}):\n${result.output.join('\n')}`,
    );
    const svc = result.svc;
    try {
      // softlimit -o250 is dnscache-conf's, but node raises its soft open-files limit to the hard one at start.
      const limits = softLimits(svc.proc.pid!);
      assert.ok(limits.files >= 250, String(limits.files));
      assert.equal(limits.data, hasDaemontools ? Number(DATALIMIT) : Math.floor(Number(DATALIMIT) / 1024) * 1024);
      if (privilegeDrop) {
        const status = fs.readFileSync(`/proc/${svc.proc.pid}/status`, 'utf8');
        assert.match(status, new RegExp(`^Uid:\\s+${acct!.uid}\\s+${acct!.uid}\\s+${acct!.uid}\\s+${acct!.uid}$`, 'm'));
        assert.match(status, new RegExp(`^Gid:\\s+${acct!.gid}\\s`, 'm'));
        assert.equal(fs.readlinkSync(`/proc/${svc.proc.pid}/root`), path.join(D, 'root'));
      }
      await checkAnswers(svc, where, lab);
      // Control works out of the box: dnscache-ctl finds the socket from the service directory,
      // and a dump goes to root/dumps, which the account may write after the drop.
      const ctl = (...args: string[]): { status: number | null; out: string } => {
        const r = spawnSync(process.execPath, [path.join(CLI, 'dnscache-ctl.js'), ...args], {
          encoding: 'utf8',
          cwd: os.tmpdir(),
        });
        return { status: r.status, out: `${r.stdout}${r.stderr}` };
      };
      const stats = ctl('-d', D, 'stats');
      assert.equal(stats.status, 0, stats.out);
      assert.match(stats.out, /^uptime /);
      const dump = ctl('-d', D, 'dump', 'dumps/cache.dump');
      assert.equal(dump.status, 0, dump.out);
      assert.ok(fs.statSync(path.join(D, 'root', 'dumps', 'cache.dump')).size > 0);
      if (privilegeDrop) {
        // Anywhere else in ROOT belongs to root: the error says why and where to write.
        const denied = ctl('-d', D, 'dump', 'cache.dump');
        assert.equal(denied.status, 1);
        assert.match(
          denied.out,
          /EACCES \(dnscache writes as its UID after the privilege drop: .* e\.g\. dumps\/cache\.dump/,
        );
      }
    } finally {
      assert.equal(await stopService(svc), 0, svc.output.join('\n'));
    }
  });

  it(
    'runs ./run-systemd as dnscache-ts.service does (no daemontools) and answers from the lab',
    TEST_TIMEOUT,
    async (t) => {
      const lab = await startLab(scope);
      // systemd's ExecStart: the script itself, in WorkingDirectory=D, with a minimal PATH.
      const { result, where } = await startAdapted(
        D,
        lab,
        [path.join(D, 'run-systemd')],
        '/usr/local/bin:/usr/bin:/bin',
      );
      if (privilegeDrop === false) {
        // It got as far as dnscache, with UID/GID of the account: that is all it can do here.
        assert.equal(result.started, false, 'dnscache refused UID/GID under ./run but started here');
        assert.ok(
          !result.started && result.status === 111 && result.output.some((l) => PRIVDROP_REFUSED.test(l)),
          result.output.join('\n'),
        );
        t.diagnostic(
          'dnscache cannot drop privileges here: ./run-systemd reached it with UID/GID set and was refused; the query part needs privilege drop',
        );
        return;
      }
      assert.ok(result.started, `./run-systemd did not start:\n${result.output.join('\n')}`);
      const svc = result.svc;
      try {
        assert.equal(softLimits(svc.proc.pid!).data, Math.floor(Number(DATALIMIT) / 1024) * 1024);
        const status = fs.readFileSync(`/proc/${svc.proc.pid}/status`, 'utf8');
        assert.match(status, new RegExp(`^Uid:\\s+${acct!.uid}\\s`, 'm'));
        await checkAnswers(svc, where, lab);
      } finally {
        assert.equal(await stopService(svc), 0, svc.output.join('\n'));
      }
    },
  );

  it('runs log/run with multilog into log/main as logacct, where daemontools is installed', TEST_TIMEOUT, async (t) => {
    if (
      !hasDaemontools ||
      !onPath('multilog', process.env.PATH ?? '') ||
      !onPath('setuidgid', process.env.PATH ?? '')
    ) {
      t.skip('daemontools (multilog, setuidgid) is not installed');
      return;
    }
    const proc = spawn('/bin/sh', ['./run'], {
      cwd: path.join(D, 'log'),
      env: { PATH: process.env.PATH! },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    proc.stdin.end('starting\nhello from the test\n');
    const status = await new Promise<number | null>((resolve) => proc.once('close', resolve));
    assert.equal(status, 0);
    const current = path.join(D, 'log', 'main', 'current');
    assert.match(fs.readFileSync(current, 'utf8'), /^@[0-9a-f]{24} hello from the test$/m);
    assert.equal(fs.statSync(current).uid, logAcct!.uid);
    // With LOGFORMAT=json the lines are kept as they come: still JSON objects.
    fs.writeFileSync(path.join(D, 'env', 'LOGFORMAT'), 'json\n');
    try {
      const json = spawn('/bin/sh', ['./run'], {
        cwd: path.join(D, 'log'),
        env: { PATH: process.env.PATH! },
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      json.stdin.end('{"time":"2026-12-03T00:00:00.000Z","event":"starting"}\n');
      assert.equal(await new Promise<number | null>((resolve) => json.once('close', resolve)), 0);
      const last = fs.readFileSync(current, 'utf8').trim().split('\n').pop()!;
      assert.deepEqual(JSON.parse(last), { time: '2026-12-03T00:00:00.000Z', event: 'starting' });
    } finally {
      fs.rmSync(path.join(D, 'env', 'LOGFORMAT'));
    }
  });
});

describe('run-systemd does what envdir, envuidgid and softlimit do', () => {
  const me = os.userInfo();
  const dir = path.join(tmp, 'run-systemd');
  fs.mkdirSync(path.join(dir, 'env'), { recursive: true });
  const dump = path.join(dir, 'dump.sh');
  // Stands in for dnscache.js (run with /bin/sh as "node"): shows what it was given.
  fs.writeFileSync(
    dump,
    'echo "ROOT=$ROOT"; echo "IP=$IP"; echo "SPACED=$SPACED"; echo "GONE=${GONE-unset}"; echo "UID=$UID GID=$GID"\n' +
      'echo "data=$(ulimit -S -d)"; echo "seed=$(wc -c)"; echo "to stderr" >&2\n',
  );
  // Stands in for node: shows the flags it was given before the script, then runs it.
  const fakeNode = path.join(dir, 'node');
  fs.writeFileSync(
    fakeNode,
    `#!/bin/sh\nwhile [ "\${1#--}" != "$1" ]; do echo "node flag $1"; shift; done\nexec /bin/sh "$@"\n`,
    { mode: 0o755 },
  );
  const script = path.join(dir, 'run-systemd');
  fs.writeFileSync(script, runSystemdScript(me.username, fakeNode, dump), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'seed'), Buffer.alloc(128, 1));
  const env = (name: string, text: string): void => fs.writeFileSync(path.join(dir, 'env', name), text);

  function runIt(extra: Record<string, string> = {}): Run {
    const r = spawnSync(script, [], {
      cwd: dir,
      env: { PATH: '/usr/bin:/bin', GONE: 'inherited', ...extra },
      encoding: 'utf8',
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('sets env/ variables from first lines, unsets empty ones, adds UID/GID, limits and the seed', () => {
    env('ROOT', '/srv/dns/root\nsecond line ignored\n');
    env('IP', '127.0.0.1');
    env('SPACED', '  lead kept, trail dropped \t \n');
    env('GONE', '');
    env('UID', '12345\n'); // envuidgid's value wins, as under daemontools
    env('DATALIMIT', '300000000\n');
    const r = runIt();
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(
      r.stdout,
      [
        ...NODE_FLAGS.map((f) => `node flag ${f}`),
        'ROOT=/srv/dns/root',
        'IP=127.0.0.1',
        'SPACED=  lead kept, trail dropped',
        'GONE=unset',
        `UID=${me.uid} GID=${me.gid}`,
        `data=${Math.floor(300000000 / 1024)}`,
        'seed=128',
        'to stderr',
        '',
      ].join('\n'),
    );
  });

  it('stops with 111 on a DATALIMIT that is not a number, and skips files that are not variable names', () => {
    env('DATALIMIT', '30M\n');
    env('NOT-A-NAME', 'x\n');
    const r = runIt();
    assert.equal(r.status, 111);
    assert.match(r.stdout, /run-systemd: warning: env\/NOT-A-NAME ignored: not a variable name/);
    assert.match(r.stdout, /run-systemd: fatal: env\/DATALIMIT: "30M" is not a number of bytes/);
    fs.rmSync(path.join(dir, 'env', 'NOT-A-NAME'));
    env('DATALIMIT', '300000000\n');
  });
});
