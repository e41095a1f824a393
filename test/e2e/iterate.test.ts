// Iterative resolution end to end: a real dnscache process (no FORWARDONLY)
// walks the lab DNS tree (test/lab/hierarchy.ts) from its root servers.
// Answers, the queries it sends, referrals and cached delegations, glueless
// NS names, lame servers, truncation, IPv6 servers, negative caching and
// the log lines that tell the story. The tests run one after another; each
// that needs a pristine cache starts its own dnscache against the tree.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { records } from '../lab/client';
import { HIERARCHY_ANSWERS, Hierarchy } from '../lab/hierarchy';
import { LabRecord, LabZone, a, ns, ptr, soa, zone } from '../lab/zone';
import { Dnscache } from './harness';
import { header, suiteScope } from './fixtures';
import {
  answersOf,
  ask,
  asked,
  assertRcode,
  dataOf,
  esc,
  hexIp,
  queriesSince,
  queryCounts,
  startIterative,
  startTree,
  statsPerQuestion,
  tail,
  whoWasAsked,
} from './iterate-fixtures';

const scope = suiteScope();
let h: Hierarchy;
/** Shared by the tests that use names no other test asks. */
let dns: Dnscache;

/** An RFC 3597 type no library knows (private use range). */
const OPAQUE_TYPE = 65280;
const OPAQUE_DATA = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]);

/**
 * Adds what the stock tree lacks: a PTR and an unknown-type record in
 * example.test, and two zones (served by example2, delegated from `test`)
 * whose SOAs give other negative TTLs: capped.test (TTL = MINIMUM = 7200,
 * above the 3600 cap) and short.test (MINIMUM 45).
 */
function extendTree(tree: Hierarchy): void {
  const exampleTest = (role: string): LabZone => tree.server(role).zones.find((z) => z.origin === 'example.test')!;
  const extra: LabRecord[] = [
    ptr('ptr.example.test', 'www.example.test'),
    { name: 'opaque.example.test', type: `UNKNOWN_${OPAQUE_TYPE}`, data: OPAQUE_DATA },
  ];
  for (const role of ['example1', 'example2']) {
    const z = exampleTest(role);
    for (const r of extra) if (!z.records.includes(r)) z.records.push(r);
  }
  const capped = zone(
    'capped.test',
    soa('capped.test', 7200, 7200),
    ns('capped.test', 'ns2.example.test'),
    a('www.capped.test', '192.0.2.110'),
  );
  const short = zone(
    'short.test',
    soa('short.test', 600, 45),
    ns('short.test', 'ns2.example.test'),
    a('www.short.test', '192.0.2.111'),
  );
  tree.server('example2').zones.push(capped, short);
  for (const role of ['tld1', 'tld2']) {
    const test = tree.server(role).zones.find((z) => z.origin === 'test')!;
    for (const r of [ns('capped.test', 'ns2.example.test'), ns('short.test', 'ns2.example.test')]) {
      if (!test.records.some((x) => x.name === r.name && x.type === 'NS')) test.records.push(r);
    }
  }
}

before(async () => {
  h = await startTree(scope);
  extendTree(h);
  dns = await startIterative(h, scope);
});

const hex = (role: string): string => hexIp(h.addr(role));
const HEX = '[0-9a-f]{8}';

describe('iterative resolution', () => {
  test('every name of HIERARCHY_ANSWERS gets its expected answer', async (t) => {
    const entries = Object.entries(HIERARCHY_ANSWERS).filter(([key]) => {
      if (h.ipv6 || !/v6/.test(key)) return true;
      t.diagnostic(`skipping ${key}: ${h.ipv6Skipped}`);
      return false;
    });
    // All at once, as clients would: the answers must not depend on the order.
    const replies = await Promise.all(
      entries.map(async ([key]) => {
        const [name, type = 'A'] = key.split('/') as [string, string?];
        return [key, type, await ask(dns, name, type)] as const;
      }),
    );
    for (const [key, type, reply] of replies) {
      const want = HIERARCHY_ANSWERS[key]!;
      if (want === null) assertRcode(reply, 'SERVFAIL', key);
      else if (want === 'NXDOMAIN') {
        assertRcode(reply, 'NXDOMAIN', key);
        assert.deepEqual(answersOf(reply), [], key);
      } else {
        assertRcode(reply, 'NOERROR', key);
        assert.deepEqual(dataOf(reply, type), [...want].sort(), key);
      }
    }
    assert.equal(h.server('evil').queries.length, 0, "nobody asks the poisoner's fake server");
  });

  test('upstream queries carry RD=0 and EDNS0 with a 1232-byte payload, over UDP and TCP', async () => {
    await ask(dns, 'www.trunc.test'); // makes sure some went over TCP
    const all = [...h.servers].flatMap(([role, s]) => s.queries.map((q) => ({ role, ...q })));
    assert.ok(all.length > 20, `${all.length} upstream queries`);
    assert.ok(all.some((q) => q.transport === 'tcp'));
    const bad = all
      .filter((q) => q.rd || q.edns !== 1232)
      .map((q) => `${q.role} ${q.transport} ${q.name}/${q.type} rd=${q.rd} edns=${q.edns}`);
    assert.deepEqual(bad, []);
  });

  test('MX, TXT, SRV, CAA, ANY, PTR and an unknown type', async () => {
    const mx = await ask(dns, 'example.test', 'MX');
    assert.deepEqual(
      records(mx.packet.answers, 'MX').map((r) => [r.data.preference, r.data.exchange]),
      [[10, 'mail.example.test']],
    );
    const txt = await ask(dns, 'example.test', 'TXT');
    assert.deepEqual(
      records(txt.packet.answers, 'TXT').map((r) => (r.data as Buffer[]).map(String)),
      [['v=spf1 -all']],
    );
    const srv = await ask(dns, '_sip._udp.example.test', 'SRV');
    assert.deepEqual(
      records(srv.packet.answers, 'SRV').map((r) => r.data),
      [{ priority: 10, weight: 5, port: 5060, target: 'sip.example.test' }],
    );
    const caa = await ask(dns, 'example.test', 'CAA');
    assert.deepEqual(
      records(caa.packet.answers, 'CAA').map((r) => [r.data.tag, r.data.value]),
      [['issue', 'ca.example.test']],
    );
    const p = await ask(dns, 'ptr.example.test', 'PTR');
    assert.deepEqual(
      records(p.packet.answers, 'PTR').map((r) => r.data),
      ['www.example.test'],
    );

    const opaque = await ask(dns, 'opaque.example.test', `TYPE${OPAQUE_TYPE}`);
    assertRcode(opaque, 'NOERROR', 'unknown type');
    const got = records(opaque.packet.answers, `UNKNOWN_${OPAQUE_TYPE}`);
    assert.equal(got.length, 1, JSON.stringify(answersOf(opaque)));
    assert.deepEqual(Buffer.from(got[0]!.data as Buffer), OPAQUE_DATA);
    assert.ok(
      dns.logs.some((l) =>
        new RegExp(`^rr ${HEX} 300 ${OPAQUE_TYPE} opaque\\.example\\.test\\. deadbeef0001$`).test(l),
      ),
      tail(dns),
    );

    const any = await ask(dns, 'example.test', 'ANY');
    assertRcode(any, 'NOERROR', 'ANY');
    const types = new Set(answersOf(any).map((r) => r.type));
    for (const t of ['A', 'AAAA', 'NS', 'MX', 'TXT', 'CAA'])
      assert.ok(types.has(t), `ANY lacks ${t}: ${[...types].join(' ')}`);
    assert.ok(answersOf(any).every((r) => r.name === 'example.test'));
  });

  test('referrals are cached: mail.example.test after www.example.test goes straight to the example.test servers', async () => {
    const fresh = await startIterative(h, scope);
    assert.deepEqual(dataOf(await ask(fresh, 'www.example.test')), ['192.0.2.80']);
    const mark = queryCounts(h);
    const from = fresh.logs.length;
    assert.deepEqual(dataOf(await ask(fresh, 'mail.example.test')), ['192.0.2.25']);
    const since = queriesSince(h, mark);
    assert.equal(since.length, 1, since.join('\n'));
    assert.match(since[0]!, /^example[12] udp mail\.example\.test\/A$/);
    const after = fresh.logs.slice(from);
    assert.ok(after.includes('cached ns example.test. ns1.example.test.'), after.join('\n'));
    assert.ok(
      after.some((l) => l.startsWith('tx 0 1 mail.example.test. example.test. - ')),
      after.join('\n'),
    );
    assert.ok(!after.some((l) => /^tx \d+ \d+ \S+ (\.|test\.) - /.test(l)), 'no query above example.test');
  });

  test('glue is taken only in bailiwick: the glueless NS name is resolved by a sub-query', async () => {
    // A fresh cache, and the lab's queries counted from here: the first test
    // asked every name at once, and on a busy machine some of those were asked twice.
    const fresh = await startIterative(h, scope);
    const mark = queryCounts(h);
    assert.deepEqual(dataOf(await ask(fresh, 'www.glueless.test')), ['192.0.2.10']);
    const since = queriesSince(h, mark);
    const count = (line: string): number => since.filter((l) => l === line).length;
    // The test TLD refers glueless.test to ns.provider.example without an address;
    // dnscache looks it up from the root down, as a level-1 query.
    assert.equal(count('provider udp ns.provider.example/A'), 1, since.join('\n'));
    assert.ok(count('example-tld udp ns.provider.example/A') >= 1, since.join('\n'));
    assert.ok(
      fresh.logs.some((l) => l.startsWith('tx 1 1 ns.provider.example. ')),
      tail(fresh),
    );
    // Its address was learnt from provider.example's own server, not from anyone's glue.
    const rrs = fresh.logs.filter((l) => /^rr \S+ \d+ 1 ns\.provider\.example\. /.test(l));
    assert.deepEqual(rrs, [`rr ${hex('provider')} 300 1 ns.provider.example. ${hex('provider')}`]);
    assert.equal(count('provider udp www.glueless.test/A'), 1, since.join('\n'));
  });

  test('`stats` is printed where djbdns prints it: after answers, NODATA and referrals, not after CNAMEs or NXDOMAIN', async () => {
    const fresh = await startIterative(h, scope);
    const asks: Array<[string, string]> = [
      ['www.example.test', 'A'],
      ['alias.example.test', 'A'],
      ['nx.example.test', 'A'],
      ['www.example.test', 'TXT'],
      ['1.0.0.127.in-addr.arpa', 'PTR'],
      ['localhost', 'A'],
    ];
    for (const [name, type] of asks) await ask(fresh, name, type);
    assert.deepEqual(statsPerQuestion(fresh.logs), [
      'www.example.test./1: stats stats stats', // referrals from a root and from test., then the answer
      'alias.example.test./1:', // a CNAME; its target was in the cache
      'nx.example.test./1: nxdomain',
      'www.example.test./16: nodata stats',
      '1.0.0.127.in-addr.arpa./12: stats', // answered by dnscache itself, with a stats line as query.c does
      'localhost./1:', // answered by dnscache itself, without one
    ]);
  });

  test('lame servers: REFUSED is passed over; an upward referral is logged as lame', async () => {
    assert.deepEqual(dataOf(await ask(dns, 'www.lame.test')), ['192.0.2.20']);
    const nx = await ask(dns, 'nosuch-lame.lame.test');
    assertRcode(nx, 'NXDOMAIN', 'nosuch-lame.lame.test');
    // lame1 REFUSES everything; every answer came from lame2.
    assert.ok(asked(h, 'lame1').length >= 1, 'lame1 (first NS) was tried');
    assert.ok(asked(h, 'lame2', 'www.lame.test').length >= 1);
    assert.ok(asked(h, 'lame2', 'nosuch-lame.lame.test').length >= 1);
    assert.ok(!dns.logs.some((l) => l.startsWith(`lame ${hex('lame1')} `)), 'REFUSED is not a lame referral');

    assert.deepEqual(dataOf(await ask(dns, 'www.uplame.test')), ['192.0.2.21']);
    assert.ok(dns.logs.includes(`lame ${hex('uplame1')} uplame.test. .`), tail(dns));
    assert.ok(asked(h, 'uplame2', 'www.uplame.test').length >= 1);
    // The upward referral (to the root) was not followed: the root saw www.uplame.test
    // at most once, on the way down before test. was cached.
    const atRoot = asked(h, 'root1', 'www.uplame.test').length + asked(h, 'root2', 'www.uplame.test').length;
    assert.ok(atRoot <= 1, whoWasAsked(h, 'www.uplame.test').join('\n'));
  });

  test('truncation: TC from upstream → TCP; big answers TC=1 to UDP clients, complete over TCP', async () => {
    assert.deepEqual(dataOf(await ask(dns, 'www.trunc.test')), ['192.0.2.51', '192.0.2.52', '192.0.2.53']);
    const transports = asked(h, 'trunc', 'www.trunc.test').map((q) => q.transport);
    assert.ok(transports.includes('udp') && transports.includes('tcp'), transports.join(' '));

    // 30 TXT records of ~100 bytes: too big for 1232 bytes.
    const udp = await ask(dns, 'big.trunc.test', 'TXT', { edns: 1232 });
    assert.equal(header(udp.raw).tc, true, 'TC over UDP');
    assertRcode(udp, 'NOERROR', 'big.trunc.test over UDP');
    assert.ok(udp.raw.length <= 1232);
    const tcp = await ask(dns, 'big.trunc.test', 'TXT', { transport: 'tcp' });
    assert.equal(header(tcp.raw).tc, false);
    const txts = records(tcp.packet.answers, 'TXT').map((r) => (r.data as Buffer[]).map(String).join(''));
    assert.equal(txts.length, 30);
    assert.ok(txts.every((s) => /^\d+-x{100}$/.test(s)));
    assert.ok(asked(h, 'trunc', 'big.trunc.test', 'TXT').some((q) => q.transport === 'tcp'));

    // 60 A records: 60 × 16 bytes fit in 1232 (dnscache compresses), not in 512.
    const edns = await ask(dns, 'big.example.test', 'A', { edns: 1232 });
    assert.equal(header(edns.raw).tc, false);
    assert.equal(dataOf(edns).length, 60);
    const plain = await ask(dns, 'big.example.test', 'A');
    const hd = header(plain.raw);
    assert.equal(hd.tc, true);
    assert.ok(plain.raw.length <= 512, `${plain.raw.length} bytes`);
    assert.deepEqual(
      [hd.qdcount, hd.ancount, hd.nscount, hd.arcount],
      [
        plain.packet.questions!.length,
        plain.packet.answers!.length,
        plain.packet.authorities!.length,
        plain.packet.additionals!.length,
      ],
      'header counts match the records present',
    );
  });

  test('IPv6-only name servers: glue AAAA and a glueless AAAA lookup', async (t) => {
    if (!h.ipv6) {
      t.skip(`no IPv6 server: ${h.ipv6Skipped}`);
      return;
    }
    assert.deepEqual(dataOf(await ask(dns, 'www.v6only.test')), ['192.0.2.60']);
    assert.deepEqual(dataOf(await ask(dns, 'www.v6glueless.test')), ['192.0.2.61']);
    const v6 = h.server('v6').queries;
    assert.ok(v6.some((q) => q.name === 'www.v6only.test'));
    assert.ok(v6.some((q) => q.name === 'www.v6glueless.test'));
    assert.ok(v6.every((q) => q.from.address === '::1'));
    // ns.v6host.example has no A: dnscache asked for its AAAA.
    assert.ok(asked(h, 'provider', 'ns.v6host.example', 'AAAA').length >= 1);
  });

  test('NXDOMAIN and NODATA: SOA in authority, negative TTL = min(SOA TTL, MINIMUM, 3600), cached', async () => {
    const cases: Array<[string, string, string, number, string]> = [
      // name, type, rcode, negative TTL, SOA owner
      ['gone.example.test', 'A', 'NXDOMAIN', 300, 'example.test'],
      ['mail.example.test', 'AAAA', 'NOERROR', 300, 'example.test'],
      ['gone.test', 'A', 'NXDOMAIN', 3600, 'test'],
      ['gone.capped.test', 'A', 'NXDOMAIN', 3600, 'capped.test'],
      ['capped.test', 'MX', 'NOERROR', 3600, 'capped.test'],
      ['gone.short.test', 'A', 'NXDOMAIN', 45, 'short.test'],
    ];
    for (const [name, type, rcode, ttl, soaOwner] of cases) {
      const what = `${name}/${type}`;
      for (const round of ['fresh', 'cached']) {
        const mark = queryCounts(h);
        const reply = await ask(dns, name, type);
        assertRcode(reply, rcode, `${what} (${round})`);
        assert.deepEqual(answersOf(reply), [], what);
        const auth = records(reply.packet.authorities);
        assert.deepEqual(
          auth.map((r) => [r.name, r.type]),
          [[soaOwner, 'SOA']],
          what,
        );
        assert.ok(
          auth[0]!.ttl! <= ttl && auth[0]!.ttl! >= ttl - 2,
          `${what} (${round}): SOA TTL ${auth[0]!.ttl}, expected ${ttl}`,
        );
        const since = queriesSince(h, mark);
        if (round === 'cached') assert.deepEqual(since, [], `${what}: the repeat is answered from the cache`);
        else assert.ok(since.length >= 1);
      }
    }
    assert.ok(
      dns.logs.includes(`nxdomain ${hex('example1')} 300 gone.example.test.`) ||
        dns.logs.includes(`nxdomain ${hex('example2')} 300 gone.example.test.`),
      tail(dns),
    );
    assert.ok(
      dns.logs.some((l) => new RegExp(`^nodata ${HEX} 300 28 mail\\.example\\.test\\.$`).test(l)),
      tail(dns),
    );
    assert.ok(dns.logs.includes(`nxdomain ${hex('example2')} 3600 gone.capped.test.`), tail(dns));
    assert.ok(dns.logs.includes(`nodata ${hex('example2')} 3600 15 capped.test.`), tail(dns));
    assert.ok(dns.logs.includes(`nxdomain ${hex('example2')} 45 gone.short.test.`), tail(dns));
  });

  test('log lines: tx, rr from referrals, cached ns, nxdomain, nodata, lame, servfail, stats', async () => {
    const d = await startIterative(h, scope);
    const root = `(${hex('root1')}|${hex('root2')})`;
    const tld = `(${hex('tld1')}|${hex('tld2')})`;
    const ex = `(${hex('example1')}|${hex('example2')})`;
    const expectLine = async (re: RegExp, from: number): Promise<void> => {
      await d.waitForLog(re, 2000, from);
    };

    let from = d.logs.length;
    await ask(d, 'www.example.test');
    await expectLine(new RegExp(`^tx 0 1 www\\.example\\.test\\. \\. - ${hex('root1')} ${hex('root2')}$`), from);
    await expectLine(new RegExp(`^rr ${root} 300 ns test\\. ns1\\.nic\\.test\\.$`), from);
    await expectLine(new RegExp(`^rr ${root} 300 1 ns2\\.nic\\.test\\. ${hex('tld2')}$`), from);
    await expectLine(new RegExp(`^tx 0 1 www\\.example\\.test\\. test\\. - ${hex('tld1')} ${hex('tld2')}$`), from);
    await expectLine(new RegExp(`^rr ${tld} 300 ns example\\.test\\. ns2\\.example\\.test\\.$`), from);
    await expectLine(new RegExp(`^rr ${tld} 300 1 ns1\\.example\\.test\\. ${hex('example1')}$`), from);
    await expectLine(
      new RegExp(
        `^tx 0 1 www\\.example\\.test\\. example\\.test\\. - (${hex('example1')} ${hex('example2')}|${hex('example2')} ${hex('example1')})$`,
      ),
      from,
    );
    await expectLine(new RegExp(`^rr ${ex} 300 1 www\\.example\\.test\\. c0000250$`), from);
    await expectLine(/^stats \d+ \d+ \d+ \d+ \d+$/, from);

    from = d.logs.length;
    await ask(d, 'gone.test');
    await expectLine(/^cached ns test\. ns1\.nic\.test\.$/, from);
    await expectLine(/^cached ns test\. ns2\.nic\.test\.$/, from);
    await expectLine(new RegExp(`^tx 0 1 gone\\.test\\. test\\. - `), from);
    await expectLine(new RegExp(`^nxdomain ${tld} 3600 gone\\.test\\.$`), from);
    assert.ok(!d.logs.slice(from).some((l) => l.startsWith('tx 0 1 gone.test. . ')), 'the root is not asked again');

    from = d.logs.length;
    await ask(d, 'www.example.test', 'MX');
    await expectLine(new RegExp(`^nodata ${ex} 300 15 www\\.example\\.test\\.$`), from);

    from = d.logs.length;
    await ask(d, 'www.uplame.test');
    await expectLine(new RegExp(`^lame ${hex('uplame1')} uplame\\.test\\. \\.$`), from);

    from = d.logs.length;
    await ask(d, 'www.glueless.test');
    await expectLine(/^tx 1 1 ns\.provider\.example\. example\. - /, from);
    await expectLine(new RegExp(`^tx 0 1 www\\.glueless\\.test\\. glueless\\.test\\. - ${hex('provider')}$`), from);

    from = d.logs.length;
    const sf = await ask(d, 'www.toodeep.test');
    assertRcode(sf, 'SERVFAIL', 'www.toodeep.test');
    await expectLine(/^servfail www\.toodeep\.test\. \S/, from);

    // Every stats line has five numbers; every tx line names level, type, name, zone, servers.
    assert.ok(d.logs.filter((l) => l.startsWith('stats')).every((l) => /^stats \d+ \d+ \d+ \d+ \d+$/.test(l)));
    const txs = d.logs.filter((l) => l.startsWith('tx '));
    assert.ok(txs.length >= 8);
    for (const l of txs) assert.match(l, /^tx \d+ \d+ \S+\. (\S+\.|\.) - [0-9a-f]{8}( [0-9a-f]{8})*$/);
    assert.ok(!d.logs.some((l) => new RegExp(esc('6.6.6.6')).test(l)));
  });
});
