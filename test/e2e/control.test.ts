// The control socket (CONTROL) and dnscache-ctl, against the real dnscache
// process: permissions, stats, flushing a name, a subtree or everything
// (the lab sees the re-fetch), dump and load across a restart keeping the
// absolute expiry, top clients and names, and requests that are garbage.

import * as fs from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { controlRequest, exchange } from '../../src/control/client';
import { query, records } from '../lab/client';
import { LabServer } from '../lab/server';
import { clientQueries, freshName, queriesFor, startLab, startSetup, waitFor, WILDCARD_ADDRESS } from './fixtures';
import { ctl, ok, socketDir } from './ctl';
import { CleanupScope, Dnscache, runDnscacheExpectingFailure, startDnscache, StartOptions } from './harness';

interface ControlSetup {
  lab: LabServer;
  dns: Dnscache;
  socket: string;
}

async function startWithControl(
  scope: CleanupScope,
  opts: Omit<StartOptions, 'upstreams'> = {},
  lab?: LabServer,
): Promise<ControlSetup> {
  const socket = join(socketDir(scope), 'control');
  if (lab) {
    const dns = await startDnscache({ ...opts, upstreams: [lab], env: { CONTROL: socket, ...opts.env } }, scope);
    return { lab, dns, socket };
  }
  const { lab: l, dns } = await startSetup(scope, ['answer'], { ...opts, env: { CONTROL: socket, ...opts.env } });
  return { lab: l, dns, socket };
}

async function assertWild(dns: Dnscache, name: string): Promise<number> {
  const reply = await query(dns, name, 'A');
  const a = records(reply.packet.answers, 'A');
  assert.deepEqual(
    a.map((r) => r.data),
    [WILDCARD_ADDRESS],
  );
  return a[0]!.ttl!;
}

describe('control socket', { concurrency: true }, () => {
  test('is a socket of mode 0600 owned by the user who started dnscache; stats counts queries, hits and upstream traffic', async (t) => {
    const { dns, socket } = await startWithControl(t);
    const st = fs.lstatSync(socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, process.getuid!());
    const name = freshName('stats');
    await assertWild(dns, name);
    await assertWild(dns, name);
    const s = await ok(socket, { cmd: 'stats' });
    assert.equal(s.cmd, 'stats');
    assert.equal(s.queries, 2);
    assert.equal(s.cacheHits, 1);
    assert.equal(s.cacheMisses, 1);
    assert.equal(s.upstreamQueries, 1);
    assert.ok(s.cache.entries >= 2, 'an RRset and a reply');
    assert.equal(s.cache.maxBytes, 1000000);
    assert.ok(s.cache.bytes > 0 && s.cache.motion >= s.cache.bytes);
    assert.deepEqual(s.inFlight, { udp: 0, edns: 0, tcp: 0, resolutions: 0 });
    assert.equal(typeof s.uptime, 'number');
    assert.equal(s.merged, 0);
  });

  test('flush NAME: the name (every entry for it) is fetched again; other names stay cached', async (t) => {
    const { lab, dns, socket } = await startWithControl(t);
    const name = freshName('flush');
    const other = freshName('keep');
    await assertWild(dns, name);
    await assertWild(dns, other);
    // Counted as "more than before": on a loaded machine a try may time out and be asked again.
    const asked = queriesFor(lab, name).length;
    const otherAsked = queriesFor(lab, other).length;
    await assertWild(dns, name);
    assert.equal(queriesFor(lab, name).length, asked, 'the second time from the cache');
    const r = await ok(socket, { cmd: 'flush', name: name.toUpperCase() });
    assert.equal(r.name, name + '.');
    assert.equal(r.removed, 2, 'the A RRset and the reply');
    await assertWild(dns, name);
    assert.ok(queriesFor(lab, name).length > asked, 'fetched again after the flush');
    await assertWild(dns, other);
    assert.equal(queriesFor(lab, other).length, otherAsked, 'untouched');
    await dns.waitForLog(new RegExp(`^control flush ${name.replace(/\./g, '\\.')}\\. 2$`));
  });

  test('flush-subtree NAME: everything at or below it is fetched again, siblings are not', async (t) => {
    const { lab, dns, socket } = await startWithControl(t);
    const zone = freshName('sub');
    const below = [`a.${zone}`, `b.c.${zone}`, zone];
    const sibling = freshName('sibling');
    for (const n of [...below, sibling]) await assertWild(dns, n);
    // Counted from here: on a loaded machine a try may time out and be asked again.
    const before = new Map([...below, sibling].map((n) => [n, queriesFor(lab, n).length]));
    const r = await ok(socket, { cmd: 'flush-subtree', name: zone });
    assert.equal(r.removed, 6);
    for (const n of [...below, sibling]) await assertWild(dns, n);
    for (const n of below) assert.ok(queriesFor(lab, n).length > before.get(n)!, `${n} asked upstream again`);
    assert.equal(queriesFor(lab, sibling).length, before.get(sibling), 'a sibling stays cached');
  });

  test("dump - writes the dump to dnscache-ctl's standard output (the report on standard error); load - restores it from standard input into a fresh dnscache", async (t) => {
    const { lab, dns, socket } = await startWithControl(t);
    const names = Array.from({ length: 30 }, () => freshName('stream'));
    for (const n of names) await assertWild(dns, n);
    const file = await ok(socket, { cmd: 'dump', file: 'file.dump' });
    const out = await ctl(['--socket', socket, 'dump', '-']);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stderr, new RegExp(`^dumped ${file.entries} entries \\(\\d+ bytes\\) to standard output\\n$`));
    const streamed = out.stdout.split('\n');
    const written = fs.readFileSync(join(dns.root, 'file.dump'), 'utf8').split('\n');
    assert.equal(streamed.length, written.length);
    assert.deepEqual(streamed.slice(1).sort(), written.slice(1).sort(), 'the same entries as a dump to a file');
    assert.match(streamed[0]!, /^\{"format":"dnscache-ts cache dump"/);
    assert.equal(out.stdout.includes('"ok"'), false, 'the response line is not part of the dump');
    assert.ok(dns.logs.some((l) => new RegExp(`^control dump - ${file.entries}$`).test(l)));
    const json = await ctl(['--socket', socket, '--json', 'dump', '-']);
    assert.equal(JSON.parse(json.stderr).entries, file.entries);
    await dns.stop();

    const fresh = await startWithControl(t, {}, lab);
    const load = await ctl(['--socket', fresh.socket, 'load', '-'], {}, out.stdout);
    assert.equal(load.status, 0, load.stderr);
    assert.match(load.stdout, new RegExp(`^loaded ${file.entries} entries from standard input; skipped 0 `));
    // Client queries only: the fresh dnscache's health checks (`. SOA`, every second) reach the lab too.
    const before = clientQueries(lab).length;
    for (const n of names) await assertWild(fresh.dns, n);
    assert.equal(clientQueries(lab).length, before, 'answered from the entries loaded from standard input');
    const bad = await ctl(['--socket', fresh.socket, 'load', '-'], {}, 'not a dump\n');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /unable to load the dump sent: line 1: not a dnscache-ts cache dump/);
  });

  test('dump over a connection that stops reading: queries are answered meanwhile, the dump waits, and another dump is refused until the reader goes', async (t) => {
    const { dns, socket } = await startWithControl(t, { env: { CACHESIZE: '20000000' } });
    const names = Array.from({ length: 200 }, () => freshName('stall'));
    await Promise.all(names.map((n) => assertWild(dns, n)));
    // Make the dump larger than the connection's buffers: load 40,000 synthetic entries.
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const lines = Array.from({ length: 40_000 }, (_, i) =>
      JSON.stringify({
        kind: 'rrset',
        name: `n${i}.stall.test.`,
        type: 16,
        expires,
        rdata: ['20' + '61'.repeat(32)],
        rank: 4,
      }),
    );
    const loaded = await ctl(
      ['--socket', socket, 'load', '-'],
      {},
      `{"format":"dnscache-ts cache dump","version":1,"written":0}\n${lines.join('\n')}\n`,
    );
    assert.match(loaded.stdout, /^loaded 40000 entries/, loaded.stderr);
    const reader = net.connect({ path: socket });
    await new Promise((r) => reader.once('connect', r));
    reader.pause();
    reader.write('{"cmd":"dump","stream":true}\n');
    // Asked until the streaming dump has begun (its request may still be on its way).
    const second = await waitFor('the streaming dump to be running', async () => {
      const r = await controlRequest(socket, { cmd: 'dump', file: 'other.dump' });
      return r.ok ? undefined : r;
    });
    assert.equal(second.ok, false);
    assert.match((second as { error: string }).error, /a dump is already running/);
    await assertWild(dns, names[0]!);
    const chunks: Buffer[] = [];
    reader.on('data', (d: Buffer) => chunks.push(d));
    reader.resume();
    await new Promise((r) => reader.once('end', r));
    const text = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
    const response = JSON.parse(text.pop()!);
    assert.equal(response.ok, true);
    assert.equal(text.length, response.entries + 1);
    assert.ok(response.entries >= 40_000);
    assert.ok(
      (await ok(socket, { cmd: 'dump', file: 'other.dump' })).entries >= 40_000,
      'the walk ended with the stream',
    );
  });

  test('flush-all: every name is fetched again', async (t) => {
    const { lab, dns, socket } = await startWithControl(t);
    const names = [freshName('all'), freshName('all')];
    for (const n of names) await assertWild(dns, n);
    // Counted from here: on a loaded machine a first try may have timed out and been asked again.
    const before = names.map((n) => queriesFor(lab, n).length);
    const r = await ok(socket, { cmd: 'flush-all' });
    assert.ok(r.removed >= 4);
    assert.equal((await ok(socket, { cmd: 'stats' })).cache.entries, 0);
    for (const n of names) await assertWild(dns, n);
    names.forEach((n, i) => assert.ok(queriesFor(lab, n).length > before[i]!, `${n} asked upstream again`));
  });

  test('dump, then load into a fresh dnscache: answered from the cache with the original expiry, not a new TTL', async (t) => {
    const { lab, dns, socket } = await startWithControl(t);
    const name = freshName('dump');
    const first = await assertWild(dns, name);
    assert.equal(first, 300);
    const answeredAt = Date.now();
    const nx = `nx-${process.pid}.example.test`;
    await query(dns, nx, 'A');
    const d = await ok(socket, { cmd: 'dump', file: '/cache.dump' });
    assert.equal(d.path, join(dns.root, 'cache.dump'), 'inside ROOT');
    assert.ok(d.entries >= 4);
    const text = fs.readFileSync(d.path, 'utf8');
    assert.equal(fs.statSync(d.path).mode & 0o777, 0o600);
    assert.match(text.split('\n')[0]!, /"format":"dnscache-ts cache dump"/);
    assert.match(text, new RegExp(`"kind":"rrset","name":"${name.replace(/\./g, '\\.')}\\.","type":1,"expires":\\d+`));
    assert.match(text, /"kind":"nxdomain"/);
    assert.match(text, /"kind":"reply"/);
    // The dump as if written AGED seconds ago: a reloaded entry must not start its TTL over.
    const AGED = 3;
    const saved = join(socketDir(t), 'saved.dump');
    fs.writeFileSync(
      saved,
      text.replace(/"(expires|written|built)":(\d+)/g, (_, key: string, at: string) => `"${key}":${Number(at) - AGED}`),
    );
    await dns.stop();
    const fresh = await startWithControl(t, {}, lab);
    fs.copyFileSync(saved, join(fresh.dns.root, 'saved.dump'));
    const l = await ok(fresh.socket, { cmd: 'load', file: 'saved.dump' });
    assert.equal(l.loaded, d.entries);
    assert.equal(l.skipped, 0);
    assert.deepEqual(l.errors, []);
    const before = queriesFor(lab, name).length;
    const ttl = await assertWild(fresh.dns, name);
    const elapsed = Math.ceil((Date.now() - answeredAt) / 1000) + AGED;
    assert.ok(ttl <= 300 - AGED, `TTL ${ttl} counts down from the first answer`);
    assert.ok(ttl >= 300 - elapsed - 1, `TTL ${ttl} after ${elapsed} s`);
    assert.equal(queriesFor(lab, name).length, before, 'no upstream query: answered from the loaded cache');
    // Counted from here: on a loaded machine the first dnscache's try may have timed out and been asked again.
    const nxBefore = queriesFor(lab, nx).length;
    const nxReply = await query(fresh.dns, nx, 'A');
    assert.equal(nxReply.packet.rcode, 'NXDOMAIN');
    assert.equal(queriesFor(lab, nx).length, nxBefore, 'the NXDOMAIN was loaded too');
    const s = await ok(fresh.socket, { cmd: 'stats' });
    assert.equal(s.upstreamQueries, 0);
  });

  test('load: bad lines are named and skipped, the rest is loaded; a missing file or a non-dump is an error; dnscache keeps running', async (t) => {
    const { dns, socket } = await startWithControl(t);
    const now = Math.floor(Date.now() / 1000);
    const lines = [
      JSON.stringify({ format: 'dnscache-ts cache dump', version: 1, written: now }),
      JSON.stringify({ kind: 'rrset', name: 'loaded.example.test.', type: 1, expires: now + 600, rdata: ['c0000263'] }),
      '{"kind":"rrset"',
      JSON.stringify({ kind: 'rrset', name: 'gone.example.test.', type: 1, expires: now - 5, rdata: ['c0000263'] }),
      JSON.stringify({
        kind: 'reply',
        name: 'x.example.test.',
        type: 1,
        expires: now + 600,
        built: now,
        message: '00',
      }),
    ];
    fs.writeFileSync(join(dns.root, 'mixed.dump'), lines.join('\n') + '\n');
    const r = await ok(socket, { cmd: 'load', file: 'mixed.dump' });
    assert.equal(r.loaded, 1);
    assert.equal(r.expired, 1);
    assert.equal(r.malformed, 2);
    assert.equal(r.skipped, 3);
    assert.equal(r.errors.length, 2);
    assert.match(r.errors[0], /^line 3: not a JSON object/);
    assert.match(r.errors[1], /^line 5: "message" is shorter than a header/);
    const reply = await query(dns, 'loaded.example.test', 'A');
    assert.deepEqual(
      records(reply.packet.answers, 'A').map((x) => [x.data, x.ttl! > 590]),
      [['192.0.2.99', true]],
    );

    const missing = await controlRequest(socket, { cmd: 'load', file: 'missing.dump' });
    assert.equal(missing.ok, false);
    assert.match((missing as { error: string }).error, /unable to load .*missing\.dump: open: ENOENT/);
    fs.writeFileSync(join(dns.root, 'notes.txt'), 'hello\n');
    const notDump = await controlRequest(socket, { cmd: 'load', file: 'notes.txt' });
    assert.match((notDump as { error: string }).error, /line 1: not a dnscache-ts cache dump/);
    const noDir = await controlRequest(socket, { cmd: 'dump', file: 'no/such/dir/x.dump' });
    assert.match((noDir as { error: string }).error, /unable to write .*x\.dump: open: ENOENT/);
    assert.ok(dns.alive);
  });

  test('top: the busiest clients and names over the last N queries', async (t) => {
    const { dns, socket } = await startWithControl(t, { ipFiles: ['127.0.0.1', '127.0.0.2'] });
    const busy = freshName('busy');
    const quiet = freshName('quiet');
    for (let i = 0; i < 3; i++) await assertWild(dns, busy);
    const reply = await query(dns, quiet, 'A', { source: '127.0.0.2' });
    assert.equal(records(reply.packet.answers, 'A').length, 1);
    const top = await ok(socket, { cmd: 'top' });
    assert.equal(top.queries, 4);
    assert.equal(top.ringSize, 10000);
    assert.deepEqual(top.clients, [
      { key: '127.0.0.1', count: 3 },
      { key: '127.0.0.2', count: 1 },
    ]);
    assert.deepEqual(top.names, [
      { key: busy + '.', count: 3 },
      { key: quiet + '.', count: 1 },
    ]);
    const last = await ok(socket, { cmd: 'top', queries: 1, limit: 5 });
    assert.deepEqual(last.clients, [{ key: '127.0.0.2', count: 1 }]);

    const out = await ctl(['--socket', socket, 'top', '2', '--limit', '1']);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(
      out.stdout,
      `last 2 queries (ring of 10000, 4 since start)\ntop clients\n  1  127.0.0.1\ntop names\n  1  ${busy}.\n`,
    );
  });

  test('a small CONTROLRING keeps only the most recent queries', async (t) => {
    const { dns, socket } = await startWithControl(t, { env: { CONTROLRING: '2' } });
    const names = [freshName('r'), freshName('r'), freshName('r')];
    for (const n of names) await assertWild(dns, n);
    const top = await ok(socket, { cmd: 'top' });
    assert.equal(top.queries, 2);
    assert.equal(top.total, 3);
    assert.deepEqual(top.names.map((r: { key: string }) => r.key).sort(), [names[1] + '.', names[2] + '.'].sort());
  });

  test('garbage requests get an error response, never a crash', async (t) => {
    const { dns, socket } = await startWithControl(t);
    for (const [line, re] of [
      ['hello', /request is not JSON/],
      ['{"cmd":"shutdown"}', /unknown command "shutdown"/],
      ['{"cmd":"flush","name":"a..b"}', /"a\.\.b" is not a domain name/],
      ['{"cmd":"flush","name":7}', /"name" must be a non-empty string/],
      ['{"cmd":"top","queries":-1}', /"queries" must be an integer/],
      ['\u0000\u0001\u00ff', /request is not JSON/],
    ] as const) {
      const res = JSON.parse(await exchange(socket, line));
      assert.equal(res.ok, false, line);
      assert.match(res.error, re);
    }
    // Longer than any request: refused without reading it all.
    const huge = JSON.parse(await exchange(socket, 'x'.repeat(200000)));
    assert.match(huge.error, /request longer than 65536 bytes/);
    // A request without its newline, ended by a half-close.
    const halfClosed = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ path: socket }, () => s.end('{"cmd":"stats"}'));
      let got = '';
      s.setEncoding('utf8').on('data', (d: string) => (got += d));
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
    assert.equal(JSON.parse(halfClosed).ok, true);
    // Connections that say nothing, or go away mid-request.
    for (let i = 0; i < 5; i++) {
      const s = net.connect({ path: socket });
      await new Promise((r) => s.once('connect', r));
      if (i % 2) s.write('{"cmd":');
      s.destroy();
    }
    assert.ok(dns.alive);
    assert.equal((await ok(socket, { cmd: 'stats' })).cmd, 'stats');
    await assertWild(dns, freshName('alive'));
  });

  test('dnscache-ctl prints human-readable output, --json the raw response, and exits 0, 1, 100 or 111', async (t) => {
    const { dns, socket } = await startWithControl(t);
    await assertWild(dns, freshName('cli'));
    const stats = await ctl(['--socket', socket, 'stats']);
    assert.equal(stats.status, 0, stats.stderr);
    assert.match(
      stats.stdout,
      /^uptime +\d+ s\nqueries +1 \(cache hits 0, misses 1, local 0, errors 0\)\ncache +\d+ entries, \d+ of 1000000 bytes \(memory 1048576\), motion \d+\nin flight +udp 0 \(edns 0\), tcp 0, resolutions 0\nupstream +1 queries, 0 merged\n$/,
    );
    const json = await ctl(['stats', '--json'], { CONTROL: socket });
    assert.equal(json.status, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).queries, 1);
    const flush = await ctl(['--socket', socket, 'flush', 'www.example.test']);
    assert.equal(flush.stdout, 'flushed www.example.test.: 0 entries\n');
    const flushAll = await ctl(['--socket', socket, 'flush-all']);
    assert.match(flushAll.stdout, /^flushed everything: \d+ entries\n$/);
    const dump = await ctl(['--socket', socket, 'dump', 'x.dump']);
    assert.equal(
      dump.stdout,
      `dumped 0 entries (${fs.statSync(join(dns.root, 'x.dump')).size} bytes) to ${join(dns.root, 'x.dump')}\n`,
    );
    const load = await ctl(['--socket', socket, 'load', 'x.dump']);
    assert.equal(
      load.stdout,
      `loaded 0 entries from ${join(dns.root, 'x.dump')}; skipped 0 (0 expired, 0 malformed, 0 too big)\n`,
    );
    const failed = await ctl(['--socket', socket, 'load', 'nope.dump']);
    assert.equal(failed.status, 1);
    assert.match(
      failed.stderr,
      /^dnscache-ctl: unable to load .*nope\.dump: open: ENOENT \(FILE is a path inside ROOT: "nope\.dump" is ROOT\/nope\.dump\)\n$/,
    );
    const usage = await ctl(['--socket', socket, 'flush']);
    assert.equal(usage.status, 100);
    assert.match(usage.stderr, /dnscache-ctl: usage: /);
    assert.equal((await ctl(['--socket', socket, 'frobnicate'])).status, 100);
    assert.equal((await ctl(['--socket', socket, 'top', 'many'])).status, 100);
    const gone = await ctl(['--socket', join(tmpdir(), `no-such-socket-${process.pid}`), 'stats']);
    assert.equal(gone.status, 111);
    assert.match(gone.stderr, /dnscache-ctl: fatal: unable to talk to dnscache at .*: no such socket/);
  });

  test('a stale socket from a killed dnscache is replaced; a live one or a non-socket at CONTROL stops start-up', async (t) => {
    const { lab, dns, socket } = await startWithControl(t);
    // Another dnscache with the same CONTROL while the first runs: refused.
    const busy = await runDnscacheExpectingFailure({ CONTROL: socket });
    assert.equal(busy.code, 111);
    assert.match(busy.stderr, /dnscache: fatal: CONTROL: unable to listen on .*: another process is listening on /);
    await dns.stop('SIGKILL');
    assert.ok(fs.lstatSync(socket).isSocket(), 'left behind');
    const again = await startDnscache({ upstreams: [lab], env: { CONTROL: socket } }, t);
    assert.equal((await ok(socket, { cmd: 'stats' })).queries, 0);
    await again.stop();

    const file = join(socketDir(t), 'plain-file');
    fs.writeFileSync(file, 'keep me');
    const r = await runDnscacheExpectingFailure({ CONTROL: file });
    assert.equal(r.code, 111);
    assert.match(r.stderr, /CONTROL: unable to listen on .*plain-file: .*exists and is not a socket/);
    assert.equal(fs.readFileSync(file, 'utf8'), 'keep me');
    const bad = await runDnscacheExpectingFailure({ CONTROL: socket, CONTROLRING: 'lots' });
    assert.match(bad.stderr, /dnscache: fatal: CONTROLRING: "lots" is not a decimal number/);
  });

  test('without CONTROL there is no socket and no recording', async (t) => {
    const dir = socketDir(t);
    const { dns } = await startSetup(t);
    await assertWild(dns, freshName('none'));
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.deepEqual(dns.linesMatching(/^control/), []);
  });
});

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const NOBODY = 65534;

describe('control socket with UID/GID (chroot)', () => {
  test(
    'made before the chroot, owned by root, mode 0600; dump and load and SIGHUP work inside ROOT',
    { skip: isRoot ? false : 'needs root' },
    async (t) => {
      const lab = await startLab(t);
      const other = await startLab(t);
      const socket = join(socketDir(t), 'control');
      const dns = await startDnscache(
        {
          upstreams: [lab],
          rootMode: 0o755,
          prepareRoot: (root) => {
            fs.mkdirSync(join(root, 'dumps'));
            fs.chownSync(join(root, 'dumps'), NOBODY, NOBODY);
          },
          env: { UID: String(NOBODY), GID: String(NOBODY), CONTROL: socket },
        },
        t,
      );
      const root = dns.root;
      const st = fs.lstatSync(socket);
      assert.equal(st.uid, 0);
      assert.equal(st.mode & 0o777, 0o600);

      const name = freshName('chroot');
      await assertWild(dns, name);
      const d = await ok(socket, { cmd: 'dump', file: '/dumps/cache.dump' });
      assert.equal(d.path, '/dumps/cache.dump', 'as the chrooted process sees it');
      assert.ok(fs.readFileSync(join(root, 'dumps', 'cache.dump'), 'utf8').includes(name));
      assert.equal(fs.statSync(join(root, 'dumps', 'cache.dump')).uid, NOBODY);
      const denied = await controlRequest(socket, { cmd: 'dump', file: 'cache.dump' });
      assert.match((denied as { error: string }).error, /unable to write \/cache\.dump: open: EACCES/);
      await ok(socket, { cmd: 'flush-all' });
      const l = await ok(socket, { cmd: 'load', file: 'dumps/cache.dump' });
      assert.equal(l.loaded, d.entries);

      // SIGHUP inside the chroot: servers/ is read from /servers.
      const mark = dns.logs.length;
      fs.writeFileSync(join(root, 'servers', '@'), `${other.address}:${other.port}\n`);
      dns.process.kill('SIGHUP');
      await dns.waitForLog(/^reload servers 1 ip 1 routes 0$/, 3000, mark);
      await assertWild(dns, name);
      const next = freshName('chroot-next');
      await assertWild(dns, next);
      assert.equal(queriesFor(lab, name).length, 1, 'still from the (loaded) cache');
      assert.equal(queriesFor(other, next).length, 1, 'new names go to the new server');
      assert.equal(queriesFor(lab, next).length, 0);
    },
  );
});

describe('control socket with WORKERS=2: the primary answers for every worker', () => {
  test("stats add up, flush reaches every cache, top merges the rings, dump writes every worker's entries and load restores them", async (t) => {
    const { lab, dns, socket } = await startWithControl(t, { env: { WORKERS: '2' } });
    await dns.waitForLogs(/^starting/, 2, 10000);
    const names = Array.from({ length: 40 }, () => freshName('cw'));
    for (let round = 0; round < 2; round++) await Promise.all(names.map((n) => assertWild(dns, n)));

    const stats = await ok(socket, { cmd: 'stats' });
    assert.equal(stats.queries, 80);
    assert.equal(stats.cacheHits + stats.cacheMisses, 80);
    assert.equal(stats.cache.maxBytes, 1000000, 'the two shares add up to CACHESIZE');
    assert.ok(stats.cache.entries >= 80);

    const top = await ok(socket, { cmd: 'top', limit: 5 });
    assert.equal(top.queries, 80);
    assert.equal(top.names.length, 5);
    assert.ok(
      top.names.every((r: { count: number }) => r.count === 2),
      JSON.stringify(top.names),
    );
    assert.deepEqual(top.clients, [{ key: '127.0.0.1', count: 80 }]);

    // Flushed from both workers' caches: whichever worker gets the next query asks upstream.
    const victim = names[0]!;
    const flushed = await ok(socket, { cmd: 'flush', name: victim });
    assert.ok(flushed.removed >= 2, `an RRset and a reply at least: ${flushed.removed}`);
    const before = queriesFor(lab, victim).length;
    await assertWild(dns, victim);
    assert.equal(queriesFor(lab, victim).length, before + 1);

    const dump = await ok(socket, { cmd: 'dump', file: 'cache.dump' });
    const lines = fs.readFileSync(join(dns.root, 'cache.dump'), 'utf8').trim().split('\n');
    assert.equal(lines.length, dump.entries + 1, 'a header, then one line per entry');
    assert.ok(dump.entries >= 80);
    const all = await ok(socket, { cmd: 'flush-all' });
    assert.equal(all.removed, dump.entries);
    const load = await ok(socket, { cmd: 'load', file: 'cache.dump' });
    assert.equal(load.loaded, 2 * dump.entries, 'every worker loads the whole file');
    // dump - and load -: the same, streamed through the primary.
    // (A name both workers cached is twice in the file: each worker keeps one entry for it.)
    const held = (await ok(socket, { cmd: 'stats' })).cache.entries;
    const streamed = await ctl(['--socket', socket, 'dump', '-']);
    assert.equal(streamed.status, 0, streamed.stderr);
    const streamedLines = streamed.stdout.trim().split('\n');
    assert.equal(streamedLines.length, held + 1, "both workers' entries after one header");
    assert.equal((await ok(socket, { cmd: 'flush-all' })).removed, held);
    const loadStream = await ctl(['--socket', socket, 'load', '-'], {}, lines.join('\n') + '\n');
    assert.equal(loadStream.status, 0, loadStream.stderr);
    assert.match(loadStream.stdout, new RegExp(`^loaded ${2 * dump.entries} entries from standard input; skipped 0 `));
    assert.equal(
      (await ok(socket, { cmd: 'stats' })).cache.entries,
      held,
      'the same entries as after loading the file',
    );
    const labBefore = clientQueries(lab).length;
    for (const n of names.slice(1, 10)) await assertWild(dns, n);
    assert.equal(clientQueries(lab).length, labBefore, 'answered from the loaded entries');

    const reload = await ok(socket, { cmd: 'reload' });
    assert.equal(reload.servers, 1);
    assert.equal((await dns.waitForLogs(/^reload servers /, 2, 3000)).length >= 2, true);

    // A command failing in the workers comes back with their error at once, not after the fan-out's timeout.
    const t0 = Date.now();
    const missing = await controlRequest(socket, { cmd: 'load', file: 'missing.dump' });
    assert.equal(missing.ok, false);
    assert.match((missing as { error: string }).error, /unable to load .*missing\.dump: open: ENOENT/);
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);

    // SIGTERM: the primary closes the control socket, as a single process does, and its file goes.
    assert.equal(await dns.stop(), 0);
    assert.equal(fs.existsSync(socket), false, 'the socket file is removed');
  });
});
