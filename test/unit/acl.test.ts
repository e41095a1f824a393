import { after, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import fs = require('node:fs');
import * as os from 'node:os';
import * as path from 'node:path';

import { aclKey, candidatePrefixes, formatIPv6, isAllowed, rulesFromEntries } from '../../src/acl/rules';
import { AclReloadEvent, ClientAcl, MEMO_LIMIT } from '../../src/acl/acl';
import { listExistingEntries } from '../../src/acl/directory';
import { ManualClock } from '../clock';

const tempRoots: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dnscache-acl-'));
  tempRoots.push(dir);
  return dir;
}

after(() => {
  for (const dir of tempRoots) fs.rmSync(dir, { recursive: true, force: true });
});

function touch(dir: string, name: string): void {
  fs.writeFileSync(path.join(dir, name), '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns the last result. */
async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(10);
  }
}

function rules(...names: string[]) {
  return rulesFromEntries(names);
}

describe('rulesFromEntries', () => {
  test('splits accept and #reject entries and ignores dot names and empty prefixes', () => {
    const r = rules('127.0.0.1', '#10.1', '::1', '.hidden', '.#10', '#', '', '#2001:db8');
    assert.deepEqual([...r.accept].sort(), ['127.0.0.1', '::1']);
    assert.deepEqual([...r.reject].sort(), ['10.1', '2001:db8']);
  });
});

describe('aclKey', () => {
  test('IPv4 is dotted decimal without leading zeros', () => {
    assert.equal(aclKey('127.0.0.1'), '127.0.0.1');
    assert.equal(aclKey('010.001.002.003'), '10.1.2.3');
    assert.equal(aclKey('0.0.0.0'), '0.0.0.0');
  });

  test('IPv4-mapped IPv6 (dual-stack sockets) becomes dotted decimal', () => {
    assert.equal(aclKey('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(aclKey('::FFFF:10.1.2.3'), '10.1.2.3');
    assert.equal(aclKey('::ffff:7f00:1'), '127.0.0.1');
    assert.equal(aclKey('0:0:0:0:0:ffff:c000:0201'), '192.0.2.1');
  });

  test('IPv4-compatible (not mapped) IPv6 stays IPv6', () => {
    assert.equal(aclKey('::127.0.0.1'), '::7f00:1');
    assert.equal(aclKey('::1.2.3.4'), '::102:304');
  });

  test('IPv6 is lower-case compact text; zone ids and brackets are dropped', () => {
    assert.equal(aclKey('::1'), '::1');
    assert.equal(aclKey('0000:0000:0000:0000:0000:0000:0000:0001'), '::1');
    assert.equal(aclKey('2001:DB8:0:0:0:0:0:53'), '2001:db8::53');
    assert.equal(aclKey('2001:0db8::0053'), '2001:db8::53');
    assert.equal(aclKey('fe80::1%eth0'), 'fe80::1');
    assert.equal(aclKey('[2001:db8::53]'), '2001:db8::53');
    assert.equal(aclKey('::'), '::');
    assert.equal(aclKey('1::'), '1::');
  });

  test('text that is not an address gives the empty key', () => {
    for (const bad of [
      '',
      'localhost',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1::2::3',
      '::ffff:1.2.3.256',
      '12345::',
      'g::1',
    ]) {
      assert.equal(aclKey(bad), '', bad);
    }
  });
});

describe('fehQlibs IPv6 text (ip6_fmt), not RFC 5952', () => {
  test('the FIRST run of >= 2 zero groups is compressed, even when a later run is longer', () => {
    // RFC 5952 would write 1:0:0:2::3 (longest run compressed).
    const groups = [1, 0, 0, 2, 0, 0, 0, 3];
    assert.equal(formatIPv6(groups), '1::2:0:0:0:3');
    assert.notEqual(formatIPv6(groups), '1:0:0:2::3');
    assert.equal(aclKey('1:0:0:2::3'), '1::2:0:0:0:3');
    assert.equal(aclKey('2001:db8:0:0:1:0:0:0'), '2001:db8::1:0:0:0');
  });

  test('a single zero group is written 0, not compressed', () => {
    assert.equal(formatIPv6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]), '2001:db8:0:1:1:1:1:1');
    assert.equal(formatIPv6([1, 0, 2, 0, 0, 3, 0, 4]), '1:0:2::3:0:4');
    assert.equal(formatIPv6([1, 2, 3, 4, 5, 6, 7, 0]), '1:2:3:4:5:6:7:0');
    assert.equal(formatIPv6([0, 1, 2, 3, 4, 5, 6, 7]), '0:1:2:3:4:5:6:7');
  });

  test('runs at either end', () => {
    assert.equal(formatIPv6([1, 2, 3, 4, 5, 6, 0, 0]), '1:2:3:4:5:6::');
    assert.equal(formatIPv6([0, 0, 0, 0, 0, 0, 0, 0]), '::');
    assert.equal(formatIPv6([0, 0, 1, 0, 0, 0, 0, 2]), '::1:0:0:0:0:2');
  });

  test('the compression decides which ip/ prefixes match', () => {
    // Client 1:0:0:2:0:0:0:3 is matched as "1::2:0:0:0:3".
    const client = '1:0:0:2:0:0:0:3';
    // Prefixes of the RFC 5952 text "1:0:0:2::3" do not match ...
    assert.equal(isAllowed(rules('1:0:0:2'), client), false);
    assert.equal(isAllowed(rules('1:0:0:2:'), client), false);
    assert.equal(isAllowed(rules('1:0:0:2::3'), client), false);
    // ... prefixes of the fehQlibs text do.
    assert.equal(isAllowed(rules('1::2:0'), client), true);
    assert.equal(isAllowed(rules('1::2:0:0:0:3'), client), true);
    assert.equal(isAllowed(rules('1::2'), client), true);
  });
});

describe('candidatePrefixes', () => {
  test('IPv4: cut at each dot, longest first', () => {
    assert.deepEqual(candidatePrefixes('10.1.2.3'), ['10.1.2.3', '10.1.2', '10.1', '10']);
  });

  test('IPv6: cut at the last colon repeatedly', () => {
    assert.deepEqual(candidatePrefixes('2001:db8::53'), ['2001:db8::53', '2001:db8:', '2001:db8', '2001']);
    assert.deepEqual(candidatePrefixes('1::'), ['1::', '1:', '1']);
    assert.deepEqual(candidatePrefixes('fe80::1'), ['fe80::1', 'fe80:', 'fe80']);
  });

  test('never yields an empty prefix', () => {
    assert.deepEqual(candidatePrefixes('::1'), ['::1', ':']);
    assert.deepEqual(candidatePrefixes('::'), ['::', ':']);
    assert.deepEqual(candidatePrefixes(''), []);
  });
});

describe('isAllowed', () => {
  test('no entries: nobody is allowed', () => {
    const none = rules();
    for (const a of ['127.0.0.1', '::1', '10.0.0.1']) assert.equal(isAllowed(none, a), false);
  });

  test('IPv4 prefixes match at each octet boundary', () => {
    for (const prefix of ['10.1.2.3', '10.1.2', '10.1', '10']) {
      const r = rules(prefix);
      assert.equal(isAllowed(r, '10.1.2.3'), true, prefix);
      assert.equal(isAllowed(r, '11.1.2.3'), false, prefix);
    }
    assert.equal(isAllowed(rules('10.1.2'), '10.1.3.3'), false);
    assert.equal(isAllowed(rules('10.1'), '10.2.2.3'), false);
  });

  test('IPv4 prefixes are not partial octets', () => {
    assert.equal(isAllowed(rules('1'), '10.1.2.3'), false);
    assert.equal(isAllowed(rules('10.1.2'), '10.1.20.3'), false);
    assert.equal(isAllowed(rules('10.1.2.30'), '10.1.2.3'), false);
    assert.equal(isAllowed(rules('10.1.2.3'), '10.1.2.30'), false);
  });

  test('only ip/127.0.0.1: 127.0.0.5 is not allowed (spec §13)', () => {
    const r = rules('127.0.0.1');
    assert.equal(isAllowed(r, '127.0.0.1'), true);
    assert.equal(isAllowed(r, '127.0.0.5'), false);
  });

  test('#reject at a shorter prefix wins over a more specific accept', () => {
    const r = rules('10.1.2.3', '#10');
    assert.equal(isAllowed(r, '10.1.2.3'), false);
    const r2 = rules('10.1.2.3', '10.1', '#10.1.2');
    assert.equal(isAllowed(r2, '10.1.2.3'), false);
    assert.equal(isAllowed(r2, '10.1.2.4'), false);
    assert.equal(isAllowed(r2, '10.1.3.4'), true);
  });

  test('#reject of one host inside an accepted network', () => {
    const r = rules('192.168', '#192.168.1.66');
    assert.equal(isAllowed(r, '192.168.1.66'), false);
    assert.equal(isAllowed(r, '192.168.1.67'), true);
    assert.equal(isAllowed(r, '192.169.1.66'), false);
  });

  test('IPv6 prefixes are textual and cut at colons', () => {
    assert.equal(isAllowed(rules('2001:db8::53'), '2001:db8::53'), true);
    assert.equal(isAllowed(rules('2001:db8:'), '2001:db8::53'), true);
    assert.equal(isAllowed(rules('2001:db8'), '2001:db8::53'), true);
    assert.equal(isAllowed(rules('2001'), '2001:db8::53'), true);
    assert.equal(isAllowed(rules('2001:db8'), '2001:db8:1::1'), true);
    // "2001:db8:" only covers texts that continue with "::" after db8.
    assert.equal(isAllowed(rules('2001:db8:'), '2001:db8:1::1'), false);
    // No partial groups.
    assert.equal(isAllowed(rules('2001:db'), '2001:db8::53'), false);
    assert.equal(isAllowed(rules('2001:db8::5'), '2001:db8::53'), false);
    // Upper case and leading zeros from Node are normalised first.
    assert.equal(isAllowed(rules('2001:db8::53'), '2001:0DB8:0:0:0:0:0:0053'), true);
  });

  test('IPv6 #reject wins over accept', () => {
    const r = rules('2001:db8::53', '#2001:db8');
    assert.equal(isAllowed(r, '2001:db8::53'), false);
    const r2 = rules('2001', '#2001:db8:');
    assert.equal(isAllowed(r2, '2001:db8::53'), false);
    assert.equal(isAllowed(r2, '2001:db8:1::53'), true);
  });

  test('::1 and the empty prefix', () => {
    assert.equal(isAllowed(rules('::1'), '::1'), true);
    assert.equal(isAllowed(rules('::1'), '0:0:0:0:0:0:0:1'), true);
    assert.equal(isAllowed(rules('::1'), '::2'), false);
    // A file named "#" is an empty reject prefix and rejects nobody
    // (djbdnscurve6 would stat ip/# for every IPv6 client).
    assert.equal(isAllowed(rules('::1', '#'), '::1'), true);
    // ":" is a (textual) prefix of every address starting with "::".
    assert.equal(isAllowed(rules(':'), '::2'), true);
    assert.equal(isAllowed(rules(':'), '1::2'), false);
  });

  test('IPv4-mapped clients are matched as IPv4', () => {
    const r = rules('127.0.0.1', '10');
    assert.equal(isAllowed(r, '::ffff:127.0.0.1'), true);
    assert.equal(isAllowed(r, '::ffff:10.9.8.7'), true);
    assert.equal(isAllowed(r, '::ffff:127.0.0.2'), false);
    assert.equal(isAllowed(rules('127.0.0.1', '#127'), '::ffff:127.0.0.1'), false);
    // An IPv6-text entry does not cover a mapped client.
    assert.equal(isAllowed(rules('::ffff:127.0.0.1'), '::ffff:127.0.0.1'), false);
    assert.equal(isAllowed(rules('::ffff:127.0.0.1'), '127.0.0.1'), false);
  });

  test('zone ids are ignored', () => {
    assert.equal(isAllowed(rules('fe80'), 'fe80::1%eth0'), true);
    assert.equal(isAllowed(rules('fe80::1'), 'fe80::1%2'), true);
  });

  test('garbage addresses are denied even with broad rules', () => {
    const r = rules('1', '2001', ':', 'localhost');
    assert.equal(isAllowed(r, 'localhost'), false);
    assert.equal(isAllowed(r, ''), false);
    assert.equal(isAllowed(r, '1.2.3'), false);
  });
});

describe('listExistingEntries', () => {
  test('files, directories and live symlinks count; dangling symlinks and dot entries do not', () => {
    const dir = tempDir();
    const outside = tempDir();
    touch(dir, '127.0.0.1');
    fs.mkdirSync(path.join(dir, '10'));
    touch(outside, 'target');
    fs.symlinkSync(path.join(outside, 'target'), path.join(dir, '192.168'));
    fs.symlinkSync(path.join(outside, 'missing'), path.join(dir, '172.16'));
    touch(dir, '.10.1.2.3');
    touch(dir, '#10.9');
    assert.deepEqual(listExistingEntries(dir).sort(), ['#10.9', '10', '127.0.0.1', '192.168']);
  });
});

describe('ClientAcl', () => {
  const quiet = { watch: false, pollIntervalMs: 0 };

  test('load throws an Error naming the directory if it cannot be read', () => {
    const missing = path.join(tempDir(), 'no-such-ip');
    assert.throws(
      () => ClientAcl.load(missing, undefined, quiet),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /no-such-ip/);
        return true;
      },
    );
    const file = path.join(tempDir(), 'plainfile');
    fs.writeFileSync(file, '');
    assert.throws(() => ClientAcl.load(file, undefined, quiet), /plainfile/);
  });

  test('decisions follow the directory contents at load', () => {
    const dir = tempDir();
    touch(dir, '127.0.0.1');
    touch(dir, '::1');
    touch(dir, '10');
    touch(dir, '#10.0.0.66');
    touch(dir, '.192');
    const acl = ClientAcl.load(dir, undefined, quiet);
    try {
      assert.equal(acl.allows('127.0.0.1'), true);
      assert.equal(acl.allows('::ffff:127.0.0.1'), true);
      assert.equal(acl.allows('::1'), true);
      assert.equal(acl.allows('10.0.0.65'), true);
      assert.equal(acl.allows('10.0.0.66'), false);
      assert.equal(acl.allows('192.0.2.1'), false);
      assert.equal(acl.allows('127.0.0.5'), false);
      assert.deepEqual([...acl.rules.reject], ['10.0.0.66']);
    } finally {
      acl.close();
    }
  });

  test('allows() makes no filesystem call, memoised or not', () => {
    const dir = tempDir();
    touch(dir, '10');
    const acl = ClientAcl.load(dir, undefined, quiet);
    const names = ['statSync', 'lstatSync', 'readdirSync', 'existsSync', 'accessSync', 'openSync'] as const;
    const spies = names.map((n) => mock.method(fs, n));
    try {
      let allowed = 0;
      for (let i = 0; i < 1000; i++) if (acl.allows(`10.0.${i >> 8}.${i & 255}`)) allowed++;
      for (let i = 0; i < 1000; i++) if (acl.allows('10.0.0.1')) allowed++;
      if (acl.allows('::1')) allowed++;
      assert.equal(allowed, 2000);
      for (const [i, spy] of spies.entries()) assert.equal(spy.mock.callCount(), 0, names[i]);
    } finally {
      for (const spy of spies) spy.mock.restore();
      acl.close();
    }
  });

  test('the memo is invalidated by reload(), and not before', () => {
    const dir = tempDir();
    const acl = ClientAcl.load(dir, undefined, quiet);
    try {
      assert.equal(acl.allows('10.0.0.1'), false);
      assert.equal(acl.allows('10.0.0.2'), false);
      assert.equal(acl.memoSize, 2);
      touch(dir, '10.0.0.1');
      // Neither watching nor polling: the memoised answer stands.
      assert.equal(acl.allows('10.0.0.1'), false);
      acl.reload();
      assert.equal(acl.memoSize, 0);
      assert.equal(acl.allows('10.0.0.1'), true);
      assert.equal(acl.allows('10.0.0.2'), false);
      touch(dir, '#10');
      acl.reload();
      assert.equal(acl.allows('10.0.0.1'), false);
      // A reload that finds nothing new still clears the memo.
      acl.allows('10.0.0.3');
      acl.reload();
      assert.equal(acl.memoSize, 0);
    } finally {
      acl.close();
    }
  });

  test('the memo is bounded', () => {
    const dir = tempDir();
    touch(dir, '10');
    const acl = ClientAcl.load(dir, undefined, quiet);
    try {
      let maxSize = 0;
      let allowed = 0;
      for (let i = 0; i < MEMO_LIMIT + 5000; i++) {
        if (acl.allows(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)) allowed++;
        maxSize = Math.max(maxSize, acl.memoSize);
      }
      assert.equal(allowed, MEMO_LIMIT + 5000);
      assert.equal(maxSize, MEMO_LIMIT);
      assert.ok(acl.memoSize < MEMO_LIMIT);
      assert.equal(acl.allows('11.0.0.1'), false);
    } finally {
      acl.close();
    }
  });

  test('reload() reports what it read', () => {
    const dir = tempDir();
    const events: AclReloadEvent[] = [];
    const acl = ClientAcl.load(dir, (e) => events.push(e), quiet);
    try {
      assert.equal(events.length, 0);
      touch(dir, '127.0.0.1');
      touch(dir, '#10');
      acl.reload();
      assert.equal(events.length, 1);
      assert.equal(events[0]!.ok, true);
      assert.match(events[0]!.message, /1 accept, 1 reject/);
    } finally {
      acl.close();
    }
  });

  test('an unreadable directory keeps the old rules and is reported', () => {
    const root = tempDir();
    const dir = path.join(root, 'ip');
    fs.mkdirSync(dir);
    touch(dir, '127.0.0.1');
    const events: AclReloadEvent[] = [];
    const acl = ClientAcl.load(dir, (e) => events.push(e), quiet);
    try {
      fs.rmSync(dir, { recursive: true });
      acl.reload();
      assert.equal(events.length, 1);
      assert.equal(events[0]!.ok, false);
      assert.ok(events[0]!.message.includes(dir), events[0]!.message);
      assert.equal(acl.allows('127.0.0.1'), true);
      assert.equal(acl.allows('10.0.0.1'), false);
      fs.mkdirSync(dir);
      touch(dir, '10');
      acl.reload();
      assert.equal(events.at(-1)!.ok, true);
      assert.equal(acl.allows('127.0.0.1'), false);
      assert.equal(acl.allows('10.0.0.1'), true);
    } finally {
      acl.close();
    }
  });

  test('changes take effect without restart (watch + poll): create, reject, delete', async () => {
    const dir = tempDir();
    const events: AclReloadEvent[] = [];
    const acl = ClientAcl.load(dir, (e) => events.push(e));
    try {
      assert.equal(acl.allows('127.0.0.1'), false);

      touch(dir, '127.0.0.1');
      assert.ok(await waitFor(() => acl.allows('127.0.0.1')), 'new ip/127.0.0.1 honoured');
      assert.equal(acl.allows('127.0.0.2'), false);
      assert.equal(acl.allows('::ffff:127.0.0.1'), true);

      touch(dir, '#127');
      assert.ok(await waitFor(() => !acl.allows('127.0.0.1')), 'ip/#127 rejects');
      assert.equal(acl.allows('::ffff:127.0.0.1'), false);

      fs.unlinkSync(path.join(dir, '#127'));
      assert.ok(await waitFor(() => acl.allows('127.0.0.1')), 'removing ip/#127 re-admits');

      fs.unlinkSync(path.join(dir, '127.0.0.1'));
      assert.ok(await waitFor(() => !acl.allows('127.0.0.1')), 'removing ip/127.0.0.1 denies');

      assert.ok(events.length >= 4, `reload events: ${events.length}`);
      assert.ok(events.every((e) => e.ok));
    } finally {
      acl.close();
    }
  });

  test('fs.watch alone picks up changes', async () => {
    const dir = tempDir();
    const acl = ClientAcl.load(dir, undefined, { watch: true, pollIntervalMs: 0 });
    try {
      assert.equal(acl.allows('::1'), false);
      touch(dir, '::1');
      assert.ok(await waitFor(() => acl.allows('::1')));
      fs.renameSync(path.join(dir, '::1'), path.join(dir, '.::1'));
      assert.ok(await waitFor(() => !acl.allows('::1')), 'renamed to a dot name: ignored');
    } finally {
      acl.close();
    }
  });

  test('the poll alone picks up changes', async () => {
    const dir = tempDir();
    const acl = ClientAcl.load(dir, undefined, { watch: false, pollIntervalMs: 20 });
    try {
      assert.equal(acl.allows('2001:db8::53'), false);
      fs.mkdirSync(path.join(dir, '2001:db8'));
      assert.ok(await waitFor(() => acl.allows('2001:db8::53')));
      fs.rmdirSync(path.join(dir, '2001:db8'));
      assert.ok(await waitFor(() => !acl.allows('2001:db8::53')));
    } finally {
      acl.close();
    }
  });

  test('the poll notices a symlink target appearing (invisible to fs.watch)', async () => {
    const dir = tempDir();
    const outside = tempDir();
    const target = path.join(outside, 'allow-10');
    fs.symlinkSync(target, path.join(dir, '10'));
    const acl = ClientAcl.load(dir, undefined, { pollIntervalMs: 20 });
    try {
      assert.equal(acl.allows('10.0.0.1'), false);
      touch(outside, 'allow-10');
      assert.ok(await waitFor(() => acl.allows('10.0.0.1')));
      fs.unlinkSync(target);
      assert.ok(await waitFor(() => !acl.allows('10.0.0.1')));
    } finally {
      acl.close();
    }
  });

  test('a directory that vanishes is reported once, and a replacement is picked up', async () => {
    const root = tempDir();
    const dir = path.join(root, 'ip');
    fs.mkdirSync(dir);
    touch(dir, '127.0.0.1');
    const events: AclReloadEvent[] = [];
    const clock = new ManualClock();
    const acl = ClientAcl.load(dir, (e) => events.push(e), { pollIntervalMs: 20, clock });
    try {
      fs.rmSync(dir, { recursive: true });
      clock.advance(20);
      assert.ok(await waitFor(() => events.some((e) => !e.ok)));
      clock.advance(200); // ten more polls find it still gone
      assert.equal(events.filter((e) => !e.ok).length, 1);
      assert.equal(acl.allows('127.0.0.1'), true, 'old rules kept');

      // A new ip/ put in place by rename (as an admin might do atomically).
      const staged = path.join(root, 'ip.new');
      fs.mkdirSync(staged);
      touch(staged, '10.0.0.1');
      fs.renameSync(staged, dir);
      // The watcher watched the directory that went: a poll finds the new one.
      const polled = (check: () => boolean) => (): boolean => {
        clock.advance(20);
        return check();
      };
      assert.ok(await waitFor(polled(() => acl.allows('10.0.0.1'))));
      assert.equal(acl.allows('127.0.0.1'), false);
      assert.equal(events.at(-1)!.ok, true);

      // And later changes inside the replacement are seen too.
      touch(dir, '#10.0');
      assert.ok(await waitFor(polled(() => !acl.allows('10.0.0.1'))));
    } finally {
      acl.close();
    }
  });

  test('after close() changes are no longer picked up', async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const acl = ClientAcl.load(dir, undefined, { pollIntervalMs: 20, clock });
    acl.close();
    touch(dir, '127.0.0.1');
    clock.advance(200);
    assert.equal(clock.timers, 0, 'the poll stopped with close()');
    acl.reload();
    assert.equal(acl.allows('127.0.0.1'), false);
  });
});
