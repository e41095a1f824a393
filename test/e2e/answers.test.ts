// What dnscache answers, over real UDP, when it forwards to the lab.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PlainRecord, query, records } from '../lab/client';
import { LabServer } from '../lab/server';
import { DEFAULT_TTL } from '../lab/zone';
import { Dnscache } from './harness';
import {
  clientQueries,
  freshName,
  header,
  queriesFor,
  RCODE,
  startSetup,
  suiteScope,
  waitFor,
  WILDCARD_ADDRESS,
  zoneRecords,
} from './fixtures';

const scope = suiteScope();
let lab: LabServer;
let dns: Dnscache;

before(async () => {
  ({ lab, dns } = await startSetup(scope));
});

/** Record data in one comparable shape, whether decoded by dns-packet or written in the lab zone. */
function comparable(type: string, data: any): unknown {
  switch (type) {
    case 'TXT':
      return (data as Array<Buffer | string>).map((s) => s.toString());
    case 'CAA':
      return { flags: data.flags, tag: data.tag, value: data.value };
    default:
      return data;
  }
}

/** Runs `fn` and asserts the lab saw no query meanwhile. */
async function withoutUpstream<T>(fn: () => Promise<T>): Promise<T> {
  const seen = clientQueries(lab).length;
  const result = await fn();
  assert.deepEqual(clientQueries(lab).slice(seen), [], 'no upstream query expected');
  return result;
}

/** Alternates the letter case: www.x → WwW.X */
function mixedCase(name: string, upperFirst = true): string {
  return [...name].map((c, i) => ((i % 2 === 0) === upperFirst ? c.toUpperCase() : c.toLowerCase())).join('');
}

describe('forwarded answers', () => {
  const cases: Array<[string, string]> = [
    ['www.example.test', 'A'],
    ['www.example.test', 'AAAA'],
    ['example.test', 'MX'],
    ['example.test', 'TXT'],
    ['_sip._udp.example.test', 'SRV'],
    ['example.test', 'CAA'],
  ];
  for (const [name, type] of cases) {
    test(`${type} ${name} carries the lab's data`, async () => {
      const { packet } = await query(dns, name, type);
      assert.equal(packet.rcode, 'NOERROR');
      const got = records(packet.answers);
      const want = zoneRecords(name, type);
      assert.ok(want.length > 0, 'the lab zone holds the records');
      assert.deepEqual(
        got.map((r) => [r.name.toLowerCase(), r.type, comparable(type, r.data)]),
        want.map((r) => [r.name, type, comparable(type, r.data)]),
      );
      for (const r of got) assert.ok(r.ttl! <= DEFAULT_TTL && r.ttl! >= DEFAULT_TTL - 5, `TTL ${r.ttl}`);
    });
  }

  test('header: QR, RA and RD set, AA clear, opcode QUERY, ID echoed', async () => {
    const { packet, raw } = await query(dns, 'www.example.test', 'A', { id: 0xbeef });
    const h = header(raw);
    assert.deepEqual(
      {
        id: h.id,
        qr: h.qr,
        ra: h.ra,
        rd: h.rd,
        aa: h.aa,
        tc: h.tc,
        opcode: h.opcode,
        rcode: h.rcode,
        qdcount: h.qdcount,
      },
      { id: 0xbeef, qr: true, ra: true, rd: true, aa: false, tc: false, opcode: 0, rcode: RCODE.NOERROR, qdcount: 1 },
    );
    assert.equal(packet.questions![0]!.type, 'A');
  });

  test("the question is echoed in the client's letter case, fresh and from the cache", async () => {
    const { packet } = await query(dns, 'WwW.ExAmPlE.TeSt', 'A');
    assert.equal(packet.questions![0]!.name, 'WwW.ExAmPlE.TeSt');
    assert.deepEqual(
      records(packet.answers, 'A').map((r) => r.data),
      ['192.0.2.80'],
    );

    const name = freshName('case');
    for (const asked of [mixedCase(name, true), mixedCase(name, false), name.toUpperCase()]) {
      const r = await query(dns, asked, 'A');
      assert.equal(r.packet.questions![0]!.name, asked);
      assert.deepEqual(
        records(r.packet.answers, 'A').map((x) => x.data),
        [WILDCARD_ADDRESS],
      );
    }
    assert.equal(queriesFor(lab, name).length, 1, 'one upstream query whatever the case');
  });

  test('a CNAME chain comes first in the answer, then the final records', async () => {
    const { packet } = await query(dns, 'chain.example.test', 'A');
    assert.equal(packet.rcode, 'NOERROR');
    const chain = records(packet.answers).map((r: PlainRecord) => [r.name.toLowerCase(), r.type, r.data]);
    assert.deepEqual(chain, [
      ['chain.example.test', 'CNAME', 'alias.example.test'],
      ['alias.example.test', 'CNAME', 'www.example.test'],
      ['www.example.test', 'A', '192.0.2.80'],
    ]);
    // Each link was cached on its own: a name inside the chain is answered without asking again.
    const { packet: inner } = await withoutUpstream(() => query(dns, 'alias.example.test', 'A'));
    assert.deepEqual(
      records(inner.answers).map((r) => [r.name.toLowerCase(), r.type, r.data]),
      chain.slice(1),
    );
  });
});

describe('negative answers', () => {
  for (const round of ['fresh', 'cached']) {
    test(`NXDOMAIN (${round}): AA set, SOA of the zone in authority`, async () => {
      const { packet, raw } = await query(dns, 'nosuch.example.test', 'A');
      const h = header(raw);
      assert.equal(h.rcode, RCODE.NXDOMAIN);
      assert.equal(h.aa, true);
      assert.equal(h.ancount, 0);
      const soa = records(packet.authorities);
      assert.deepEqual(
        soa.map((r) => [r.name, r.type]),
        [['example.test', 'SOA']],
      );
      assert.equal(soa[0]!.data.mname, 'ns1.example.test');
      assert.ok(soa[0]!.ttl! <= 300 && soa[0]!.ttl! > 290, `negative TTL ${soa[0]!.ttl}`);
    });
  }

  test('a name known not to exist is NXDOMAIN for every type, without asking again', async () => {
    await query(dns, 'gone.example.test', 'A');
    const { packet, raw } = await withoutUpstream(() => query(dns, 'gone.example.test', 'TXT'));
    assert.deepEqual([header(raw).rcode, header(raw).aa], [RCODE.NXDOMAIN, true]);
    assert.deepEqual(
      records(packet.authorities).map((r) => [r.name, r.type]),
      [['example.test', 'SOA']],
    );
  });

  test('NODATA: NOERROR, no answer, SOA in authority, AA clear', async () => {
    const { packet, raw } = await query(dns, 'www.example.test', 'MX');
    const h = header(raw);
    assert.deepEqual([h.rcode, h.aa, h.ancount], [RCODE.NOERROR, false, 0]);
    assert.deepEqual(
      records(packet.authorities).map((r) => [r.name, r.type]),
      [['example.test', 'SOA']],
    );
  });
});

describe('cache', () => {
  test('a repeat query is answered from the cache with its TTL counting down', async () => {
    const name = freshName('ttl');
    const first = await query(dns, name, 'A');
    const ttl0 = records(first.packet.answers)[0]!.ttl!;
    assert.ok(ttl0 >= DEFAULT_TTL - 1 && ttl0 <= DEFAULT_TTL, `first TTL ${ttl0}`);
    assert.equal(queriesFor(lab, name).length, 1);
    // The cache counts whole seconds: poll until a second has gone by.
    const ttl1 = await waitFor(
      'a lower TTL',
      async () => {
        const again = await withoutUpstream(() => query(dns, name, 'A'));
        assert.deepEqual(
          records(again.packet.answers).map((r) => r.data),
          [WILDCARD_ADDRESS],
        );
        const ttl = records(again.packet.answers)[0]!.ttl!;
        return ttl < ttl0 ? ttl : undefined;
      },
      2500,
      200,
    );
    assert.ok(ttl1 >= ttl0 - 3, `TTL ${ttl0} → ${ttl1}`);
    assert.equal(queriesFor(lab, name).length, 1, 'repeats never reach upstream');
  });
});

describe('CD bit (RFC 6840 §5.9)', () => {
  const cd = (raw: Buffer): boolean => (raw[3]! & 0x10) !== 0;

  test('a CD=1 query gets CD=1, fresh and from the reply cache; a CD=0 query gets CD=0 from the same entry', async () => {
    const name = freshName('cd');
    const fresh = await query(dns, name, 'A', { cd: true });
    assert.equal(cd(fresh.raw), true, 'fresh answer');
    assert.deepEqual(
      records(fresh.packet.answers, 'A').map((r) => r.data),
      [WILDCARD_ADDRESS],
    );
    // The entry now holds a reply first built with CD=1: each hit must carry its own asker's bit.
    for (const [bit, transport] of [
      [true, 'udp'],
      [false, 'udp'],
      [true, 'tcp'],
      [false, 'tcp'],
    ] as const) {
      const from = dns.logs.length;
      const hit = await withoutUpstream(() => query(dns, name, 'A', { cd: bit, transport }));
      await dns.waitForLog(new RegExp(`^cached 1 ${name.replace(/\./g, '\\.')}\\.$`), 3000, from);
      assert.equal(cd(hit.raw), bit, `cache hit over ${transport} with CD=${Number(bit)}`);
      assert.deepEqual(
        records(hit.packet.answers, 'A').map((r) => r.data),
        [WILDCARD_ADDRESS],
      );
    }
    assert.equal(queriesFor(lab, name).length, 1);
  });

  test('error replies and internal answers copy CD too', async () => {
    const refused = await query(dns, 'www.example.test', 'A', { rd: false, cd: true });
    assert.deepEqual([header(refused.raw).rcode, cd(refused.raw)], [RCODE.REFUSED, true]);
    const plainRefused = await query(dns, 'www.example.test', 'A', { rd: false });
    assert.deepEqual([header(plainRefused.raw).rcode, cd(plainRefused.raw)], [RCODE.REFUSED, false]);
    const local = await withoutUpstream(() => query(dns, 'localhost', 'A', { cd: true }));
    assert.equal(cd(local.raw), true);
  });
});

describe('internal answers (no upstream traffic)', () => {
  const cases: Array<[string, string, string, unknown]> = [
    ['localhost', 'A', 'A', '127.0.0.1'],
    ['localhost', 'AAAA', 'AAAA', '::1'],
    ['1.0.0.127.in-addr.arpa', 'PTR', 'PTR', 'localhost'],
    ['10.1.2.3', 'A', 'A', '10.1.2.3'],
  ];
  for (const [name, type, rtype, data] of cases) {
    test(`${type} ${name} → ${String(data)}`, async () => {
      const { packet } = await withoutUpstream(() => query(dns, name, type));
      assert.equal(packet.rcode, 'NOERROR');
      assert.deepEqual(
        records(packet.answers).map((r) => [r.name, r.type, r.data]),
        [[name, rtype, data]],
      );
    });
  }

  test('.onion names are NXDOMAIN without asking anyone', async () => {
    const { raw } = await withoutUpstream(() => query(dns, 'expyuzz4wqqyqhjn.onion', 'A'));
    const h = header(raw);
    assert.equal(h.rcode, RCODE.NXDOMAIN);
    assert.equal(h.ancount, 0);
  });
});
