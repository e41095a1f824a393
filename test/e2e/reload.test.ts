// SIGHUP (and `dnscache-ctl reload`): servers/ and ip/ are read again and
// swapped in together, the cache is kept; a bad file changes nothing and
// is reported as `dnscache: warning: reload failed: ...`.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { controlRequest } from '../../src/control/client';
import { query, records } from '../lab/client';
import { LabServer } from '../lab/server';
import { answersUdpFrom, clientQueries, freshName, queriesFor, startLab, WILDCARD_ADDRESS } from './fixtures';
import { CleanupScope, Dnscache, serverLine, startDnscache, StartOptions } from './harness';

interface Two {
  first: LabServer;
  second: LabServer;
  dns: Dnscache;
}

async function startTwo(scope: CleanupScope, opts: Omit<StartOptions, 'upstreams'> = {}): Promise<Two> {
  const [first, second] = await Promise.all([startLab(scope), startLab(scope)]);
  const dns = await startDnscache({ ...opts, upstreams: [first] }, scope);
  return { first: first, second: second, dns };
}

function writeServers(dns: Dnscache, text: string, file = '@'): void {
  fs.writeFileSync(join(dns.root, 'servers', file), text);
}

/** Sends SIGHUP and waits for the reload's log line (success or warning) after it. */
async function hup(dns: Dnscache, expect: RegExp): Promise<string> {
  const mark = dns.logs.length;
  dns.process.kill('SIGHUP');
  return dns.waitForLog(expect, 3000, mark);
}

async function assertWild(dns: Dnscache, name: string, opts: { source?: string } = {}): Promise<void> {
  const reply = await query(dns, name, 'A', opts);
  assert.deepEqual(
    records(reply.packet.answers, 'A').map((r) => r.data),
    [WILDCARD_ADDRESS],
  );
}

describe('reload', { concurrency: true }, () => {
  test('SIGHUP with a new servers/@: cached names stay cached, new names go to the new server', async (t) => {
    const { first, second, dns } = await startTwo(t);
    const cached = freshName('cached');
    await assertWild(dns, cached);
    assert.equal(queriesFor(first, cached).length, 1);

    writeServers(dns, serverLine(second) + '\n');
    await hup(dns, /^reload servers 1 ip 1 routes 0$/);
    assert.ok(dns.alive, 'SIGHUP does not stop dnscache');

    await assertWild(dns, cached);
    assert.equal(queriesFor(first, cached).length, 1, 'answered from the cache: no upstream query');
    assert.equal(queriesFor(second, cached).length, 0);
    const fresh = freshName('fresh');
    await assertWild(dns, fresh);
    assert.equal(queriesFor(second, fresh).length, 1, 'the new server is asked');
    assert.equal(queriesFor(first, fresh).length, 0, 'the old one is not');
  });

  test('a malformed servers/@: a warning names the file and line, the old servers stay in use', async (t) => {
    const { first, second, dns } = await startTwo(t);
    writeServers(dns, `${serverLine(second)}\n10.0.0.x\n`);
    const line = await hup(dns, /^dnscache: warning: reload failed/);
    assert.equal(
      line,
      'dnscache: warning: reload failed: servers/@ line 2: "10.0.0.x" is not an address (expected IPv4, IPv6 or [IPv6]:port, optionally followed by key=value options (order, weight, qps) and a # comment)',
    );
    const name = freshName('old');
    await assertWild(dns, name);
    assert.equal(queriesFor(first, name).length, 1, 'still the old server');
    assert.equal(queriesFor(second, name).length, 0);

    // Fixing the file and sending SIGHUP again applies it.
    writeServers(dns, serverLine(second) + '\n');
    await hup(dns, /^reload servers 1 ip 1 routes 0$/);
    const later = freshName('fixed');
    await assertWild(dns, later);
    assert.equal(queriesFor(second, later).length, 1);
  });

  test('other bad servers/ changes (no @, an empty file) are refused as a whole', async (t) => {
    const { first, second, dns } = await startTwo(t);
    writeServers(dns, serverLine(second) + '\n', 'example.test');
    writeServers(dns, '# nothing\n');
    assert.match(await hup(dns, /^dnscache: warning: reload failed/), /reload failed: servers\/@: no server addresses/);
    fs.rmSync(join(dns.root, 'servers', '@'));
    assert.match(await hup(dns, /^dnscache: warning: reload failed/), /reload failed: servers\/@: missing/);
    const name = freshName('whole');
    await assertWild(dns, name);
    assert.equal(queriesFor(first, name).length, 1, 'servers/example.test was not taken alone');
    assert.equal(queriesFor(second, name).length, 0);
  });

  test('a servers/ file for a subtree takes effect on SIGHUP', async (t) => {
    const { first, second, dns } = await startTwo(t);
    writeServers(dns, serverLine(second) + '\n', 'wild.example.test');
    await hup(dns, /^reload servers 2 ip 1 routes 0$/);
    const name = freshName('zone');
    await assertWild(dns, name);
    assert.equal(queriesFor(second, name).length, 1);
    assert.equal(queriesFor(first, name).length, 0);
    assert.equal(clientQueries(first).length, 0);
  });

  test('ip/ is re-read on SIGHUP: a client added is answered as soon as the reload is logged', async (t) => {
    const { dns } = await startTwo(t);
    const source = '127.0.0.2';
    assert.equal(await answersUdpFrom(dns, source), false, 'not in ip/ yet');
    dns.addIpFile(source);
    await hup(dns, /^reload servers 1 ip 2 routes 0$/);
    assert.equal(await answersUdpFrom(dns, source), true);
    await assertWild(dns, freshName('ip'), { source });
    dns.addIpFile(`#${source}`);
    await hup(dns, /^reload servers 1 ip 3 routes 0$/);
    assert.equal(await answersUdpFrom(dns, source), false, 'a # rejection wins');
  });

  test('an unreadable ip/ fails the reload: neither ip/ nor servers/ changes', async (t) => {
    const { first, second, dns } = await startTwo(t);
    writeServers(dns, serverLine(second) + '\n');
    fs.renameSync(join(dns.root, 'ip'), join(dns.root, 'ip.away'));
    const line = await hup(dns, /^dnscache: warning: reload failed/);
    assert.match(line, /^dnscache: warning: reload failed: ip\/: unable to read ".*\/ip" \(ENOENT\)/);
    const name = freshName('noip');
    await assertWild(dns, name);
    assert.equal(queriesFor(first, name).length, 1, 'servers/ unchanged');
    assert.equal(queriesFor(second, name).length, 0);
  });

  test('the routes file is re-read too: a route added sends its names to its backend; a bad line changes nothing', async (t) => {
    const { first, second, dns } = await startTwo(t);
    const name = freshName('routed');
    fs.writeFileSync(
      join(dns.root, 'routes'),
      `# to the second lab\n${serverLine(second)},^routed-[0-9-]*\\.wild\\.example\\.test\\.$\n`,
    );
    await hup(dns, /^reload servers 1 ip 1 routes 1$/);
    await assertWild(dns, name);
    assert.equal(queriesFor(second, name).length, 1, "the route's backend is asked");
    assert.equal(queriesFor(first, name).length, 0, 'servers/@ is not');
    fs.writeFileSync(join(dns.root, 'routes'), `${serverLine(first)},^(unclosed\n`);
    const line = await hup(dns, /^dnscache: warning: reload failed/);
    assert.match(line, /reload failed: routes line 1: .* has a pattern that is not a regular expression/);
    const next = freshName('routed');
    await assertWild(dns, next);
    assert.equal(queriesFor(second, next).length, 1, 'the route read before is still in force');
  });

  test('dnscache-ctl reload does the same and answers with the counts or the error', async (t) => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'dnscache-reload-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const socket = join(dir, 'control');
    const { first, second, dns } = await startTwo(t, { env: { CONTROL: socket } });
    writeServers(dns, `${serverLine(first)}\n${serverLine(second)}\n`, 'example.test');
    const res = await controlRequest(socket, { cmd: 'reload' });
    assert.deepEqual(res, { ok: true, cmd: 'reload', servers: 2, ip: 1, routes: 0 });
    writeServers(dns, 'nonsense\n', 'example.test');
    const bad = await controlRequest(socket, { cmd: 'reload' });
    assert.equal(bad.ok, false);
    assert.match(
      (bad as { error: string }).error,
      /^reload failed: servers\/example\.test line 1: "nonsense" is not an address/,
    );
    await dns.waitForLog(/^dnscache: warning: reload failed: servers\/example\.test line 1/);
  });
});
