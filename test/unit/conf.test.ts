// dnscache-conf's plan, without touching the file system: which entries the
// service directory gets, in which order, with which modes, owners (as
// numbers) and contents; the scripts' quoting; the systemd unit; where the
// root server list comes from.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Account,
  CAPABILITIES,
  ConfInput,
  DATALIMIT,
  Entry,
  ETC_ROOTS,
  FileProbe,
  UNIT_NAME,
  checkIp,
  checkServiceDir,
  chooseRoots,
  findPackagedRoots,
  ipEntries,
  logRunScript,
  parsePasswdLine,
  planServiceDir,
  privateTmp,
  protectHome,
  rootsProblem,
  NODE_FLAGS,
  runScript,
  runSystemdScript,
  shellWord,
  systemdUnit,
  systemdWord,
} from '../../src/service-dir';

const ACCT: Account = { name: 'dnscache', uid: 1001, gid: 1002 };
const LOG: Account = { name: 'dnslog', uid: 1003, gid: 1004 };
const ROOTS = Buffer.from('198.41.0.4\n2001:503:ba3e::2:30\n');
const SEED = Buffer.alloc(128, 7);

function input(over: Partial<ConfInput> = {}): ConfInput {
  return {
    dir: '/etc/dnscache',
    acct: ACCT,
    logAcct: LOG,
    ip: '127.0.0.1',
    roots: ROOTS,
    seed: SEED,
    node: '/usr/bin/node',
    dnscache: '/usr/lib/node_modules/dnscache-ts/dist/src/cli/dnscache.js',
    ...over,
  };
}

function byPath(entries: Entry[]): Map<string, Entry> {
  return new Map(entries.map((e) => [e.path, e]));
}

function content(e: Entry | undefined): string {
  assert.ok(e && e.kind === 'file', `${e?.path} is a file`);
  return e.content.toString('utf8');
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dnscache-conf-unit-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('planServiceDir: the layout of dnscache-conf (spec §9, C6 form)', () => {
  const entries = planServiceDir(input());
  const m = byPath(entries);

  it('creates exactly these entries, D first, parents before children', () => {
    assert.deepEqual(
      entries.map((e) => [e.path, e.kind, e.mode.toString(8)]),
      [
        ['.', 'dir', '3755'],
        ['log', 'dir', '2755'],
        ['log/main', 'dir', '2755'],
        ['log/status', 'file', '644'],
        ['env', 'dir', '2755'],
        ['env/ROOT', 'file', '644'],
        ['env/IP', 'file', '644'],
        ['env/IPSEND', 'file', '644'],
        ['env/CACHESIZE', 'file', '644'],
        ['env/DATALIMIT', 'file', '644'],
        ['env/USETEXTFORMAT', 'file', '644'],
        ['env/UZ5FALLBACK', 'file', '644'],
        ['env/FLAGEDSERVER', 'file', '644'],
        ['env/CONTROL', 'file', '644'],
        ['run', 'file', '755'],
        ['log/run', 'file', '755'],
        ['root', 'dir', '2755'],
        ['root/ip', 'dir', '2755'],
        ['root/ip/127.0.0.1', 'file', '600'],
        ['root/ip/::1', 'file', '600'],
        ['root/servers', 'dir', '2755'],
        ['root/servers/@', 'file', '644'],
        ['root/dumps', 'dir', '700'],
        ['seed', 'file', '600'],
        ['run-systemd', 'file', '755'],
        [UNIT_NAME, 'file', '644'],
      ],
    );
    const seen = new Set<string>();
    for (const e of entries) {
      if (e.path !== '.') assert.ok(seen.has(path.dirname(e.path)), `${e.path} after its directory`);
      seen.add(e.path);
    }
  });

  it('gives log/main and log/status to logacct (uid and gid), root/dumps to acct, everything else to root', () => {
    for (const e of entries) {
      const expected =
        e.path === 'log/main' || e.path === 'log/status'
          ? [LOG.uid, LOG.gid]
          : e.path === 'root/dumps'
            ? [ACCT.uid, ACCT.gid]
            : [0, 0];
      assert.deepEqual([e.uid, e.gid], expected, e.path);
    }
  });

  it('writes env/ as C6, DNSCurve settings included, one line each', () => {
    assert.equal(content(m.get('env/ROOT')), '/etc/dnscache/root\n');
    assert.equal(content(m.get('env/IP')), '127.0.0.1\n');
    assert.equal(content(m.get('env/IPSEND')), '::\n');
    assert.equal(content(m.get('env/CACHESIZE')), '1000000\n');
    assert.equal(content(m.get('env/DATALIMIT')), `${DATALIMIT}\n`);
    assert.equal(content(m.get('env/CONTROL')), '/etc/dnscache/root/control\n', 'control works out of the box');
    // djbdnscurve6's dnscache-conf.c: USETEXTFORMAT 1, UZ5FALLBACK 2, FLAGEDSERVER 1.
    assert.equal(content(m.get('env/USETEXTFORMAT')), '1\n');
    assert.equal(content(m.get('env/UZ5FALLBACK')), '2\n');
    assert.equal(content(m.get('env/FLAGEDSERVER')), '1\n');
    for (const name of ['UID', 'GID', 'FORWARDONLY']) {
      assert.equal(m.has(`env/${name}`), false, name);
    }
  });

  it("leaves room for node in DATALIMIT (dnscache-conf's 30000000 stops node from starting)", () => {
    assert.ok(Number(DATALIMIT) >= 150_000_000);
  });

  it("writes dnscache-conf's run script, exec'ing node with our dnscache.js", () => {
    assert.equal(
      content(m.get('run')),
      "#!/bin/sh\nexec 2>&1\nexec <seed\nexec envdir ./env sh -c '\n" +
        '  exec envuidgid dnscache softlimit -o250 -d "$DATALIMIT" /usr/bin/node --max-semi-space-size=8 /usr/lib/node_modules/dnscache-ts/dist/src/cli/dnscache.js\n' +
        "'\n",
    );
    assert.equal(content(m.get('log/run')), logRunScript('dnslog'));
    assert.match(content(m.get('log/run')), /^exec setuidgid dnslog multilog \$t \.\/main$/m);
    assert.equal(logRunScript('dnslog'), content(m.get('log/run')));
  });

  it('copies the roots file byte for byte, and the seed', () => {
    const at = m.get('root/servers/@');
    assert.ok(at && at.kind === 'file');
    assert.ok(at.content.equals(ROOTS));
    const seed = m.get('seed');
    assert.ok(seed && seed.kind === 'file');
    assert.ok(seed.content.equals(SEED));
  });

  it('leaves the ip/ files, log/status empty', () => {
    for (const p of ['root/ip/127.0.0.1', 'root/ip/::1', 'log/status']) assert.equal(content(m.get(p)), '', p);
  });

  it('points run-systemd and the unit at D', () => {
    const unit = content(m.get(UNIT_NAME));
    assert.match(unit, /^WorkingDirectory=\/etc\/dnscache$/m);
    assert.match(unit, /^ExecStart=\/etc\/dnscache\/run-systemd$/m);
    assert.equal(
      content(m.get('run-systemd')),
      runSystemdScript('dnscache', '/usr/bin/node', '/usr/lib/node_modules/dnscache-ts/dist/src/cli/dnscache.js'),
    );
  });

  it('writes the given listen address to env/IP and allows it in ip/', () => {
    const e = byPath(planServiceDir(input({ ip: '192.0.2.53' })));
    assert.equal(content(e.get('env/IP')), '192.0.2.53\n');
    assert.ok(e.has('root/ip/192.0.2.53'));
    assert.ok(e.has('root/ip/127.0.0.1') && e.has('root/ip/::1'));
  });
});

describe('ipEntries', () => {
  it('always has 127.0.0.1 and ::1 (C6), plus the listen address unless it is a wildcard', () => {
    assert.deepEqual(ipEntries('127.0.0.1'), ['127.0.0.1', '::1']);
    assert.deepEqual(ipEntries('::1'), ['127.0.0.1', '::1']);
    assert.deepEqual(ipEntries('0:0:0:0:0:0:0:1'), ['127.0.0.1', '::1']);
    assert.deepEqual(ipEntries('127.0.0.53'), ['127.0.0.1', '::1', '127.0.0.53']);
    assert.deepEqual(ipEntries('2001:DB8:0::53'), ['127.0.0.1', '::1', '2001:db8::53']);
    assert.deepEqual(ipEntries('::ffff:10.1.2.3'), ['127.0.0.1', '::1', '10.1.2.3']);
    assert.deepEqual(ipEntries('fe80::1%eth0'), ['127.0.0.1', '::1', 'fe80::1']);
    assert.deepEqual(ipEntries('0.0.0.0'), ['127.0.0.1', '::1']);
    assert.deepEqual(ipEntries('::'), ['127.0.0.1', '::1']);
  });
});

describe('argument checks', () => {
  it('wants D absolute, and normalises it', () => {
    assert.deepEqual(checkServiceDir('/etc/dnscache'), { ok: true, value: '/etc/dnscache' });
    assert.deepEqual(checkServiceDir('/etc/dnscache/'), { ok: true, value: '/etc/dnscache' });
    assert.deepEqual(checkServiceDir('//srv/./a/../dnscache'), { ok: true, value: '/srv/dnscache' });
    const rel = checkServiceDir('etc/dnscache');
    assert.ok(!rel.ok && rel.reason.includes('"etc/dnscache"') && rel.reason.includes('absolute'));
    assert.equal(checkServiceDir('/').ok, false);
    assert.equal(checkServiceDir('/a/..').ok, false);
    assert.equal(checkServiceDir('/etc/dns\ncache').ok, false);
  });

  it('wants an IP address dnscache-ts accepts', () => {
    assert.equal(checkIp('127.0.0.1').ok, true);
    assert.equal(checkIp('::1').ok, true);
    const bad = checkIp('1.2.3');
    assert.ok(!bad.ok && bad.reason.includes('"1.2.3"'));
    assert.equal(checkIp('localhost').ok, false);
  });

  it('reads passwd lines of the account asked for only', () => {
    assert.deepEqual(parsePasswdLine('dnslog:x:1003:1004::/nonexistent:/usr/sbin/nologin', 'dnslog'), {
      name: 'dnslog',
      uid: 1003,
      gid: 1004,
    });
    assert.equal(parsePasswdLine('root:x:0:0:root:/root:/bin/bash', 'dnslog'), undefined);
    assert.equal(parsePasswdLine('dnslog:x:abc:1::/:/bin/sh', 'dnslog'), undefined);
  });
});

/** Runs `script` under sh with envuidgid and softlimit replaced by a printer of their arguments. */
function runInnerCommand(script: string): string[] {
  const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
  const printer = '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n';
  for (const name of ['envuidgid', 'envdir']) fs.writeFileSync(path.join(bin, name), printer, { mode: 0o755 });
  // envdir ./env sh -c '...': run the sh -c part itself.
  fs.writeFileSync(path.join(bin, 'envdir'), '#!/bin/sh\nshift\nexec "$@"\n', { mode: 0o755 });
  fs.writeFileSync(path.join(tmp, 'seed'), '');
  const r = spawnSync('/bin/sh', ['-c', script.replace(/^exec <seed$/m, '')], {
    cwd: tmp,
    env: { PATH: `${bin}:/usr/bin:/bin`, DATALIMIT: '12345' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').slice(0, -1);
}

describe('quoting in the scripts and the unit', () => {
  it('leaves plain words alone and keeps any other path one word', () => {
    assert.equal(shellWord('/usr/bin/node'), '/usr/bin/node');
    for (const word of ['/opt/my node/bin/node', "/o'brien/node", '/a/$HOME/`x`', '/a"b\\c']) {
      const r = spawnSync('/bin/sh', ['-c', `printf '%s' ${shellWord(word)}`], { encoding: 'utf8' });
      assert.equal(r.stdout, word);
    }
  });

  it('runs the same command in run for plain and odd paths', () => {
    assert.deepEqual(runInnerCommand(runScript('dnscache', '/usr/bin/node', '/x/dnscache.js')), [
      'dnscache',
      'softlimit',
      '-o250',
      '-d',
      '12345',
      '/usr/bin/node',
      ...NODE_FLAGS,
      '/x/dnscache.js',
    ]);
    const node = "/opt/it's node/bin/node";
    const js = '/srv/$dns "cache"/dnscache.js';
    assert.deepEqual(runInnerCommand(runScript('dnscache', node, js)), [
      'dnscache',
      'softlimit',
      '-o250',
      '-d',
      '12345',
      node,
      ...NODE_FLAGS,
      js,
    ]);
  });

  it('bin/dnscache (a shell launcher, which cannot import NODE_FLAGS) passes the same node flags', () => {
    const launcher = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'bin', 'dnscache'), 'utf8');
    const exec = launcher.split('\n').find((l) => l.startsWith('exec node '));
    assert.equal(
      exec?.slice('exec node '.length, 'exec node '.length + NODE_FLAGS.join(' ').length + 1),
      NODE_FLAGS.join(' ') + ' ',
    );
  });

  it('escapes systemd specifiers and quotes', () => {
    assert.equal(systemdWord('/etc/dnscache/run-systemd'), '/etc/dnscache/run-systemd');
    assert.equal(systemdWord('/srv/dns 100%/run-systemd'), '"/srv/dns 100%%/run-systemd"');
    assert.equal(systemdWord('/srv/$x/run'), '"/srv/$$x/run"');
    assert.equal(systemdWord('/srv/a"b/run'), '"/srv/a\\"b/run"');
  });
});

describe('systemdUnit', () => {
  const unit = systemdUnit({
    dir: '/etc/dnscache',
    paths: ['/etc/dnscache', '/usr/bin/node', '/usr/lib/node_modules/dnscache-ts/dist/src/cli/dnscache.js'],
  });
  const settings = (key: string): string[] =>
    unit
      .split('\n')
      .filter((l) => l.startsWith(`${key}=`))
      .map((l) => l.slice(key.length + 1));

  it('starts run-systemd in D as root with only the capabilities to bind, chroot and drop', () => {
    assert.deepEqual(settings('ExecStart'), ['/etc/dnscache/run-systemd']);
    assert.deepEqual(settings('WorkingDirectory'), ['/etc/dnscache']);
    assert.deepEqual(settings('User'), []);
    assert.deepEqual(settings('CapabilityBoundingSet'), [CAPABILITIES.join(' ')]);
    assert.deepEqual(settings('CapabilityBoundingSet'), ['CAP_NET_BIND_SERVICE CAP_SYS_CHROOT CAP_SETUID CAP_SETGID']);
    assert.deepEqual(settings('AmbientCapabilities'), ['']);
    assert.deepEqual(settings('Restart'), ['always']);
    assert.deepEqual(settings('WantedBy'), ['multi-user.target']);
  });

  it('is hardened, but lets V8 JIT and the process chroot', () => {
    const want: Record<string, string[]> = {
      NoNewPrivileges: ['yes'],
      ProtectSystem: ['strict'],
      ProtectHome: ['yes'],
      PrivateTmp: ['yes'],
      PrivateDevices: ['yes'],
      ProtectKernelTunables: ['yes'],
      ProtectKernelModules: ['yes'],
      ProtectKernelLogs: ['yes'],
      ProtectControlGroups: ['yes'],
      RestrictAddressFamilies: ['AF_INET AF_INET6 AF_UNIX'],
      RestrictNamespaces: ['yes'],
      LockPersonality: ['yes'],
      MemoryDenyWriteExecute: ['no'],
      SystemCallFilter: ['@system-service', 'chroot'],
      SystemCallErrorNumber: ['EPERM'],
      // The control socket and dumps live in root/; nothing else is written.
      ReadWritePaths: ['/etc/dnscache/root'],
      PrivateUsers: [],
    };
    for (const [key, values] of Object.entries(want)) assert.deepEqual(settings(key), values, key);
  });

  it('keeps what it must read visible: home directories read-only, no private /tmp under /tmp', () => {
    assert.equal(protectHome(['/etc/dnscache', '/usr/bin/node']), 'yes');
    assert.equal(protectHome(['/etc/dnscache', '/root/.nvm/versions/node/v20.0.0/bin/node']), 'read-only');
    assert.equal(protectHome(['/home/me/dnscache-ts/dist/src/cli/dnscache.js']), 'read-only');
    assert.equal(protectHome(['/homework/x']), 'yes');
    assert.equal(privateTmp(['/tmp/svc']), 'no');
    assert.equal(privateTmp(['/var/tmp/svc', '/usr/bin/node']), 'no');
    assert.equal(privateTmp(['/srv/tmp/svc']), 'yes');
    const u = systemdUnit({ dir: '/tmp/x y', paths: ['/tmp/x y', '/root/node'] });
    assert.match(u, /^ProtectHome=read-only$/m);
    assert.match(u, /^PrivateTmp=no$/m);
    assert.match(u, /^ExecStart="\/tmp\/x y\/run-systemd"$/m);
  });

  it('passes systemd-analyze verify where systemd-analyze exists', (t) => {
    const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (probe.error) {
      t.skip('systemd-analyze not installed');
      return;
    }
    const dir = fs.mkdtempSync(path.join(tmp, 'unit-'));
    fs.writeFileSync(path.join(dir, 'run-systemd'), '#!/bin/sh\n', { mode: 0o755 });
    const file = path.join(dir, UNIT_NAME);
    fs.writeFileSync(file, systemdUnit({ dir, paths: [dir] }));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
    // Without a running systemd it may only complain about the system; never about our lines.
    const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes(UNIT_NAME));
    assert.deepEqual(complaints, []);
  });
});

describe('the root server list', () => {
  const fakeFs = (files: Record<string, string>): FileProbe => ({
    exists: (p) => p in files,
    read: (p) => files[p],
  });

  it('prefers --roots, then $DNSCACHE_CONF_ROOTS, then /etc/dnsroots.local, /etc/dnsroots.global, then the package', () => {
    const all = fakeFs({ [ETC_ROOTS[0]]: '', [ETC_ROOTS[1]]: '' });
    assert.deepEqual(chooseRoots('/opt/r', '/env/r', all, '/pkg/r'), { path: '/opt/r', from: '--roots' });
    assert.deepEqual(chooseRoots(undefined, '/env/r', all, '/pkg/r'), { path: '/env/r', from: 'DNSCACHE_CONF_ROOTS' });
    assert.deepEqual(chooseRoots(undefined, '', all, '/pkg/r'), { path: '/etc/dnsroots.local', from: 'system' });
    assert.deepEqual(chooseRoots(undefined, undefined, fakeFs({ '/etc/dnsroots.global': '' }), '/pkg/r'), {
      path: '/etc/dnsroots.global',
      from: 'system',
    });
    assert.deepEqual(chooseRoots(undefined, undefined, fakeFs({}), '/pkg/r'), { path: '/pkg/r', from: 'package' });
    assert.equal(chooseRoots(undefined, undefined, fakeFs({}), undefined), undefined);
  });

  it("finds the package's root/dnsroots.global from dist/src/cli, src/cli or a symlinked install", () => {
    const files = {
      '/usr/lib/node_modules/dnscache-ts/package.json': '{"name":"dnscache-ts"}',
      '/usr/lib/node_modules/dnscache-ts/root/dnsroots.global': '1.2.3.4\n',
      // another package with a root/dnsroots.global of its own is passed over
      '/usr/lib/node_modules/dnscache-ts/dist/src/root/dnsroots.global': '',
      '/usr/lib/node_modules/dnscache-ts/dist/src/package.json': '{"name":"other"}',
    };
    const probe = fakeFs(files);
    const want = '/usr/lib/node_modules/dnscache-ts/root/dnsroots.global';
    assert.equal(findPackagedRoots('/usr/lib/node_modules/dnscache-ts/dist/src/cli', probe), want);
    assert.equal(findPackagedRoots('/usr/lib/node_modules/dnscache-ts/src/cli', probe), want);
    assert.equal(findPackagedRoots('/opt/elsewhere/bin', probe), undefined);
  });

  it("finds this checkout's list from the compiled tests", () => {
    const real: FileProbe = {
      exists: fs.existsSync,
      read: (p) => (fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined),
    };
    const found = findPackagedRoots(__dirname, real);
    assert.ok(found && found.endsWith(path.join('root', 'dnsroots.global')), String(found));
    assert.equal(rootsProblem(fs.readFileSync(found, 'utf8'), found), undefined);
  });

  it('checks the list as servers/@ will be read', () => {
    assert.equal(rootsProblem('198.41.0.4\n# comment\n2001:503:ba3e::2:30\n', 'r'), undefined);
    assert.match(rootsProblem('', '/x/r') ?? '', /\/x\/r.*no server/);
    assert.match(rootsProblem('198.41.0.4\nnot-an-ip\n', '/x/r') ?? '', /\/x\/r line 2: "not-an-ip"/);
  });
});
