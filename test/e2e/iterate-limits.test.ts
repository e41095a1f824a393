// Iterative resolution under trouble, end to end: dead and all-dead servers
// (RTT-based selection, the RFC 9520 failure cache), CNAME chains and loops,
// glueless depth, the NXNSAttack bound, and merging of identical work. One
// lab tree and one dnscache; the tests run concurrently and use disjoint
// names, so their upstream traffic can be told apart by name.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { records } from '../lab/client';
import { Hierarchy } from '../lab/hierarchy';
import { MAX_NS_LOOKUPS_PER_REFERRAL } from '../../src/resolve/budget';
import { MAX_CNAME_CHAIN } from '../../src/resolve/resolver';
import { Dnscache } from './harness';
import { suiteScope } from './fixtures';
import {
  answersOf,
  ask,
  asked,
  assertRcode,
  dataOf,
  startIterative,
  startTree,
  tail,
  timed,
  whoWasAsked,
} from './iterate-fixtures';

const scope = suiteScope();
let h: Hierarchy;
let dns: Dnscache;

before(async () => {
  h = await startTree(scope);
  dns = await startIterative(h, scope);
});

describe('iterative resolution: failures and limits', { concurrency: true }, () => {
  test('a dead server costs one timeout, then RTT-based selection avoids it', async () => {
    const first = await timed(dns, 'www.dead.test');
    assert.deepEqual(dataOf(first.reply), ['192.0.2.30']);
    assert.ok(first.ms < 2500, `www.dead.test took ${first.ms.toFixed(0)} ms`);
    const deadBefore = asked(h, 'dead1').length;
    for (const [name, type, rcode] of [
      ['nosuch.dead.test', 'A', 'NXDOMAIN'],
      ['dead.test', 'MX', 'NOERROR'],
      ['other.dead.test', 'AAAA', 'NXDOMAIN'],
    ] as const) {
      const next = await timed(dns, name, type);
      assertRcode(next.reply, rcode, name);
      assert.ok(next.ms < 500, `${name}/${type} took ${next.ms.toFixed(0)} ms: it waited for the dead server again`);
      assert.ok(asked(h, 'dead2', name, type).length === 1, whoWasAsked(h, name).join('\n'));
    }
    assert.equal(asked(h, 'dead1').length, deadBefore, 'the dead server is not asked again');
  });

  test('all servers dead: SERVFAIL in about two timeouts, then from the failure cache without a query', async () => {
    const first = await timed(dns, 'www.alldead.test');
    assertRcode(first.reply, 'SERVFAIL', 'www.alldead.test');
    assert.ok(first.ms < 3000, `took ${first.ms.toFixed(0)} ms`);
    await dns.waitForLog(/^servfail www\.alldead\.test\. \S/, 1000);
    const seen = asked(h, 'alldead1').length + asked(h, 'alldead2').length;
    assert.ok(seen >= 2, 'both servers were tried');
    const from = dns.logs.length;
    for (let i = 0; i < 3; i++) {
      const again = await timed(dns, 'www.alldead.test');
      assertRcode(again.reply, 'SERVFAIL', 'repeat');
      assert.ok(again.ms < 300, `repeat took ${again.ms.toFixed(0)} ms`);
    }
    assert.equal(
      asked(h, 'alldead1').length + asked(h, 'alldead2').length,
      seen,
      'no new upstream query within the failure TTL',
    );
    assert.ok(!dns.logs.slice(from).some((l) => l.startsWith('tx ') && l.includes(' www.alldead.test. ')), tail(dns));
  });

  test('CNAMEs: a chain across zones; 16 followed; 17, 20 and a loop fail fast', async () => {
    const cross = await ask(dns, 'www.cname.test');
    assert.deepEqual(
      answersOf(cross).map((r) => `${r.name} ${r.type} ${r.data}`),
      ['www.cname.test CNAME www.example.test', 'www.example.test A 192.0.2.80'],
    );
    assert.ok(
      asked(h, 'example1', 'www.example.test').length + asked(h, 'example2', 'www.example.test').length >= 1,
      'the target was asked of its own zone',
    );

    const c16 = await ask(dns, 'chain16.cname.test');
    assertRcode(c16, 'NOERROR', 'chain16');
    const cnames = records(c16.packet.answers, 'CNAME');
    assert.equal(cnames.length, MAX_CNAME_CHAIN);
    assert.equal(cnames.length, 16);
    assert.deepEqual(dataOf(c16), ['192.0.2.91']);
    // The chain is in order: each CNAME's owner is the previous one's target.
    let owner = 'chain16.cname.test';
    for (const r of cnames) {
      assert.equal(r.name, owner);
      owner = String(r.data);
    }
    assert.equal(records(c16.packet.answers, 'A')[0]!.name, owner);

    for (const name of ['chain17.cname.test', 'c1.cname.test', 'loop1.cname.test']) {
      const { reply, ms } = await timed(dns, name);
      assertRcode(reply, 'SERVFAIL', name);
      assert.deepEqual(dataOf(reply), [], `${name}: no address`);
      assert.ok(ms < 1000, `${name} took ${ms.toFixed(0)} ms`);
    }
    // The loop was noticed, not chased: each name asked about once.
    assert.ok(
      asked(h, 'cname', 'loop1.cname.test').length <= 1 && asked(h, 'cname', 'loop2.cname.test').length <= 1,
      whoWasAsked(h, 'loop2.cname.test').join('\n'),
    );
  });

  test('glueless depth: 3 levels resolve, 6 levels fail without reaching the server', async () => {
    assert.deepEqual(dataOf(await ask(dns, 'www.deep.test')), ['192.0.2.70']);
    for (const level of [1, 2, 3])
      assert.ok(asked(h, 'deep', `ns.deep${level}.example`, 'A').length >= 1, `ns.deep${level}.example`);
    assert.ok(
      dns.logs.some((l) => l.startsWith('tx 3 1 ns.deep3.example. ')),
      tail(dns),
    );

    const { reply, ms } = await timed(dns, 'www.toodeep.test');
    assertRcode(reply, 'SERVFAIL', 'www.toodeep.test');
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
    // ns.td6.example would be a sixth nested lookup: never asked, so td1..td6 stay unreachable.
    assert.deepEqual(whoWasAsked(h, 'ns.td6.example'), []);
    assert.equal(asked(h, 'toodeep').length, 0);
    assert.ok(!dns.logs.some((l) => /^tx [6-9] /.test(l)), 'no lookup nested deeper than 5');
  });

  test('NXNSAttack: 30 glueless NS names that do not exist cost at most 10 lookups', async () => {
    assert.deepEqual(dataOf(await ask(dns, 'www.nxns.test')), ['192.0.2.95']);
    const { reply, ms } = await timed(dns, 'www.attack.nxns.test');
    assertRcode(reply, 'SERVFAIL', 'www.attack.nxns.test');
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
    const victim = asked(h, 'victim');
    assert.ok(victim.length >= 1, 'the NS names were looked up');
    assert.ok(
      victim.length <= MAX_NS_LOOKUPS_PER_REFERRAL,
      `victim received ${victim.length} queries: ${victim.map((q) => q.name).join(' ')}`,
    );
    const names = new Set(victim.map((q) => q.name.toLowerCase()));
    assert.ok(names.size <= MAX_NS_LOOKUPS_PER_REFERRAL);
    // The TLD saw no more of them than the victim did.
    const viaTld = asked(h, 'example-tld').filter((q) => /victim\.example$/i.test(q.name));
    assert.ok(viaTld.length <= MAX_NS_LOOKUPS_PER_REFERRAL, `example TLD received ${viaTld.length}`);
    // And it is over: no more queries trickle in afterwards.
    const settled = victim.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(asked(h, 'victim').length, settled);
  });

  test('merging: 20 identical questions make one query; 10 names needing one glueless NS make one lookup', async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, () => ask(dns, 'www.slow.test')));
    for (const r of replies) assert.deepEqual(dataOf(r), ['192.0.2.40']);
    assert.equal(asked(h, 'slow', 'www.slow.test').length, 1, whoWasAsked(h, 'www.slow.test').join('\n'));

    const names = Array.from({ length: 10 }, (_, i) => `m${i}.glueless.test`);
    const nx = await Promise.all(names.map((n) => ask(dns, n)));
    for (const [i, r] of nx.entries()) assertRcode(r, 'NXDOMAIN', names[i]!);
    assert.equal(
      asked(h, 'provider', 'ns.provider.example', 'A').length,
      1,
      whoWasAsked(h, 'ns.provider.example').join('\n'),
    );
    assert.equal(asked(h, 'example-tld', 'ns.provider.example', 'A').length, 1);
    for (const n of names) assert.equal(asked(h, 'provider', n).length, 1, n);
  });
});
