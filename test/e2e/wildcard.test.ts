// IP=0.0.0.0 or :: : every UDP reply leaves from the address its query was
// sent to (IP_PKTINFO / IPV6_PKTINFO in the batched-UDP addon). A client
// whose socket is connected to the address it asked drops a reply from any
// other, as a client of a multi-homed host's resolver would. IPv4 on this
// host's loopback (127.0.0.2 and 127.0.0.3 are both ours); IPv6 and IPv4
// through a dual-stack :: socket in a network namespace the test makes,
// with two IPv6 addresses on its loopback.

import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeQuery } from '../lab/client';
import { DNSCACHE_JS, startDnscache } from './harness';
import { suiteScope } from './fixtures';

/** Asks `localhost A` from `from` to `to`:`port` on a connected socket; the address the reply came from, or null. */
function askFrom(family: 4 | 6, from: string, to: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    const done = (v: string | null): void => {
      clearTimeout(timer);
      s.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), 2000);
    s.on('error', () => done(null));
    s.on('message', (_m, r) => done(r.address));
    s.bind(0, from, () => s.connect(port, to, () => s.send(encodeQuery('localhost', 'A').bytes)));
  });
}

/** A UDP port free on every address now (a race is possible, and retried by the caller's bind failing). */
async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp6');
  await new Promise<void>((resolve) => s.bind(0, '::', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** The client side of the namespace test, run inside it: prints the reply's source address or "none". */
const CLIENT = `
const dgram = require('node:dgram');
const { encodeQuery } = require(${JSON.stringify(join(__dirname, '..', 'lab', 'client.js'))});
const [family, from, to, port] = process.argv.slice(1);
const s = dgram.createSocket(family === '6' ? 'udp6' : 'udp4');
const t = setTimeout(() => { console.log('none'); process.exit(0); }, 2000);
s.on('message', (_m, r) => { console.log(r.address); process.exit(0); });
s.bind(0, from, () => s.connect(Number(port), to, () => s.send(encodeQuery('localhost', 'A').bytes)));
`;

describe('wildcard listening', () => {
  const scope = suiteScope();

  it('IP=0.0.0.0: a reply leaves from the address asked (127.0.0.2, 127.0.0.3 asked from 127.5.5.5)', async () => {
    const port = await freePort();
    const dns = await startDnscache(
      { upstreams: '127.0.0.1:53\n', ipFiles: ['127'], listen: { address: '0.0.0.0', port } },
      scope,
    );
    assert.ok(dns.alive);
    for (const to of ['127.0.0.2', '127.0.0.3', '127.0.0.1']) assert.equal(await askFrom(4, '127.5.5.5', to, port), to);
  });

  it('IP=:: in a network namespace: IPv6 replies from each of two addresses, IPv4 ones through the dual-stack socket', async (t) => {
    const ns = `dnsts-wild-${process.pid}`;
    const made = spawnSync('ip', ['netns', 'add', ns]);
    if (made.status !== 0) {
      t.skip(`cannot make a network namespace here: ${String(made.stderr).trim() || made.error?.message}`);
      return;
    }
    scope.after(() => spawnSync('ip', ['netns', 'del', ns]));
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    for (const a of ['fd00:53::1/128', 'fd00:53::2/128'])
      execFileSync('ip', ['-n', ns, 'addr', 'add', a, 'dev', 'lo', 'nodad']);
    const root = fs.mkdtempSync(join(tmpdir(), 'dnscache-wild-'));
    scope.after(() => fs.rmSync(root, { recursive: true, force: true }));
    fs.mkdirSync(join(root, 'servers'));
    fs.mkdirSync(join(root, 'ip'));
    fs.writeFileSync(join(root, 'servers', '@'), '127.0.0.1:53\n');
    for (const prefix of ['127', 'fd00:53']) fs.writeFileSync(join(root, 'ip', prefix), '');
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, DNSCACHE_JS], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', IP: '::', PORT: '53', ROOT: root, FORWARDONLY: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (c: Buffer) => (log += c.toString('latin1')));
    scope.after(() => child.kill('SIGTERM'));
    for (let i = 0; i < 100 && !/^starting/m.test(log); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(log, /^starting/m);
    const ask = (family: string, from: string, to: string): string =>
      execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', CLIENT, family, from, to, '53'], {
        encoding: 'latin1',
      }).trim();
    assert.equal(ask('6', 'fd00:53::2', 'fd00:53::1'), 'fd00:53::1');
    assert.equal(ask('6', 'fd00:53::1', 'fd00:53::2'), 'fd00:53::2');
    assert.equal(ask('4', '127.5.5.5', '127.0.0.2'), '127.0.0.2');
  });
});
