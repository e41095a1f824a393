// Abuse rules against the real dnscache: each rules/ action on UDP and TCP,
// for names at and below the suffix and not beside it; rules on the hit
// path; the same actions in ip/ files, per client; reload; bad files.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { query, Reply } from '../lab/client';
import { header } from './fixtures';
import { Dnscache, runDnscacheExpectingFailure, startDnscache, writeRoot } from './harness';
import { startInProcess } from './in-process';
import { responders } from './upstreams';

type Transport = 'udp' | 'tcp';
const BOTH: Transport[] = ['udp', 'tcp'];

function writeRules(root: string, rules: Record<string, string>): void {
  fs.mkdirSync(join(root, 'rules'), { recursive: true });
  for (const [file, text] of Object.entries(rules)) fs.writeFileSync(join(root, 'rules', file), text);
}

async function hup(dns: Dnscache, expect: RegExp): Promise<string> {
  const mark = dns.logs.length;
  dns.process.kill('SIGHUP');
  return dns.waitForLog(expect, 3000, mark);
}

/** The reply, or null when none came (UDP: silence; TCP: the connection closed). */
async function ask(
  dns: { address: string; port: number },
  name: string,
  transport: Transport,
  source?: string,
): Promise<Reply | null> {
  try {
    return await query(dns, name, 'A', { transport, timeoutMs: 700, ...(source ? { source } : {}) });
  } catch (err) {
    if (/timeout|connection closed|ECONNRESET|EPIPE/.test((err as Error).message)) return null;
    throw err;
  }
}

function answered(r: Reply | null): string {
  if (r === null) return 'no reply';
  const h = header(r.raw);
  return `${r.packet.rcode}${h.tc ? ' TC' : ''} ${r.packet.answers!.length}`;
}

async function startWithRules(
  t: Parameters<typeof responders>[0],
  rules: Record<string, string>,
  ipFiles?: string[],
): Promise<Dnscache> {
  const [up] = await responders(t, [0]);
  const dns = await startDnscache({ upstreams: up!.serverLine + '\n', ...(ipFiles ? { ipFiles } : {}) }, t);
  writeRules(dns.root, rules);
  await hup(dns, /^reload servers 1 ip \d+ routes 0( rules \d+)?$/);
  return dns;
}

// One test at a time: each starts two processes (see pools.test.ts).
describe('abuse rules', () => {
  test('drop, refuse, nxdomain and truncate, on UDP and TCP, at and below the suffix only', async (t) => {
    const dns = await startWithRules(t, {
      'drop.rules.test': 'drop\n',
      'refuse.rules.test': '# abuse\nrefuse\n',
      'nx.rules.test': 'nxdomain',
      'tc.rules.test': 'truncate\n',
    });
    for (const transport of BOTH) {
      const got = async (name: string): Promise<string> => answered(await ask(dns, name, transport));
      assert.equal(await got('drop.rules.test'), 'no reply', transport);
      assert.equal(await got(`x.drop.rules.test`), 'no reply', transport);
      assert.equal(await got(`a.b.refuse.rules.test`), 'REFUSED 0', transport);
      assert.equal(await got(`nx.rules.test`), 'NXDOMAIN 0', transport);
      // TC=1 sends a UDP client to TCP, where the name is answered.
      assert.equal(await got(`www.tc.rules.test`), transport === 'udp' ? 'NOERROR TC 0' : 'NOERROR 1', transport);
      assert.equal(await got(`notdrop.rules.test`), 'NOERROR 1', `${transport}: a sibling is not ruled`);
      assert.equal(await got(`xdrop.rules.test`), 'NOERROR 1', `${transport}: a label must match whole`);
    }
    assert.ok(dns.linesMatching(/^[ut]\.drop \d+ rule$/).length >= 4);
  });

  test('qps N: the excess over N a second is dropped, on UDP and on TCP', async (t) => {
    // In this process, on a clock that moves only when told: the rate is exact.
    const [up] = await responders(t, [0]);
    const dns = await startInProcess(t, { upstreams: up!.serverLine + '\n' }, {}, (root) =>
      writeRules(root, { 'qps.rules.test': 'qps 5\n' }),
    );
    for (const transport of BOTH) {
      // 30 questions at once: the burst of 5 passes, and with no time passing, nothing more.
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) => ask(dns, `n${i}.${transport}.qps.rules.test`, transport)),
      );
      const ok = replies.filter((r) => r !== null && r.packet.rcode === 'NOERROR').length;
      assert.equal(ok, 5, `${transport}: ${ok} of 30 answered`);
      dns.clock.advance(1000); // the bucket fills again
    }
  });

  test('rules are checked on cache hits too, and reread on SIGHUP; a bad rules/ file is refused whole', async (t) => {
    const dns = await startWithRules(t, { 'other.rules.test': 'drop\n' });
    const name = 'cached.hit.rules.test';
    assert.equal(answered(await ask(dns, name, 'udp')), 'NOERROR 1');
    assert.equal(answered(await ask(dns, name, 'udp')), 'NOERROR 1', 'now a hit');
    writeRules(dns.root, { 'hit.rules.test': 'refuse\n' });
    await hup(dns, /^reload servers 1 ip 1 routes 0 rules 2$/);
    assert.equal(answered(await ask(dns, name, 'udp')), 'REFUSED 0');
    assert.equal(answered(await ask(dns, name, 'tcp')), 'REFUSED 0');

    writeRules(dns.root, { 'hit.rules.test': 'refuse\nnxdomain\n' });
    const warning = await hup(dns, /^dnscache: warning: reload failed/);
    assert.equal(
      warning,
      'dnscache: warning: reload failed: rules/hit.rules.test line 2: a second action (the first is line 1; expected one action per file)',
    );
    assert.equal(answered(await ask(dns, name, 'udp')), 'REFUSED 0', 'the old rules stay');

    fs.rmSync(join(dns.root, 'rules', 'hit.rules.test'));
    await hup(dns, /^reload servers 1 ip 1 routes 0 rules 1$/);
    assert.equal(answered(await ask(dns, name, 'udp')), 'NOERROR 1');
  });

  test('an ip/ file may hold an action for the clients it admits; an empty one admits as before', async (t) => {
    const dns = await startWithRules(t, {}, ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    fs.writeFileSync(join(dns.root, 'ip', '127.0.0.1'), 'nxdomain\n');
    fs.writeFileSync(join(dns.root, 'ip', '127.0.0.3'), 'qps 3\n');
    await hup(dns, /^reload servers 1 ip 3 routes 0$/);
    for (const transport of BOTH) {
      assert.equal(answered(await ask(dns, `a.ip.rules.test`, transport, '127.0.0.1')), 'NXDOMAIN 0', transport);
      assert.equal(answered(await ask(dns, `a.ip.rules.test`, transport, '127.0.0.2')), 'NOERROR 1', transport);
    }
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ask(dns, `q${i}.ip.rules.test`, 'udp', '127.0.0.3')),
    );
    const ok = replies.filter((r) => r !== null).length;
    assert.ok(ok >= 3 && ok <= 10, `${ok} of 20 answered at qps 3`);
    assert.equal(
      answered(await ask(dns, `b.ip.rules.test`, 'udp', '127.0.0.2')),
      'NOERROR 1',
      'another client has its own count',
    );

    fs.writeFileSync(join(dns.root, 'ip', '127.0.0.2'), 'qps x\n');
    const warning = await hup(dns, /^dnscache: warning: reload failed/);
    assert.match(
      warning,
      /reload failed: ip\/127\.0\.0\.2 line 1: "qps x": "x" is not a number from 1 to 10000000 \(expected one of drop, refuse, nxdomain, truncate or "qps N"/,
    );
  });

  test('a bad rules/ file or ip/ action stops start-up, naming the file and line', async () => {
    const rules = await runDnscacheExpectingFailure({}, (root) => {
      writeRoot(root, { upstreams: '127.0.0.1\n' });
      writeRules(root, { 'example.com': 'block\n' });
    });
    assert.match(
      rules.stderr,
      /rules\/example\.com line 1: "block": not an action \(expected one of drop, refuse, nxdomain, truncate or "qps N"/,
    );
    const empty = await runDnscacheExpectingFailure({}, (root) => {
      writeRoot(root, { upstreams: '127.0.0.1\n' });
      writeRules(root, { '@': '# nothing\n' });
    });
    assert.match(empty.stderr, /rules\/@: no action \(expected one of/);
    const ip = await runDnscacheExpectingFailure({}, (root) => {
      writeRoot(root, { upstreams: '127.0.0.1\n' });
      fs.writeFileSync(join(root, 'ip', '127.0.0.1'), 'qps 0\n');
    });
    assert.match(ip.stderr, /ip\/127\.0\.0\.1 line 1: "qps 0": "0" is not a number from 1 to 10000000/);
  });
});
