// TCP, pipelining, the idle timeout, EDNS sizes and truncation, both towards
// clients and from upstream.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeReply, query, QueryOptions, records, Reply, tcpSession } from '../lab/client';
import { LabServer } from '../lab/server';
import { Dnscache } from './harness';
import {
  framed,
  freshName,
  header,
  MANY_ADDRESSES,
  queriesFor,
  queryBytes,
  RCODE,
  startSetup,
  suiteScope,
  udpRepliesTo,
  WILDCARD_ADDRESS,
} from './fixtures';
import { startInProcess } from './in-process';

const scope = suiteScope();
let lab: LabServer;
let dns: Dnscache;

before(async () => {
  ({ lab, dns } = await startSetup(scope));
});

/** The length of a question for `name` on the wire. */
function questionLength(name: string): number {
  return name.length + 2 + 4;
}

function optRecords(
  packet: Reply['packet'],
): Array<{ udpPayloadSize: number; extendedRcode: number; ednsVersion: number }> {
  return (packet.additionals ?? []).filter((r) => r.type === 'OPT');
}

function addresses(reply: Reply): string[] {
  return records(reply.packet.answers, 'A').map((r) => r.data as string);
}

type Mode = { label: string; opts: QueryOptions; check: (r: Reply, name: string) => void };

const MODES: Mode[] = [
  {
    label: 'UDP without EDNS: TC=1, nothing but the question, counts to match',
    opts: {},
    check: ({ raw, packet }, name) => {
      const h = header(raw);
      assert.deepEqual(
        { tc: h.tc, rcode: h.rcode, qd: h.qdcount, an: h.ancount, ns: h.nscount, ar: h.arcount },
        { tc: true, rcode: RCODE.NOERROR, qd: 1, an: 0, ns: 0, ar: 0 },
      );
      assert.equal(raw.length, 12 + questionLength(name));
      assert.equal(packet.questions![0]!.name, name);
    },
  },
  {
    label: 'UDP with EDNS 1232: the whole answer and an OPT',
    opts: { edns: 1232 },
    check: (reply) => {
      assert.equal(header(reply.raw).tc, false);
      assert.ok(reply.raw.length <= 1232, `${reply.raw.length} bytes`);
      assert.deepEqual(addresses(reply), MANY_ADDRESSES);
      assert.deepEqual(
        optRecords(reply.packet).map((o) => o.udpPayloadSize),
        [1232],
      );
    },
  },
  {
    label: 'UDP with EDNS 512: TC=1, the question and the OPT, counts to match',
    opts: { edns: 512 },
    check: ({ raw, packet }, name) => {
      const h = header(raw);
      assert.deepEqual({ tc: h.tc, an: h.ancount, ns: h.nscount, ar: h.arcount }, { tc: true, an: 0, ns: 0, ar: 1 });
      assert.equal(raw.length, 12 + questionLength(name) + 11);
      assert.deepEqual(
        optRecords(packet).map((o) => o.udpPayloadSize),
        [1232],
      );
    },
  },
  {
    label: 'TCP: the whole answer',
    opts: { transport: 'tcp' },
    check: (reply) => {
      assert.equal(header(reply.raw).tc, false);
      assert.deepEqual(addresses(reply), MANY_ADDRESSES);
      assert.deepEqual(optRecords(reply.packet), []);
    },
  },
];

describe('transport', { concurrency: true }, () => {
  // In this process, on a clock the test moves: the 10 s is the clock's, so
  // the test neither waits for it nor depends on how loaded the machine is.
  test('an idle TCP connection is closed after 10 s on the clock, counted from its last reply', async () => {
    const dns = await startInProcess(scope, { upstreams: [lab] });
    const session = await tcpSession(dns);
    try {
      const port = session.localPort.toString(16).padStart(4, '0');
      const closeLine = `tcpclose 7f000001:${port} temporary failure`;
      dns.clock.advance(9_000); // idle since it opened, but a query comes before 10 s
      const answered = await session.query('localhost', 'A');
      assert.deepEqual(
        records(answered.packet.answers, 'A').map((r) => r.data),
        ['127.0.0.1'],
      );
      dns.clock.advance(9_999);
      assert.equal(dns.logs().includes(closeLine), false, 'open 1 ms before 10 s after the reply');
      dns.clock.advance(1);
      assert.equal(dns.logs().filter((l) => l === closeLine).length, 1, 'closed at 10 s, once');
      await session.closed;
    } finally {
      await session.close();
    }
  });

  describe('queries', { concurrency: 1 }, () => {
    test('a query over TCP is answered', async () => {
      const reply = await query(dns, 'www.example.test', 'AAAA', { transport: 'tcp' });
      assert.equal(reply.packet.rcode, 'NOERROR');
      assert.deepEqual(
        records(reply.packet.answers, 'AAAA').map((r) => r.data),
        ['2001:db8::80'],
      );
    });

    test('queries pipelined in one TCP write are all answered on that connection', async () => {
      const session = await tcpSession(dns);
      try {
        const asked: Array<[string, string]> = [
          ['www.example.test', 'A'],
          ['www.example.test', 'AAAA'],
          ['example.test', 'MX'],
          ['chain.example.test', 'A'],
          [freshName('pipe'), 'A'],
          ['nosuch.example.test', 'A'],
        ];
        const frames = asked.map(([name, type], i) => framed(queryBytes(name, type, { id: 100 + i })));
        session.write(Buffer.concat(frames));
        const replies = new Map<number, Reply['packet']>();
        for (let i = 0; i < asked.length; i++) {
          const raw = await session.nextRaw();
          assert.ok(raw, 'connection closed early');
          const packet = decodeReply(raw);
          replies.set(packet.id!, packet);
        }
        assert.deepEqual(
          [...replies.keys()].sort(),
          asked.map((_, i) => 100 + i),
        );
        asked.forEach(([name, type], i) => {
          const q = replies.get(100 + i)!.questions![0]!;
          assert.deepEqual([q.name, q.type], [name, type]);
        });
        assert.equal(replies.get(105)!.rcode, 'NXDOMAIN');
        assert.equal(replies.get(103)!.answers!.length, 3);
        assert.equal(session.isClosed, false, 'the connection stays open for more');
      } finally {
        await session.close();
      }
    });

    test('a TCP query written one byte at a time is answered', async () => {
      const session = await tcpSession(dns);
      try {
        const bytes = framed(queryBytes('www.example.test', 'A', { id: 0x0b1e }));
        for (const byte of bytes) {
          session.write(Buffer.from([byte]));
          await new Promise((resolve) => setImmediate(resolve));
        }
        const raw = await session.nextRaw();
        assert.ok(raw, 'connection closed early');
        assert.equal(header(raw).id, 0x0b1e);
        assert.deepEqual(
          records(decodeReply(raw).answers, 'A').map((r) => r.data),
          ['192.0.2.80'],
        );
      } finally {
        await session.close();
      }
    });

    for (const first of MODES) {
      test(`a 60-record answer asked first by "${first.label.split(':')[0]}", then again every way`, async (t) => {
        const name = freshName('big', 'many');
        first.check(await query(dns, name, 'A', first.opts), name);
        const upstream = queriesFor(lab, name).length;
        for (const mode of MODES) {
          await t.test(mode.label, async () => mode.check(await query(dns, name, 'A', mode.opts), name));
        }
        // Even a truncated first reply must have fetched (and cached) the whole answer.
        assert.equal(queriesFor(lab, name).length, upstream, 'the later answers come from the cache');
      });
    }

    test('EDNS clients get an OPT with our size (1232), whatever they advertise', async () => {
      for (const size of [512, 1232, 4096]) {
        const reply = await query(dns, 'www.example.test', 'A', { edns: size });
        assert.deepEqual(
          optRecords(reply.packet).map((o) => [o.udpPayloadSize, o.extendedRcode, o.ednsVersion]),
          [[1232, 0, 0]],
        );
        assert.deepEqual(addresses(reply), ['192.0.2.80']);
      }
      const plain = await query(dns, 'www.example.test', 'A');
      assert.deepEqual(optRecords(plain.packet), [], 'no OPT for a client without EDNS');
    });

    test('negative and error replies to EDNS clients carry the OPT too', async () => {
      const asked: Array<[string, string, QueryOptions, number]> = [
        ['nosuch.example.test', 'A', {}, RCODE.NXDOMAIN],
        ['www.example.test', 'MX', {}, RCODE.NOERROR],
        ['www.example.test', 'A', { rd: false }, RCODE.REFUSED],
        ['example.test', 'AXFR', {}, RCODE.REFUSED],
      ];
      for (const [name, type, extra, rcode] of asked) {
        for (const transport of ['udp', 'tcp'] as const) {
          const reply = await query(dns, name, type, { ...extra, edns: 1232, transport });
          const what = `${type} ${name} ${JSON.stringify(extra)} over ${transport}`;
          assert.equal(header(reply.raw).rcode, rcode, what);
          assert.deepEqual(
            optRecords(reply.packet).map((o) => [o.udpPayloadSize, o.extendedRcode]),
            [[1232, 0]],
            what,
          );
        }
      }
    });

    test('EDNS version 1 → BADVERS (extended RCODE 16) with an OPT, over UDP and TCP', async () => {
      const bytes = queryBytes('www.example.test', 'A', { edns: 1232, id: 0x1234 });
      bytes[bytes.length - 5] = 1; // the OPT's VERSION byte
      const [udp, ...rest] = await udpRepliesTo(dns, [bytes]);
      assert.equal(rest.length, 0);
      const session = await tcpSession(dns);
      session.write(framed(bytes));
      const tcp = await session.nextRaw();
      await session.close();
      for (const raw of [udp, tcp]) {
        assert.ok(raw, 'no reply');
        const h = header(raw);
        assert.deepEqual([h.id, h.qr, h.ancount], [0x1234, true, 0]);
        const [opt, ...more] = optRecords(decodeReply(raw));
        assert.ok(opt, 'reply has an OPT');
        assert.equal(more.length, 0);
        assert.equal((opt.extendedRcode << 4) | h.rcode, 16);
      }
    });

    test('a truncated upstream reply is retried over TCP and answered in full', async () => {
      const name = freshName('tc');
      lab.behaviour = 'truncate';
      try {
        const reply = await query(dns, name, 'A');
        assert.deepEqual(addresses(reply), [WILDCARD_ADDRESS]);
      } finally {
        lab.behaviour = 'answer';
      }
      assert.deepEqual(
        queriesFor(lab, name).map((q) => q.transport),
        ['udp', 'tcp'],
      );
    });
  });
});
