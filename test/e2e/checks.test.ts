// Query acceptance (spec Part A, "Malformed queries"): which queries get
// FORMERR, NOTIMP or REFUSED, which get nothing, and that no packet at all
// can take the process down.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { query, records, tcpSession } from '../lab/client';
import { LabServer } from '../lab/server';
import { Dnscache } from './harness';
import { framed, header, queriesFor, queryBytes, RCODE, startSetup, suiteScope, udpRepliesTo } from './fixtures';

const scope = suiteScope();
let lab: LabServer;
let dns: Dnscache;

before(async () => {
  ({ lab, dns } = await startSetup(scope));
});

/** Sends one raw packet over UDP; returns dnscache's only reply (null if none). */
async function udpReply(packet: Buffer): Promise<Buffer | null> {
  const replies = await udpRepliesTo(dns, [packet]);
  assert.ok(replies.length <= 1, `${replies.length} replies to one packet`);
  return replies[0] ?? null;
}

/** A small deterministic PRNG (mulberry32), so a failing barrage can be replayed from its seed. */
function prng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

async function assertHealthy(what: string): Promise<void> {
  assert.ok(dns.alive, `dnscache exited after ${what}:\n${dns.logs.slice(-20).join('\n')}`);
  const udp = await query(dns, 'www.example.test', 'A');
  assert.deepEqual(
    records(udp.packet.answers, 'A').map((r) => r.data),
    ['192.0.2.80'],
  );
  const tcp = await query(dns, 'www.example.test', 'AAAA', { transport: 'tcp' });
  assert.deepEqual(
    records(tcp.packet.answers, 'AAAA').map((r) => r.data),
    ['2001:db8::80'],
  );
  assert.deepEqual(dns.linesMatching(/internal error|uncaught|TypeError|RangeError/i), [], 'no internal errors logged');
}

describe('refused, not implemented, malformed', () => {
  test('RD=0 → REFUSED (question echoed, nothing sent upstream), over UDP and TCP', async () => {
    for (const transport of ['udp', 'tcp'] as const) {
      const { packet, raw } = await query(dns, 'norec.example.test', 'A', { rd: false, transport });
      const h = header(raw);
      assert.deepEqual([h.qr, h.rcode, h.rd, h.ancount], [true, RCODE.REFUSED, false, 0], transport);
      assert.equal(packet.questions![0]!.name, 'norec.example.test');
    }
    assert.deepEqual(queriesFor(lab, 'norec.example.test'), []);
  });

  for (const type of ['AXFR', 'IXFR']) {
    test(`${type} → REFUSED`, async () => {
      const { raw } = await query(dns, 'example.test', type);
      assert.equal(header(raw).rcode, RCODE.REFUSED);
      assert.equal(lab.queries.filter((q) => q.type === type).length, 0);
    });
  }

  for (const [opcode, label] of [
    [2, 'STATUS'],
    [4, 'NOTIFY'],
    [5, 'UPDATE'],
  ] as const) {
    test(`opcode ${opcode} (${label}) → NOTIMP`, async () => {
      const bytes = queryBytes('example.test', 'SOA', { id: 0x4242 });
      bytes[2] = (bytes[2]! & 0x87) | (opcode << 3);
      const reply = await udpReply(bytes);
      assert.ok(reply, 'no reply');
      const h = header(reply);
      assert.deepEqual([h.id, h.qr, h.opcode, h.rcode], [0x4242, true, opcode, RCODE.NOTIMP]);
    });
  }

  test('QDCOUNT 2 → FORMERR', async () => {
    const one = queryBytes('www.example.test', 'A', { id: 0x2222 });
    const two = Buffer.concat([one, queryBytes('example.test', 'MX').subarray(12)]);
    two.writeUInt16BE(2, 4);
    const reply = await udpReply(two);
    assert.ok(reply, 'no reply');
    assert.deepEqual([header(reply).id, header(reply).rcode], [0x2222, RCODE.FORMERR]);
  });

  test('a question cut short → FORMERR', async () => {
    const whole = queryBytes('www.example.test', 'A', { id: 0x3333 });
    for (const cut of [1, 3, 8]) {
      const reply = await udpReply(whole.subarray(0, whole.length - cut));
      assert.ok(reply, `no reply with ${cut} bytes cut`);
      assert.deepEqual([header(reply).id, header(reply).rcode], [0x3333, RCODE.FORMERR], `${cut} bytes cut`);
    }
  });

  test('class CH → REFUSED', async () => {
    const { raw } = await query(dns, 'version.bind', 'TXT', { qclass: 'CH' });
    assert.equal(header(raw).rcode, RCODE.REFUSED);
    assert.deepEqual(queriesFor(lab, 'version.bind'), []);
  });

  test('a packet shorter than a header gets no reply, and dnscache keeps serving', async () => {
    const whole = queryBytes('www.example.test', 'A');
    const replies = await udpRepliesTo(dns, [Buffer.alloc(0), whole.subarray(0, 1), whole.subarray(0, 11)]);
    assert.deepEqual(replies, []);
    await assertHealthy('short packets');
  });

  test('over TCP, a message shorter than a header closes the connection without a reply', async () => {
    const session = await tcpSession(dns);
    session.write(framed(Buffer.from([1, 2, 3, 4, 5])));
    assert.equal(await session.nextRaw(), null);
    assert.equal(session.isClosed, true);
  });
});

describe('malformed input never stops dnscache', () => {
  const seed = Date.now() >>> 0;
  const rand = prng(seed);
  const bytesOf = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => rand(256)));
  const templates = [
    queryBytes('www.example.test', 'A'),
    queryBytes('chain.example.test', 'AAAA', { edns: 1232 }),
    queryBytes('localhost', 'A'),
    queryBytes('x.many.example.test', 'ANY', { edns: 4096 }),
  ];
  // Hand-made nasties: compression loops and pointers past the end, long labels, a huge name, a broken OPT.
  const crafted = (): Buffer[] => {
    const h = Buffer.from(queryBytes('a', 'A').subarray(0, 12));
    const withName = (name: number[], tail: number[] = [0, 1, 0, 1]): Buffer =>
      Buffer.concat([h, Buffer.from(name), Buffer.from(tail)]);
    const longName: number[] = [];
    for (let i = 0; i < 5; i++) longName.push(63, ...Buffer.alloc(63, 0x61));
    const opt = Buffer.from(queryBytes('www.example.test', 'A', { edns: 1232 }));
    return [
      withName([0xc0, 0x0c]), // points at itself
      withName([1, 0x61, 0xc0, 0x0c]), // loops through a label
      withName([0xc0, 0xff]), // points past the end
      withName([0x40, 0x61]), // label type 01
      withName([0x80, 0x61]), // label type 10
      withName([...longName, 0]), // longer than 255 bytes
      withName([3, 0x61, 0x62]), // runs off the end
      withName([0], []), // no type and class
      opt.subarray(0, opt.length - 4), // OPT cut short
      Buffer.concat([opt, opt.subarray(opt.length - 11)]), // ARCOUNT 1 but two OPTs
    ];
  };
  const mutate = (base: Buffer): Buffer => {
    const b = Buffer.from(base);
    switch (rand(5)) {
      case 0: // flip a few bytes
        for (let i = rand(4) + 1; i > 0; i--) b[rand(b.length)] = rand(256);
        return b;
      case 1: // truncate anywhere
        return b.subarray(0, rand(b.length));
      case 2: // random counts
        for (const at of [4, 6, 8, 10]) if (rand(2)) b.writeUInt16BE(rand(0x10000), at);
        return b;
      case 3: // trailing junk
        return Buffer.concat([b, bytesOf(rand(64) + 1)]);
      default: // random flags byte pair (QR, opcode, TC, RD...)
        b.writeUInt16BE(rand(0x10000), 2);
        return b;
    }
  };

  test(`thousands of random and mutated UDP packets (seed ${seed})`, async () => {
    const packets: Buffer[] = [...crafted()];
    for (let i = 0; i < 3000; i++) {
      packets.push(rand(3) === 0 ? bytesOf(rand(120)) : mutate(templates[rand(templates.length)]!));
    }
    // In slices, so the bulk reaches dnscache instead of overflowing its socket buffer.
    let replies = 0;
    for (let i = 0; i < packets.length; i += 250)
      replies += (await udpRepliesTo(dns, packets.slice(i, i + 250))).length;
    // Many mutants are still queries (answered or refused): proof that the barrage got through.
    assert.ok(replies > 300, `only ${replies} replies`);
    await assertHealthy(`the UDP barrage (seed ${seed})`);
  });

  test(`garbage over TCP (seed ${seed})`, async () => {
    const streams: Buffer[] = [
      ...crafted().map(framed),
      Buffer.from([0, 0]), // zero length
      Buffer.from([0xff, 0xff, 1, 2, 3]), // announces 64 KiB, sends 3 bytes
      Buffer.from([0x00]), // half a length prefix
    ];
    for (let i = 0; i < 20; i++) streams.push(bytesOf(rand(3000) + 1));
    for (let i = 0; i < 20; i++) {
      const msgs = Array.from({ length: rand(5) + 1 }, () => framed(mutate(templates[rand(templates.length)]!)));
      streams.push(Buffer.concat(msgs));
    }
    await Promise.all(
      streams.map(async (bytes) => {
        const session = await tcpSession(dns);
        session.write(bytes);
        // Read whatever comes until dnscache closes or goes quiet, then hang up.
        while ((await session.nextRaw(300).catch(() => null)) !== null);
        await session.close();
      }),
    );
    await assertHealthy(`the TCP garbage (seed ${seed})`);
  });
});
