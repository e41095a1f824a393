// Iterative resolution against cache poisoning, end to end: a server that
// slips example.test records into its replies (the lab's `poison` role), and
// a servers/example.test entry that takes example.test away from the tree,
// so that even in-bailiwick data about it from the TLD must be ignored. The
// tests run one after another (the second changes what the TLD servers
// send); each has its own dnscache with a pristine cache.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { query, records } from '../lab/client';
import { Hierarchy } from '../lab/hierarchy';
import { Injection } from '../lab/server';
import { a } from '../lab/zone';
import { Dnscache } from './harness';
import { suiteScope } from './fixtures';
import {
  ask,
  asked,
  assertRcode,
  dataOf,
  hexIp,
  startIterative,
  startTree,
  tail,
  whoWasAsked,
} from './iterate-fixtures';

const scope = suiteScope();
let h: Hierarchy;

before(async () => {
  h = await startTree(scope);
});

const EVIL_DATA = '6.6.6.6';

/** `rr` lines that carry the poisoner's data (6.6.6.6, the evil server's address, its NS name). */
function poisonedLines(dns: Dnscache): string[] {
  const bad = [hexIp(EVIL_DATA), hexIp(h.addr('evil')), 'ns.evil.poison.test.'];
  return dns.logs.filter((l) => l.startsWith('rr ') && bad.some((b) => l.includes(b)));
}

/** The owner name of an `rr` line: `rr <server> <ttl> <type> <owner> ...`. */
function rrOwner(line: string): string {
  return line.split(' ')[4]!;
}

describe('iterative resolution: poisoning', () => {
  test('records slipped in by poison.test are not believed', async () => {
    const dns = await startIterative(h, scope);
    // First, with nothing about example.test in the cache yet.
    assert.deepEqual(dataOf(await ask(dns, 'www.poison.test')), ['192.0.2.66']);
    assert.deepEqual(dataOf(await ask(dns, 'www.example.test')), ['192.0.2.80']);
    assert.deepEqual(dataOf(await ask(dns, 'ns1.example.test')), [`127.${h.net}.3.1`]);
    assert.deepEqual(dataOf(await ask(dns, 'fresh.wild.example.test')), ['192.0.2.99']);
    const nsReply = await ask(dns, 'example.test', 'NS');
    assert.deepEqual(
      records(nsReply.packet.answers, 'NS')
        .map((r) => String(r.data))
        .sort(),
      ['ns1.example.test', 'ns2.example.test'],
    );
    // Again after the poisoner had a second go, with example.test cached.
    assert.deepEqual(dataOf(await ask(dns, 'again.poison.test')), [], 'NXDOMAIN, plus the injection');
    assert.deepEqual(dataOf(await ask(dns, 'www.example.test')), ['192.0.2.80']);
    assert.deepEqual(dataOf(await ask(dns, 'other.wild.example.test')), ['192.0.2.99']);

    assert.equal(h.server('evil').queries.length, 0, 'the fake example.test server was never asked');
    assert.deepEqual(poisonedLines(dns), []);
    // Everything cached under example.test came from its own servers or the test TLD's referral.
    const legit = new Set([
      hexIp(h.addr('example1')),
      hexIp(h.addr('example2')),
      hexIp(h.addr('tld1')),
      hexIp(h.addr('tld2')),
    ]);
    const foreign = dns.logs.filter(
      (l) => l.startsWith('rr ') && rrOwner(l).endsWith('example.test.') && !legit.has(l.split(' ')[1]!),
    );
    assert.deepEqual(foreign, [], tail(dns));
    assert.ok(asked(h, 'poison', 'www.poison.test').length >= 1);
  });

  test("servers/example.test: asked directly, and nobody else's data about example.test is cached", async () => {
    const example2 = h.server('example2');
    const dns = await startIterative(h, scope, {
      extraServers: { 'example.test': `${example2.address}:${example2.port}\n` },
    });
    // The test TLD is in bailiwick for example.test, but servers/ takes example.test away from it.
    const inject: Injection = {
      additional: [
        a('www.example.test', EVIL_DATA),
        a('ns1.example.test', h.addr('evil')),
        a('mail.example.test', EVIL_DATA),
      ],
    };
    const tlds = [h.server('tld1'), h.server('tld2')];
    for (const s of tlds) s.inject = inject;
    try {
      // The injection is really sent (so that it is dnscache that ignores it).
      const direct = await query(h.endpoint('tld1'), 'www.lame.test', 'A', { rd: false, timeoutMs: 2000 });
      assert.ok(records(direct.packet.additionals, 'A').some((r) => r.data === EVIL_DATA));

      assert.deepEqual(dataOf(await ask(dns, 'www.poison.test')), ['192.0.2.66']);
      assert.deepEqual(dataOf(await ask(dns, 'www.lame.test')), ['192.0.2.20']);
      assertRcode(await ask(dns, 'gone.test'), 'NXDOMAIN', 'gone.test');

      const names = ['www.example.test', 'mail.example.test', 'ns1.example.test'];
      const before = new Map(names.map((n) => [n, whoWasAsked(h, n).length]));
      assert.deepEqual(dataOf(await ask(dns, 'www.example.test')), ['192.0.2.80']);
      assert.deepEqual(dataOf(await ask(dns, 'mail.example.test')), ['192.0.2.25']);
      assert.deepEqual(dataOf(await ask(dns, 'ns1.example.test')), [`127.${h.net}.3.1`]);
      for (const n of names)
        assert.deepEqual(whoWasAsked(h, n).slice(before.get(n)), ['example2 udp A'], `${n} is asked of example2 only`);
      await dns.waitForLog(
        new RegExp(`^tx 0 1 www\\.example\\.test\\. example\\.test\\. - ${hexIp(example2.address)}$`),
        1000,
      );
    } finally {
      for (const s of tlds) s.inject = undefined;
    }
    assert.equal(h.server('evil').queries.length, 0);
    assert.deepEqual(poisonedLines(dns), []);
    const foreign = dns.logs.filter(
      (l) => l.startsWith('rr ') && rrOwner(l).endsWith('example.test.') && l.split(' ')[1] !== hexIp(example2.address),
    );
    assert.deepEqual(foreign, [], tail(dns));
  });
});
