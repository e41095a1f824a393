// UID, GID and ROOT: dnscache binds its sockets, then chroots into ROOT and
// drops to UID/GID (groups too) before it answers anything, and refuses to
// start if it cannot. Checked from outside, through /proc/PID: the root
// directory, the working directory and the credentials of every thread.
// Needs root (chroot, setuid); skipped otherwise.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freeLoopback } from '../lab/addresses';
import { query, records } from '../lab/client';
import { LabServer } from '../lab/server';
import { answersUdpFrom, httpGet, METRICS_PORT, startLab, suiteScope, waitFor } from './fixtures';
import { parseExposition, valueOf } from '../unit/metrics-parse';
import { packageVersion } from '../../src/platform/version';
import {
  CleanupScope,
  DNSCACHE_JS,
  DNSCACHE_PORT,
  Dnscache,
  RootLayout,
  runDnscacheExpectingFailure,
  startDnscache,
  writeRoot,
} from './harness';

const NOBODY = 65534;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const SKIP = isRoot
  ? false
  : 'needs root: dnscache can only chroot and change user as root (run the suite as root to check privilege dropping)';

interface PrivilegedOptions extends RootLayout {
  uid?: number;
  gid?: number;
  port?: number;
  address?: string;
  workers?: number;
  /** METRICS, host:port. */
  metrics?: string;
}

/**
 * Starts dnscache with UID/GID on a free loopback address. Unlike the
 * harness's temporary ROOT (0700, root's), this one is 0755: after the drop
 * dnscache runs as `nobody` and must still read ip/ inside it.
 */
async function startPrivileged(opts: PrivilegedOptions, scope: CleanupScope): Promise<Dnscache> {
  const port = opts.port ?? DNSCACHE_PORT;
  return startDnscache(
    {
      ...opts,
      listen: { address: opts.address ?? (await freeLoopback(port)), port },
      rootMode: 0o755,
      env: {
        UID: String(opts.uid ?? NOBODY),
        GID: String(opts.gid ?? NOBODY),
        ...(opts.workers === undefined ? {} : { WORKERS: String(opts.workers) }),
        ...(opts.metrics === undefined ? {} : { METRICS: opts.metrics }),
      },
      started: { line: /^starting/, count: opts.workers ?? 1 },
    },
    scope,
  );
}

/** The Uid:, Gid: and Groups: lines of a /proc status file, as numbers. */
function credentials(statusFile: string): { uid: number[]; gid: number[]; groups: number[] } {
  const text = fs.readFileSync(statusFile, 'utf8');
  const field = (name: string): number[] => {
    const m = new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text);
    assert.ok(m, `${statusFile} has a ${name}: line`);
    return m[1]!
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  };
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups') };
}

/** Asserts that dnscache runs chrooted in its ROOT as nobody:nogroup, in every thread. */
function assertDropped(dns: Dnscache, pid = dns.process.pid!): void {
  const root = fs.realpathSync(dns.root);
  assert.equal(fs.readlinkSync(`/proc/${pid}/root`), root, 'root directory is ROOT');
  assert.equal(fs.readlinkSync(`/proc/${pid}/cwd`), root, 'working directory is ROOT');
  const want = { uid: [NOBODY, NOBODY, NOBODY, NOBODY], gid: [NOBODY, NOBODY, NOBODY, NOBODY], groups: [NOBODY] };
  assert.deepEqual(credentials(`/proc/${pid}/status`), want, 'real, effective, saved and fs ids; groups');
  // setuid() and friends are per thread in the kernel: libuv's and V8's threads must have followed.
  const tasks = fs.readdirSync(`/proc/${pid}/task`);
  assert.ok(tasks.length > 1, 'node runs several threads');
  for (const task of tasks) {
    assert.deepEqual(credentials(`/proc/${pid}/task/${task}/status`), want, `thread ${task}`);
  }
}

describe('privileges: chroot into ROOT and UID/GID', { skip: SKIP }, () => {
  const scope = suiteScope();
  let lab: LabServer;
  let dns: Dnscache;

  let metricsAddress: string;

  before(async () => {
    lab = await startLab(scope);
    metricsAddress = await freeLoopback(METRICS_PORT);
    dns = await startPrivileged({ upstreams: [lab], metrics: `${metricsAddress}:${METRICS_PORT}` }, scope);
  });

  test('runs chrooted in ROOT as nobody:nogroup with no other group, in every thread', () => {
    assertDropped(dns);
  });

  test('answers over UDP and TCP after the chroot (forwarded; nothing is loaded from disk any more)', async () => {
    for (const transport of ['udp', 'tcp'] as const) {
      const reply = await query(dns, `${transport}.wild.example.test`, 'A', { transport });
      assert.equal(reply.packet.rcode, 'NOERROR');
      assert.equal(records(reply.packet.answers, 'A').length, 1);
    }
    assert.ok(lab.queries.length >= 2, 'the queries went upstream');
    // From the cache as well.
    const again = await query(dns, 'udp.wild.example.test', 'A');
    assert.equal(records(again.packet.answers, 'A').length, 1);
    assert.ok(dns.alive);
  });

  test('/metrics is served after the chroot, build info and memory included (nothing it needs is read from disk)', async () => {
    const r = await httpGet(metricsAddress, METRICS_PORT, '/metrics');
    assert.equal(r.status, 200, r.body);
    const p = parseExposition(r.body);
    assert.equal(
      valueOf(p, 'dnscache_build_info', { version: packageVersion(), node: process.version }),
      1,
      'the version, read before the chroot',
    );
    assert.ok(valueOf(p, 'nodejs_heap_size_used_bytes') > 0, 'memory from V8, without /proc');
  });

  test('ip/ entries created and removed while running are honoured inside the chroot', async () => {
    const outsider = dns.address; // not in ip/ (only 127.0.0.1 is)
    assert.equal(await answersUdpFrom(dns, outsider), false);
    dns.addIpFile(outsider);
    await waitFor(
      `${outsider} to be answered`,
      async () => ((await answersUdpFrom(dns, outsider)) ? true : undefined),
      3000,
      100,
    );
    dns.removeIpFile(outsider);
    await waitFor(
      `${outsider} to be ignored again`,
      async () => ((await answersUdpFrom(dns, outsider)) ? undefined : true),
      3000,
      100,
    );
    assert.deepEqual(dns.linesMatching(/ACL|unable to read/), [], 'no ACL warnings');
  });

  test('binds a privileged port (53) as root before dropping privileges', async () => {
    const privileged = await startPrivileged({ upstreams: [lab], port: 53, address: await freeLoopback(53) }, scope);
    assertDropped(privileged);
    const reply = await query(privileged, 'port53.wild.example.test', 'A');
    assert.equal(records(reply.packet.answers, 'A').length, 1);
  });
});

describe('privileges: WORKERS=2', { skip: SKIP }, () => {
  const scope = suiteScope();

  test('the primary and both workers bind port 53 as root, then run chrooted as nobody', async () => {
    const lab = await startLab(scope);
    const dns = await startPrivileged(
      { upstreams: [lab], port: 53, address: await freeLoopback(53), workers: 2 },
      scope,
    );
    const workers = fs
      .readFileSync(`/proc/${dns.process.pid!}/task/${dns.process.pid!}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    assert.equal(workers.length, 2);
    for (const pid of workers) assertDropped(dns, pid);
    // The primary drops last, once every worker serves (maybe a moment after their `starting` lines).
    const dropped = (): true | undefined => {
      try {
        assertDropped(dns);
        return true;
      } catch {
        return undefined;
      }
    };
    await waitFor('the primary to drop its privileges', dropped);
    assertDropped(dns);
    for (const name of ['w1', 'w2', 'w3', 'w4']) {
      const reply = await query(dns, `${name}.wild.example.test`, 'A');
      assert.equal(records(reply.packet.answers, 'A').length, 1);
    }
  });
});

describe('privileges: refusing to start', () => {
  test('only UID, or only GID: refused, naming the missing one', async () => {
    const onlyUid = await runDnscacheExpectingFailure({ UID: String(NOBODY) });
    assert.equal(onlyUid.code, 111);
    assert.match(onlyUid.stderr, /^dnscache: fatal: UID is set but GID is not/m);
    const onlyGid = await runDnscacheExpectingFailure({ GID: String(NOBODY) });
    assert.equal(onlyGid.code, 111);
    assert.match(onlyGid.stderr, /^dnscache: fatal: GID is set but UID is not/m);
  });

  test('UID/GID with a ROOT that does not exist: the configuration error', async () => {
    const run = await runDnscacheExpectingFailure({
      UID: String(NOBODY),
      GID: String(NOBODY),
      ROOT: '/nonexistent/dnscache-root',
    });
    assert.equal(run.code, 111);
    assert.match(run.stderr, /^dnscache: fatal: ROOT: "\/nonexistent\/dnscache-root" does not exist/m);
  });

  test('when it cannot chroot (started as an unprivileged user): refused, naming chroot', async () => {
    // As root, run it as nobody; otherwise we are unprivileged already.
    const root = fs.mkdtempSync(join(tmpdir(), 'dnscache-priv-'));
    try {
      fs.chmodSync(root, 0o755);
      writeRoot(root, { upstreams: '127.0.0.1:53\n' });
      const address = await freeLoopback(DNSCACHE_PORT);
      const env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        IP: address,
        PORT: String(DNSCACHE_PORT),
        ROOT: root,
        UID: String(NOBODY),
        GID: String(NOBODY),
      };
      const as = isRoot ? { uid: NOBODY, gid: NOBODY } : {};
      const child = spawn(process.execPath, [DNSCACHE_JS], { env, ...as, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
      assert.equal(code, 111, stderr);
      assert.equal(stderr, `dnscache: fatal: unable to chroot to ${root}: chroot: Operation not permitted (EPERM)\n`);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test(
    'when ip/ cannot be read as UID/GID inside ROOT (a 0700 ROOT owned by root): refused',
    { skip: SKIP },
    async () => {
      // The harness's temporary ROOT is 0700 and root's.
      const run = await runDnscacheExpectingFailure({ UID: String(NOBODY), GID: String(NOBODY) });
      assert.equal(run.code, 111);
      assert.match(
        run.stderr,
        /^dnscache: fatal: after chroot to \S+ and dropping to UID 65534 GID 65534: unable to read ACL directory \/ip: EACCES/m,
      );
    },
  );
});
