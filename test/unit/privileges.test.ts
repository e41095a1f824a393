// The pieces of the privilege drop that can be checked in-process without
// chrooting the test runner: UID/GID pairing, the chroot addon's argument
// and error handling, the ACL's suspend/relocate hooks, and that a Service
// answers nobody between bind() and serve(). The drop itself is checked
// end to end, as root, in test/e2e/privileges.test.ts.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClientAcl } from '../../src/acl/acl';
import { loadConfig } from '../../src/config';
import { Log, MemorySink } from '../../src/log/log';
import { PrivilegeError, chroot, chrootAvailable, privilegeDropFor } from '../../src/privileges/privileges';
import { realClock } from '../../src/platform/clock';
import { Random } from '../../src/random/random';
import { Service } from '../../src/server/service';
import { freeLoopback } from '../lab/addresses';
import { query } from '../lab/client';

const temps: string[] = [];
after(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnscache-priv-unit-'));
  temps.push(dir);
  return dir;
}

async function eventually(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

describe('privilegeDropFor', () => {
  test('neither UID nor GID: no drop', () => {
    assert.equal(privilegeDropFor({ root: '/r', uid: undefined, gid: undefined }), null);
  });

  test('both: the drop, with ROOT', () => {
    assert.deepEqual(privilegeDropFor({ root: '/r', uid: 65534, gid: 65533 }), { root: '/r', uid: 65534, gid: 65533 });
    assert.deepEqual(privilegeDropFor({ root: '/r', uid: 0, gid: 0 }), { root: '/r', uid: 0, gid: 0 });
  });

  test('only one of them: refused, naming the missing one', () => {
    assert.throws(
      () => privilegeDropFor({ root: '/r', uid: 1000, gid: undefined }),
      (e: Error) => e instanceof PrivilegeError && /^UID is set but GID is not/.test(e.message),
    );
    assert.throws(
      () => privilegeDropFor({ root: '/r', uid: undefined, gid: 1000 }),
      (e: Error) => e instanceof PrivilegeError && /^GID is set but UID is not/.test(e.message),
    );
  });
});

describe('chroot addon', () => {
  test('is built (npm install / npm ci runs node-gyp) and loads', () => {
    assert.equal(chrootAvailable(), true);
  });

  // Only calls that fail before chroot(2): the test runner must stay where it is.
  test('reports the failing call with errno text, and changes nothing', () => {
    const cwd = process.cwd();
    assert.throws(
      () => chroot('/nonexistent/dnscache-root'),
      (e: NodeJS.ErrnoException) =>
        e.message === 'chdir: No such file or directory' &&
        e.syscall === 'chdir' &&
        e.errno === os.constants.errno.ENOENT,
    );
    const file = path.join(tempDir(), 'file');
    fs.writeFileSync(file, '');
    assert.throws(
      () => chroot(file),
      (e: NodeJS.ErrnoException) => e.message === 'chdir: Not a directory' && e.errno === os.constants.errno.ENOTDIR,
    );
    assert.equal(process.cwd(), cwd);
  });

  test('rejects what is not a usable path', () => {
    assert.throws(() => (chroot as (p: unknown) => void)(42), TypeError);
    assert.throws(() => (chroot as () => void)(), TypeError);
    assert.throws(
      () => chroot(''),
      (e: NodeJS.ErrnoException) => e.errno === os.constants.errno.ENOENT,
    );
    assert.throws(
      () => chroot('/tmp\0/x'),
      (e: NodeJS.ErrnoException) => e.errno === os.constants.errno.EINVAL,
    );
    assert.throws(
      () => chroot('/' + 'a'.repeat(5000)),
      (e: NodeJS.ErrnoException) => e.errno === os.constants.errno.ENAMETOOLONG,
    );
  });
});

describe('ClientAcl: suspend and relocate', () => {
  test('suspended, it admits nobody; resumed, the rules apply again', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, '127.0.0.1'), '');
    const acl = ClientAcl.load(dir, undefined, { watch: false, pollIntervalMs: 0 });
    try {
      assert.equal(acl.allows('127.0.0.1'), true);
      acl.suspend();
      assert.equal(acl.allows('127.0.0.1'), false);
      acl.resume();
      assert.equal(acl.allows('127.0.0.1'), true);
      assert.equal(acl.allows('127.0.0.2'), false);
    } finally {
      acl.close();
    }
  });

  test('relocated to another path to the same directory, it reads and watches there', async () => {
    const root = tempDir();
    const dir = path.join(root, 'ip');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '127.0.0.1'), '');
    const acl = ClientAcl.load(dir, undefined, { pollIntervalMs: 50 });
    try {
      const alias = path.join(tempDir(), 'alias');
      fs.symlinkSync(dir, alias);
      acl.relocate(alias);
      assert.equal(acl.directory, alias);
      fs.writeFileSync(path.join(dir, '127.0.0.2'), '');
      assert.equal(await eventually(() => acl.allows('127.0.0.2')), true);
      // Re-reads go to the new path: the old one going away does not matter.
      fs.renameSync(root, root + '.moved');
      temps.push(root + '.moved');
      fs.writeFileSync(path.join(root + '.moved', 'ip', '127.0.0.3'), '');
      fs.rmSync(alias);
      fs.symlinkSync(path.join(root + '.moved', 'ip'), alias);
      assert.equal(await eventually(() => acl.allows('127.0.0.3')), true);
    } finally {
      acl.close();
    }
  });

  test('relocating to a path that cannot be read throws and keeps the old one', () => {
    const dir = tempDir();
    const acl = ClientAcl.load(dir, undefined, { watch: false, pollIntervalMs: 0 });
    try {
      assert.throws(
        () => acl.relocate('/nonexistent/ip'),
        /^Error: unable to read ACL directory \/nonexistent\/ip: ENOENT/,
      );
      assert.equal(acl.directory, dir);
    } finally {
      acl.close();
    }
  });
});

describe('Service: bind() then serve()', () => {
  test('nobody is answered between bind() and serve(), over UDP or TCP', async () => {
    const root = tempDir();
    fs.mkdirSync(path.join(root, 'ip'));
    fs.mkdirSync(path.join(root, 'servers'));
    fs.writeFileSync(path.join(root, 'ip', '127.0.0.1'), '');
    fs.writeFileSync(path.join(root, 'servers', '@'), '127.0.0.1:53\n');
    const address = await freeLoopback(0);
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen({ host: address, port: 0 }, () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const config = loadConfig({ IP: address, PORT: String(port), ROOT: root, FORWARDONLY: '1' });
    const sink = new MemorySink();
    const service = new Service(config, new Log(sink), new Random(null), realClock);
    try {
      await service.bind();
      const server = { address, port };
      // localhost is answered internally: no upstream needed.
      await assert.rejects(query(server, 'localhost', 'A', { timeoutMs: 300 }));
      await assert.rejects(query(server, 'localhost', 'A', { transport: 'tcp', timeoutMs: 300 }));
      assert.deepEqual(
        sink.lines.filter((l) => l.startsWith('starting') || l.startsWith('query')),
        [],
      );
      service.serve();
      assert.equal((await query(server, 'localhost', 'A')).packet.rcode, 'NOERROR');
      assert.equal((await query(server, 'localhost', 'A', { transport: 'tcp' })).packet.rcode, 'NOERROR');
      assert.equal(sink.lines.filter((l) => l.startsWith('starting')).length, 1);
    } finally {
      await service.stop();
    }
  });
});
