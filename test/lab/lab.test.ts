// Tests of the lab itself: if these fail, every end-to-end test is suspect.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { freeLoopback, isLoopback } from './addresses';
import { decodeReply, encodeQuery, query, records, sendRaw, tcpSession } from './client';
import { BAD_REPLY_OPCODE, LAME_REFERRAL_TARGET, LabServer } from './server';
import { LabZone, a, aaaa, cname, mx, ns, soa, txt, zone } from './zone';

// 100-byte strings make sizes easy to reason about: 6 records ≈ 700 bytes
// (over 512, under 1232), 20 records ≈ 2.3 kB (over 1232).
const chunk = 'x'.repeat(100);
const many = (name: string, n: number) => Array.from({ length: n }, (_, i) => txt(name, `${i}-${chunk}`));

const exampleZone: LabZone = zone(
  'example.com',
  soa('example.com', 3600, 60),
  ns('example.com', 'ns1.example.com'),
  a('ns1.example.com', '192.0.2.53'),
  a('www.example.com', '192.0.2.10'),
  aaaa('www.example.com', '2001:db8::10'),
  mx('example.com', 10, 'mail.example.com'),
  cname('alias.example.com', 'hop.example.com'),
  cname('hop.example.com', 'www.example.com'),
  cname('out.example.com', 'www.elsewhere.test'),
  cname('dangling.example.com', 'missing.example.com'),
  a('deep.empty.example.com', '192.0.2.20'),
  a('*.wild.example.com', '192.0.2.99'),
  a('real.wild.example.com', '192.0.2.98'),
  ns('sub.example.com', 'ns1.sub.example.com'),
  ns('sub.example.com', 'ns.elsewhere.test'),
  a('ns1.sub.example.com', '192.0.2.54'),
  many('medium.example.com', 6),
  many('big.example.com', 20),
);

let server: LabServer;

before(async () => {
  server = await LabServer.start({ address: await freeLoopback(), zones: [exampleZone] });
});
after(async () => {
  await server.stop();
});

describe('addresses', () => {
  test('freeLoopback returns distinct bindable 127/8 addresses in the documented range', async () => {
    const x = await freeLoopback();
    const y = await freeLoopback();
    for (const addr of [x, y]) {
      const [o1, o2, o3, o4] = addr.split('.').map(Number);
      assert.equal(o1, 127);
      assert.ok(o2! >= 64 && o2! <= 250 && o3! >= 1 && o3! <= 254 && o4! >= 1 && o4! <= 254, addr);
    }
    assert.notEqual(x, y);
    assert.ok(isLoopback('::1') && isLoopback('127.9.9.9') && !isLoopback('10.0.0.1') && !isLoopback('0.0.0.0'));
  });

  test('server refuses a non-loopback address and zones without SOA/NS', async () => {
    await assert.rejects(LabServer.start({ address: '0.0.0.0', zones: [exampleZone] }), /not a loopback/);
    assert.throws(() => zone('bad.test', a('bad.test', '192.0.2.1')), /no SOA/);
  });

  test('UDP and TCP share the port; an explicit port is honoured', async () => {
    const addr = await freeLoopback(server.port);
    const s = await LabServer.start({ address: addr, port: server.port, zones: [exampleZone] });
    try {
      assert.equal(s.port, server.port);
      const u = await query(s, 'www.example.com', 'A');
      const t = await query(s, 'www.example.com', 'A', { transport: 'tcp' });
      assert.deepEqual(
        records(u.packet.answers).map((r) => r.data),
        ['192.0.2.10'],
      );
      assert.deepEqual(t.packet.answers, u.packet.answers);
    } finally {
      await s.stop();
    }
  });
});

describe('authoritative answers', () => {
  test('answer: AA, ID, RD and the question echoed as asked', async () => {
    const { packet } = await query(server, 'WwW.ExAmple.COM', 'A', { id: 4242, rd: false });
    assert.equal(packet.id, 4242);
    assert.equal(packet.rcode, 'NOERROR');
    assert.ok(packet.flag_qr && packet.flag_aa && !packet.flag_rd && !packet.flag_ra && !packet.flag_tc);
    assert.deepEqual(packet.questions, [{ name: 'WwW.ExAmple.COM', type: 'A', class: 'IN' }]);
    assert.deepEqual(
      records(packet.answers).map((r) => [r.type, r.data, r.ttl]),
      [['A', '192.0.2.10', 300]],
    );
    const six = await query(server, 'www.example.com', 'AAAA');
    assert.deepEqual(
      records(six.packet.answers).map((r) => r.data),
      ['2001:db8::10'],
    );
    assert.equal(six.packet.flag_rd, true);
  });

  test('RA follows recursionAvailable', async () => {
    server.recursionAvailable = true;
    try {
      const { packet } = await query(server, 'www.example.com', 'A');
      assert.equal(packet.flag_ra, true);
    } finally {
      server.recursionAvailable = false;
    }
  });

  test('CNAME chain inside the zone is chased; out-of-zone target is not', async () => {
    const { packet } = await query(server, 'alias.example.com', 'A');
    assert.deepEqual(
      records(packet.answers).map((r) => [r.name, r.type, r.data]),
      [
        ['alias.example.com', 'CNAME', 'hop.example.com'],
        ['hop.example.com', 'CNAME', 'www.example.com'],
        ['www.example.com', 'A', '192.0.2.10'],
      ],
    );
    assert.ok(packet.flag_aa);
    const out = await query(server, 'out.example.com', 'A');
    assert.deepEqual(
      records(out.packet.answers).map((r) => [r.type, r.data]),
      [['CNAME', 'www.elsewhere.test']],
    );
    const direct = await query(server, 'alias.example.com', 'CNAME');
    assert.deepEqual(
      records(direct.packet.answers).map((r) => r.data),
      ['hop.example.com'],
    );
  });

  test('NXDOMAIN and NODATA carry the SOA with the negative TTL', async () => {
    const nx = await query(server, 'nope.example.com', 'A');
    assert.equal(nx.packet.rcode, 'NXDOMAIN');
    assert.ok(nx.packet.flag_aa);
    assert.equal(records(nx.packet.answers).length, 0);
    const [soaRr] = records(nx.packet.authorities, 'SOA');
    assert.equal(soaRr?.name, 'example.com');
    assert.equal(soaRr?.ttl, 60, 'min(SOA TTL 3600, MINIMUM 60)');

    for (const [name, type] of [
      ['www.example.com', 'MX'],
      ['empty.example.com', 'A'],
    ] as const) {
      const nodata = await query(server, name, type);
      assert.equal(nodata.packet.rcode, 'NOERROR', name);
      assert.equal(records(nodata.packet.answers).length, 0, name);
      assert.equal(records(nodata.packet.authorities, 'SOA').length, 1, name);
      assert.ok(nodata.packet.flag_aa, name);
    }

    const dangling = await query(server, 'dangling.example.com', 'A');
    assert.equal(dangling.packet.rcode, 'NXDOMAIN');
    assert.deepEqual(
      records(dangling.packet.answers).map((r) => r.type),
      ['CNAME'],
    );
  });

  test('referral below a delegation: NS in authority, in-zone glue only, AA clear', async () => {
    for (const name of ['sub.example.com', 'host.deep.sub.example.com']) {
      const { packet } = await query(server, name, 'A');
      assert.equal(packet.rcode, 'NOERROR');
      assert.equal(packet.flag_aa, false);
      assert.equal(records(packet.answers).length, 0);
      assert.deepEqual(
        records(packet.authorities)
          .map((r) => [r.name, r.type, r.data])
          .sort(),
        [
          ['sub.example.com', 'NS', 'ns.elsewhere.test'],
          ['sub.example.com', 'NS', 'ns1.sub.example.com'],
        ],
      );
      assert.deepEqual(
        records(packet.additionals).map((r) => [r.name, r.type, r.data]),
        [['ns1.sub.example.com', 'A', '192.0.2.54']],
      );
    }
  });

  test('wildcard synthesizes for missing names only', async () => {
    const w = await query(server, 'Anything.Wild.example.com', 'A');
    assert.deepEqual(
      records(w.packet.answers).map((r) => [r.name, r.data]),
      [['Anything.Wild.example.com', '192.0.2.99']],
    );
    assert.ok(w.packet.flag_aa);
    const deeper = await query(server, 'a.b.wild.example.com', 'A');
    assert.deepEqual(
      records(deeper.packet.answers).map((r) => r.data),
      ['192.0.2.99'],
    );
    const real = await query(server, 'real.wild.example.com', 'A');
    assert.deepEqual(
      records(real.packet.answers).map((r) => r.data),
      ['192.0.2.98'],
    );
    const nodata = await query(server, 'x.wild.example.com', 'MX');
    assert.equal(nodata.packet.rcode, 'NOERROR');
    assert.equal(records(nodata.packet.answers).length, 0);
  });

  test('ANY returns everything at the name; unknown zone is REFUSED', async () => {
    const any = await query(server, 'www.example.com', 'ANY');
    assert.deepEqual(
      records(any.packet.answers)
        .map((r) => r.type)
        .sort(),
      ['A', 'AAAA'],
    );
    const refused = await query(server, 'www.example.org', 'A');
    assert.equal(refused.packet.rcode, 'REFUSED');
    assert.equal(refused.packet.flag_aa, false);
  });

  test('UDP size limits: 512 without EDNS, the advertised size with it, none over TCP', async () => {
    const plain = await query(server, 'medium.example.com', 'TXT');
    assert.ok(plain.packet.flag_tc);
    assert.equal(records(plain.packet.answers).length, 0);
    assert.equal(plain.packet.questions?.[0]?.name, 'medium.example.com');
    assert.equal(records(plain.packet.additionals, 'OPT').length, 0);

    const edns = await query(server, 'medium.example.com', 'TXT', { edns: 1232 });
    assert.equal(edns.packet.flag_tc, false);
    assert.equal(records(edns.packet.answers).length, 6);
    assert.ok(edns.raw.length > 512 && edns.raw.length <= 1232);
    const [opt] = (edns.packet.additionals ?? []).filter((r): r is dnsPacket.OptAnswer => r.type === 'OPT');
    assert.equal(opt?.udpPayloadSize, 1232);

    const big = await query(server, 'big.example.com', 'TXT', { edns: 1232 });
    assert.ok(big.packet.flag_tc);
    assert.equal(records(big.packet.answers).length, 0);
    assert.equal(records(big.packet.additionals, 'OPT').length, 1, 'the OPT stays in a truncated reply');
    assert.ok(big.raw.length <= 1232);

    const bigUdp = await query(server, 'big.example.com', 'TXT', { edns: 4096 });
    assert.equal(bigUdp.packet.flag_tc, false);
    assert.equal(records(bigUdp.packet.answers).length, 20);

    const tcp = await query(server, 'big.example.com', 'TXT', { transport: 'tcp' });
    assert.equal(tcp.packet.flag_tc, false);
    assert.equal(records(tcp.packet.answers).length, 20);
    assert.ok(tcp.raw.length > 2000);
  });

  test('FORMERR for an unparsable query with a readable header; short junk is ignored', async () => {
    const { bytes } = encodeQuery('www.example.com', 'A', { id: 777 });
    const broken = Buffer.from(bytes.subarray(0, bytes.length - 3));
    const reply = await sendRaw(server, broken, { timeoutMs: 1000 });
    assert.ok(reply);
    const p = decodeReply(reply);
    assert.equal(p.id, 777);
    assert.equal(p.rcode, 'FORMERR');
    assert.equal(await sendRaw(server, Buffer.from([1, 2, 3]), { timeoutMs: 150 }), null);
    assert.ok(!server.queries.some((q) => q.id === 777), 'an unparsable query is not logged');
  });
});

describe('queries log', () => {
  test('records transport, name, type, id, RD, EDNS size and source', async () => {
    const source = await freeLoopback();
    server.resetQueries();
    await query(server, 'Www.example.com', 'AAAA', { id: 11, edns: 1400, rd: false, source });
    await query(server, 'nope.example.com', 'MX', { id: 12, transport: 'tcp' });
    assert.equal(server.queries.length, 2);
    const [u, t] = server.queries;
    assert.deepEqual(
      { ...u, from: u!.from.address, at: 0 },
      { transport: 'udp', name: 'Www.example.com', type: 'AAAA', id: 11, rd: false, edns: 1400, from: source, at: 0 },
    );
    assert.ok(u!.from.port > 0);
    assert.deepEqual(
      { ...t, from: t!.from.address, at: 0 },
      {
        transport: 'tcp',
        name: 'nope.example.com',
        type: 'MX',
        id: 12,
        rd: true,
        edns: null,
        from: '127.0.0.1',
        at: 0,
      },
    );
    assert.ok(u!.at > 0 && t!.at >= u!.at, 'arrival times, in order');
    server.resetQueries();
    assert.equal(server.queries.length, 0);
  });
});

describe('TCP sessions', () => {
  test('several pipelined queries on one connection; closed resolves when the server stops', async () => {
    const s = await LabServer.start({ address: await freeLoopback(), zones: [exampleZone] });
    const session = await tcpSession(s);
    const ids = [
      session.send('www.example.com', 'A'),
      session.send('nope.example.com', 'A'),
      session.send('www.example.com', 'AAAA'),
    ];
    const replies = [await session.next(1000), await session.next(1000), await session.next(1000)];
    assert.deepEqual(
      replies.map((r) => r?.packet.id),
      ids,
    );
    assert.deepEqual(
      replies.map((r) => r?.packet.rcode),
      ['NOERROR', 'NXDOMAIN', 'NOERROR'],
    );
    const viaQuery = await session.query('alias.example.com', 'A');
    assert.equal(records(viaQuery.packet.answers).length, 3);
    assert.equal(new Set(s.queries.map((q) => q.from.port)).size, 1, 'all on one connection');

    // A query split across two writes is reassembled.
    const { bytes } = encodeQuery('www.example.com', 'A', { id: 99 });
    const framed = Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
    session.write(framed.subarray(0, 5));
    await new Promise((r) => setTimeout(r, 20));
    session.write(framed.subarray(5));
    assert.equal((await session.next(1000))?.packet.id, 99);

    assert.equal(session.isClosed, false);
    await s.stop();
    await session.closed;
    assert.equal(session.isClosed, true);
    assert.equal(await session.next(100), null);
  });

  test('sendRaw over TCP returns the framed reply without its prefix', async () => {
    const { bytes } = encodeQuery('www.example.com', 'A', { id: 321 });
    const framed = Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
    const reply = await sendRaw(server, framed, { transport: 'tcp', timeoutMs: 1000 });
    assert.ok(reply);
    assert.equal(decodeReply(reply).id, 321);
  });
});

describe('behaviours', () => {
  let s: LabServer;
  before(async () => {
    s = await LabServer.start({ address: await freeLoopback(), zones: [exampleZone], delayMs: 200 });
  });
  after(async () => {
    await s.stop();
  });

  test("'silent' logs but never replies, over UDP or TCP, and keeps TCP open", async () => {
    s.behaviour = 'silent';
    s.resetQueries();
    await assert.rejects(query(s, 'www.example.com', 'A', { timeoutMs: 150 }), /timeout/);
    const session = await tcpSession(s);
    await assert.rejects(session.query('www.example.com', 'A', { timeoutMs: 150 }), /timeout/);
    assert.equal(session.isClosed, false);
    await session.close();
    assert.deepEqual(
      s.queries.map((q) => q.transport),
      ['udp', 'tcp'],
    );
    s.behaviour = 'answer';
    const ok = await query(s, 'www.example.com', 'A', { timeoutMs: 1000 });
    assert.equal(ok.packet.rcode, 'NOERROR', 'behaviour switches on cue');
  });

  test("'truncate': TC over UDP, the full answer over TCP", async () => {
    s.behaviour = 'truncate';
    const udp = await query(s, 'www.example.com', 'A', { edns: 4096 });
    assert.ok(udp.packet.flag_tc);
    assert.equal(records(udp.packet.answers).length, 0);
    assert.equal(udp.packet.questions?.[0]?.name, 'www.example.com');
    const tcp = await query(s, 'www.example.com', 'A', { transport: 'tcp' });
    assert.equal(tcp.packet.flag_tc, false);
    assert.deepEqual(
      records(tcp.packet.answers).map((r) => r.data),
      ['192.0.2.10'],
    );
  });

  test("'garbage-first': junk, wrong ID, wrong question, then the real answer", async () => {
    s.behaviour = 'garbage-first';
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind({ address: '127.0.0.1', port: 0 }, () => r()));
    const got: Buffer[] = [];
    const four = new Promise<void>((resolve) =>
      sock.on('message', (m) => {
        got.push(m);
        if (got.length === 4) resolve();
      }),
    );
    const { bytes } = encodeQuery('www.example.com', 'A', { id: 5000 });
    sock.send(bytes, s.port, s.address);
    await four;
    await new Promise((r) => setTimeout(r, 50)); // nothing more may follow
    sock.close();
    assert.equal(got.length, 4);
    assert.ok(got[0]!.length < 12, 'junk is not even a header');
    const [wrongId, wrongQ, real] = got.slice(1).map(decodeReply);
    assert.notEqual(wrongId!.id, 5000);
    assert.equal(wrongQ!.id, 5000);
    assert.notEqual(wrongQ!.questions?.[0]?.name, 'www.example.com');
    assert.equal(real!.id, 5000);
    assert.equal(real!.questions?.[0]?.name, 'www.example.com');
    assert.deepEqual(
      records(real!.answers).map((r) => r.data),
      ['192.0.2.10'],
    );

    // A careful client skips the decoys.
    const viaClient = await query(s, 'www.example.com', 'A');
    assert.deepEqual(
      records(viaClient.packet.answers).map((r) => r.data),
      ['192.0.2.10'],
    );
    const tcp = await query(s, 'www.example.com', 'A', { transport: 'tcp' });
    assert.deepEqual(
      records(tcp.packet.answers).map((r) => r.data),
      ['192.0.2.10'],
    );
  });

  test("'slow' answers after delayMs", async () => {
    s.behaviour = 'slow';
    const t0 = Date.now();
    const { packet } = await query(s, 'www.example.com', 'A', { timeoutMs: 2000 });
    assert.ok(Date.now() - t0 >= 180, `took ${Date.now() - t0} ms`);
    assert.deepEqual(
      records(packet.answers).map((r) => r.data),
      ['192.0.2.10'],
    );
    await assert.rejects(query(s, 'www.example.com', 'A', { timeoutMs: 50 }), /timeout/);
  });

  test("'servfail' and 'refused' over both transports", async () => {
    for (const [behaviour, rcode] of [
      ['servfail', 'SERVFAIL'],
      ['refused', 'REFUSED'],
    ] as const) {
      s.behaviour = behaviour;
      for (const transport of ['udp', 'tcp'] as const) {
        const { packet } = await query(s, 'www.example.com', 'A', { transport, id: 31337 });
        assert.equal(packet.rcode, rcode, `${behaviour}/${transport}`);
        assert.equal(packet.id, 31337);
        assert.equal(records(packet.answers).length, 0);
        assert.equal(packet.questions?.[0]?.name, 'www.example.com');
      }
    }
  });

  /** The first reply to `bytes` sent as they are (framed over TCP). */
  async function rawReply(bytes: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer> {
    const raw = await sendRaw(s, transport === 'udp' ? bytes : Buffer.concat([Buffer.from([0, bytes.length]), bytes]), {
      transport,
      timeoutMs: 1000,
    });
    assert.ok(raw, `a reply over ${transport}`);
    return raw;
  }

  test("'malformed': intact header and question, answers promised but missing", async () => {
    s.behaviour = 'malformed';
    const { bytes } = encodeQuery('www.example.com', 'A', { id: 2024 });
    for (const transport of ['udp', 'tcp'] as const) {
      const raw = await rawReply(bytes, transport);
      assert.equal(raw.readUInt16BE(0), 2024);
      assert.equal(raw.readUInt16BE(4), 1, 'QDCOUNT');
      assert.ok(raw.readUInt16BE(6) >= 1, 'ANCOUNT');
      assert.deepEqual(raw.subarray(12, bytes.length), bytes.subarray(12), 'question echoed');
      assert.throws(() => dnsPacket.decode(raw));
    }
    await assert.rejects(query(s, 'www.example.com', 'A', { timeoutMs: 1000 }), /malformed reply/);
  });

  test("'no-question': a bare NOERROR header with the query's ID, over both transports", async () => {
    s.behaviour = 'no-question';
    const { bytes } = encodeQuery('www.example.com', 'A', { id: 4242 });
    for (const transport of ['udp', 'tcp'] as const) {
      assert.deepEqual(
        [...(await rawReply(bytes, transport))],
        [0x10, 0x92, 0x81, 0x00, 0, 0, 0, 0, 0, 0, 0, 0],
        transport,
      );
    }
  });

  test("'bad-opcode': the real answer and question, with opcode 2", async () => {
    s.behaviour = 'bad-opcode';
    for (const transport of ['udp', 'tcp'] as const) {
      const { packet, raw } = await query(s, 'www.example.com', 'A', { transport, id: 777 });
      assert.equal((raw[2]! >> 3) & 0x0f, BAD_REPLY_OPCODE, transport);
      assert.equal(raw[2]! & 0x80, 0x80, 'QR');
      assert.equal(packet.id, 777);
      assert.equal(packet.questions?.[0]?.name, 'www.example.com');
      assert.deepEqual(
        records(packet.answers).map((r) => r.data),
        ['192.0.2.10'],
      );
    }
  });

  test("'no-edns': FORMERR without OPT to a query with OPT, over both transports; the answer to one without", async () => {
    s.behaviour = 'no-edns';
    s.resetQueries();
    for (const transport of ['udp', 'tcp'] as const) {
      const refused = await query(s, 'www.example.com', 'A', { transport, edns: 1232 });
      assert.equal(refused.packet.rcode, 'FORMERR', transport);
      assert.equal(refused.packet.questions?.[0]?.name, 'www.example.com');
      assert.equal(refused.raw.readUInt16BE(10), 0, 'no OPT');
      assert.equal(records(refused.packet.answers).length, 0);
      const plain = await query(s, 'www.example.com', 'A', { transport });
      assert.equal(plain.packet.rcode, 'NOERROR', transport);
      assert.deepEqual(
        records(plain.packet.answers).map((r) => r.data),
        ['192.0.2.10'],
      );
    }
    assert.deepEqual(
      s.queries.map((q) => q.edns),
      [1232, null, 1232, null],
      'every query is logged',
    );
  });
});

describe('lame referrals and injection', () => {
  let s: LabServer;
  before(async () => {
    s = await LabServer.start({ address: await freeLoopback(), zones: [exampleZone] });
  });
  after(async () => {
    await s.stop();
  });

  test("'lame-referral': an upward referral to the root for every query, over both transports", async () => {
    s.behaviour = 'lame-referral';
    try {
      for (const transport of ['udp', 'tcp'] as const) {
        for (const name of ['www.example.com', 'example.com', 'www.example.org']) {
          const { packet } = await query(s, name, 'A', { transport, id: 4711 });
          assert.equal(packet.id, 4711);
          assert.equal(packet.rcode, 'NOERROR', `${name}/${transport}`);
          assert.equal(packet.flag_aa, false);
          assert.equal(records(packet.answers).length, 0);
          assert.deepEqual(
            records(packet.authorities).map((r) => [r.name, r.type, r.data]),
            [['.', 'NS', LAME_REFERRAL_TARGET]],
          );
          assert.equal(records(packet.authorities, 'SOA').length, 0);
          assert.equal(records(packet.additionals).length, 0);
        }
      }
    } finally {
      s.behaviour = 'answer';
    }
  });

  test('inject: records appended to every section of every reply; cleared on cue', async () => {
    const evil = {
      answer: [a('www.victim.test', '192.0.2.66')],
      authority: [ns('victim.test', 'ns.evil.test')],
      additional: [a('ns.evil.test', '127.0.0.66'), a('www.victim.test', '192.0.2.66')],
    };
    const s2 = await LabServer.start({ address: await freeLoopback(), zones: [exampleZone], inject: evil });
    try {
      const { packet } = await query(s2, 'www.example.com', 'A', { edns: 1232 });
      assert.equal(packet.rcode, 'NOERROR');
      assert.deepEqual(
        records(packet.answers).map((r) => [r.name, r.type, r.data]),
        [
          ['www.example.com', 'A', '192.0.2.10'],
          ['www.victim.test', 'A', '192.0.2.66'],
        ],
      );
      assert.deepEqual(
        records(packet.authorities).map((r) => [r.name, r.type, r.data]),
        [['victim.test', 'NS', 'ns.evil.test']],
      );
      assert.deepEqual(
        records(packet.additionals).map((r) => [r.name, r.type, r.data ?? null]),
        [
          ['ns.evil.test', 'A', '127.0.0.66'],
          ['www.victim.test', 'A', '192.0.2.66'],
          ['.', 'OPT', null],
        ],
      );
      // Negative answers and referrals get it too, over TCP as well.
      const nx = await query(s2, 'nope.example.com', 'A', { transport: 'tcp' });
      assert.equal(nx.packet.rcode, 'NXDOMAIN');
      assert.deepEqual(
        records(nx.packet.authorities).map((r) => r.type),
        ['SOA', 'NS'],
      );
      assert.equal(records(nx.packet.answers, 'A').length, 1);
      const ref = await query(s2, 'www.sub.example.com', 'A');
      assert.deepEqual(
        records(ref.packet.additionals).map((r) => r.name),
        ['ns1.sub.example.com', 'ns.evil.test', 'www.victim.test'],
      );
    } finally {
      await s2.stop();
    }
    // The mutable property works on a running server, and combines with a behaviour.
    s.inject = { answer: [a('injected.test', '192.0.2.67')] };
    try {
      s.behaviour = 'lame-referral';
      const { packet } = await query(s, 'www.example.com', 'A');
      assert.deepEqual(
        records(packet.answers).map((r) => [r.name, r.data]),
        [['injected.test', '192.0.2.67']],
      );
      s.behaviour = 'answer';
      s.inject = undefined;
      const clean = await query(s, 'www.example.com', 'A');
      assert.deepEqual(
        records(clean.packet.answers).map((r) => r.data),
        ['192.0.2.10'],
      );
    } finally {
      s.behaviour = 'answer';
      s.inject = undefined;
    }
  });
});
