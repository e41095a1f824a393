// The control server in-process, over a real unix socket, with a stand-in
// for the service: responses, failures inside a command, and the process
// state it must leave alone (umask).

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cache, RANK } from '../../src/cache/cache';
import { controlRequest, exchange } from '../../src/control/client';
import { ControlCommands, ControlTarget } from '../../src/control/commands';
import { ControlServer } from '../../src/control/server';
import { Log, MemorySink } from '../../src/log/log';
import { ManualClock } from '../clock';
import { ipv4, n } from './helpers';

const dir = fs.mkdtempSync(join(tmpdir(), 'dnscache-ctlsrv-'));
const socket = join(dir, 'control');
const sink = new MemorySink();
const clock = new ManualClock();
let reloadBehaviour: () => ReturnType<ControlTarget['reload']> = () => ({ ok: true, servers: 1, ip: 1 });
const target: ControlTarget = {
  cache: new Cache(10000, () => clock.epochSeconds()),
  root: dir,
  engine: { counters: { queries: 7, cacheHits: 3, errors: 1 }, recent: null },
  resolver: { counters: { merged: 2, stale: 0, prefetches: 0 }, inflightCount: 1 },
  upstreamQueries: 4,
  activity: { udp: 1, edns: 0, tcp: 2 },
  router: {
    report: () => [
      { source: 'routes line 1', backend: '127.0.0.1:5300', pattern: '\\.test\\.$', health: 'up', queries: 3 },
    ],
  },
  reload: () => reloadBehaviour(),
  clock,
};
let server: ControlServer;
let umaskBefore: number;

before(async () => {
  umaskBefore = process.umask();
  server = await ControlServer.listen(socket, new ControlCommands(target, new Log(sink), 100));
});
after(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('ControlServer', () => {
  it('makes the socket 0600 and leaves the process umask as it was', () => {
    assert.equal(fs.lstatSync(socket).mode & 0o777, 0o600);
    assert.equal(process.umask(), umaskBefore);
  });

  it('installs the ring of recent queries in the engine', () => {
    assert.ok(target.engine.recent);
    target.engine.recent.record('192.0.2.1', 1, n('a.test'));
    assert.equal((server.commands as ControlCommands).recent.total, 1);
  });

  it('answers stats from the target (misses derived when the engine does not count them)', async () => {
    const s = (await controlRequest(socket, { cmd: 'stats' })) as Record<string, any>;
    assert.equal(s.ok, true);
    assert.equal(s.queries, 7);
    assert.equal(s.cacheMisses, 4);
    assert.deepEqual(s.inFlight, { udp: 1, edns: 0, tcp: 2, resolutions: 1 });
    assert.equal(s.merged, 2);
    assert.equal(s.upstreamQueries, 4);
  });

  it('counts uptime in whole seconds on the service clock', async () => {
    const before = (await controlRequest(socket, { cmd: 'stats' })) as Record<string, any>;
    clock.advance(61_999);
    const later = (await controlRequest(socket, { cmd: 'stats' })) as Record<string, any>;
    assert.equal(later.uptime - before.uptime, 61);
  });

  it('flushes and logs what it did', async () => {
    target.cache.putRRset(n('www.example.test'), 1, 60, [ipv4('192.0.2.1')], RANK.ANSWER_AA);
    const r = await controlRequest(socket, { cmd: 'flush', name: 'WWW.example.test.' });
    assert.deepEqual(r, { ok: true, cmd: 'flush', name: 'www.example.test.', removed: 1 });
    assert.ok(sink.lines.includes('control flush www.example.test. 1'));
  });

  it('turns an exception inside a command into an error response', async () => {
    reloadBehaviour = () => {
      throw new TypeError('boom');
    };
    assert.deepEqual(await controlRequest(socket, { cmd: 'reload' }), { ok: false, error: 'boom' });
    reloadBehaviour = () => ({ ok: false, error: 'servers/@: missing' });
    assert.deepEqual(await controlRequest(socket, { cmd: 'reload' }), {
      ok: false,
      error: 'reload failed: servers/@: missing',
    });
    reloadBehaviour = () => ({ ok: true, servers: 3, ip: 4 });
    assert.deepEqual(await controlRequest(socket, { cmd: 'reload' }), { ok: true, cmd: 'reload', servers: 3, ip: 4 });
  });

  it('answers only the first line of a connection', async () => {
    const line = await exchange(socket, '{"cmd":"flush-all"}\n{"cmd":"stats"}');
    assert.deepEqual(JSON.parse(line), { ok: true, cmd: 'flush-all', removed: 0 });
  });
});
