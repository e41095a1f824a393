import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { answersQuestion, buildQuery, refusesEdns, replyFault, UpstreamQuestion } from '../../src/transport/upstream';
import { parseMessage } from '../../src/wire/message';
import { parseQuery } from '../../src/wire/query';
import { Bytes, decodePacket, n } from './helpers';

const Q: UpstreamQuestion = { name: n('www.example.com'), type: 28, rd: false };

describe('buildQuery', () => {
  it('writes ID, flags, one question and an EDNS OPT advertising 1232', () => {
    const buf = buildQuery(Q, 0xbeef);
    assert.equal(buf.length, 12 + 17 + 4 + 11);
    assert.deepEqual([...buf.subarray(0, 12)], [0xbe, 0xef, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    const d = decodePacket(buf);
    assert.equal(d.id, 0xbeef);
    assert.deepEqual(d.questions, [{ name: 'www.example.com', type: 'AAAA', class: 'IN' }]);
    const opt = d.additionals![0] as unknown as {
      type: string;
      name: string;
      udpPayloadSize: number;
      ednsVersion: number;
      flags: number;
      options: unknown[];
    };
    assert.equal(opt.type, 'OPT');
    assert.equal(opt.name, '.');
    assert.equal(opt.udpPayloadSize, 1232);
    assert.equal(opt.ednsVersion, 0);
    assert.equal(opt.flags, 0, 'DO clear');
    assert.deepEqual(opt.options, []);
  });

  it('sets RD only when asked (forwarders)', () => {
    assert.equal(buildQuery({ ...Q, rd: true }, 1)[2], 0x01);
    assert.equal(buildQuery(Q, 1)[2], 0x00);
  });

  it('is a query our own parser accepts, EDNS included', () => {
    const q = parseQuery(buildQuery({ name: n('Example.ORG'), type: 15, rd: true }, 7));
    assert.equal(q.kind, 'query');
    if (q.kind !== 'query') return;
    assert.equal(q.qname, n('example.org'));
    assert.equal(q.qtype, 15);
    assert.deepEqual(q.edns, { udpSize: 1232, version: 0, dnssecOk: false });
    const m = parseMessage(buildQuery(Q, 9));
    assert.equal(m.edns?.udpSize, 1232);
    assert.equal(m.additional.length, 0);
  });

  it('leaves the OPT out for a server without EDNS', () => {
    const buf = buildQuery(Q, 0xbeef, false);
    assert.equal(buf.length, 12 + 17 + 4);
    assert.deepEqual([...buf.subarray(0, 12)], [0xbe, 0xef, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(
      buf,
      buildQuery(Q, 0xbeef)
        .subarray(0, 12 + 17 + 4)
        .fill(0, 11, 12),
    );
    assert.equal(parseMessage(buf).edns, null);
  });

  it('handles the root name', () => {
    const buf = buildQuery({ name: n('.'), type: 2, rd: false }, 1);
    assert.equal(buf.length, 12 + 1 + 4 + 11);
    assert.deepEqual(decodePacket(buf).questions, [{ name: '.', type: 'NS', class: 'IN' }]);
  });
});

describe('answersQuestion', () => {
  /** A response header + question; the fields default to a correct answer for Q with ID 0x1234. */
  function reply(
    o: { id?: number; flags2?: number; qd?: number; name?: string; type?: number; cls?: number } = {},
  ): Buffer {
    return new Bytes()
      .header({ id: o.id ?? 0x1234, flags2: o.flags2 ?? 0x80, flags3: 0x80, qd: o.qd ?? 1, an: 0 })
      .name(o.name ?? 'www.example.com')
      .u16(o.type ?? 28)
      .u16(o.cls ?? 1)
      .buffer();
  }

  it('accepts a reply to exactly our question', () => {
    assert.equal(answersQuestion(reply(), 0x1234, Q), true);
    assert.equal(answersQuestion(reply({ flags2: 0x84 | 0x02 }), 0x1234, Q), true, 'AA and TC do not matter here');
  });

  it('compares the name case-insensitively (0x20 mixing)', () => {
    assert.equal(answersQuestion(reply({ name: 'WwW.eXaMpLe.CoM' }), 0x1234, Q), true);
  });

  it('rejects a wrong ID', () => {
    assert.equal(answersQuestion(reply({ id: 0x1235 }), 0x1234, Q), false);
  });

  it('rejects a packet with QR clear', () => {
    assert.equal(answersQuestion(reply({ flags2: 0x00 }), 0x1234, Q), false);
  });

  it('rejects another name, type or class', () => {
    assert.equal(answersQuestion(reply({ name: 'www.example.org' }), 0x1234, Q), false);
    assert.equal(answersQuestion(reply({ name: 'example.com' }), 0x1234, Q), false);
    assert.equal(answersQuestion(reply({ type: 1 }), 0x1234, Q), false);
    assert.equal(answersQuestion(reply({ cls: 3 }), 0x1234, Q), false);
    assert.equal(answersQuestion(reply({ cls: 255 }), 0x1234, Q), false);
  });

  it('takes a reply to our ID without a question (replyFault fails it), not one with two', () => {
    const bare = new Bytes().header({ id: 0x1234, flags2: 0x80, flags3: 0x80, qd: 0 }).buffer();
    assert.equal(answersQuestion(bare, 0x1234, Q), true);
    assert.equal(answersQuestion(bare, 0x1235, Q), false, 'still only with our ID');
    assert.equal(
      answersQuestion(new Bytes().header({ id: 0x1234, flags2: 0x00, qd: 0 }).buffer(), 0x1234, Q),
      false,
      'and QR set',
    );
    assert.equal(answersQuestion(reply({ qd: 2 }), 0x1234, Q), false);
  });

  it('takes our question whatever the opcode (replyFault fails it), but not another question', () => {
    assert.equal(answersQuestion(reply({ flags2: 0x80 | (2 << 3) }), 0x1234, Q), true);
    assert.equal(answersQuestion(reply({ flags2: 0x80 | (2 << 3), name: 'www.example.org' }), 0x1234, Q), false);
  });

  it('rejects truncated or garbled packets', () => {
    const full = reply();
    for (const len of [0, 5, 11, 12, 20, full.length - 4, full.length - 1]) {
      assert.equal(answersQuestion(full.subarray(0, len), 0x1234, Q), false, `length ${len}`);
    }
    const bad = Buffer.from(full);
    bad[12] = 0x40; // label type 0x40
    assert.equal(answersQuestion(bad, 0x1234, Q), false);
    const loop = new Bytes().header({ id: 0x1234, flags2: 0x80 }).pointer(12).u16(28).u16(1).buffer();
    assert.equal(answersQuestion(loop, 0x1234, Q), false);
  });
});

describe('replyFault', () => {
  const header = (flags2: number, qd: number): Buffer =>
    new Bytes().header({ id: 1, flags2, flags3: 0x80, qd }).buffer();

  it('names an opcode other than QUERY, or a missing question', () => {
    assert.equal(replyFault(header(0x80 | (2 << 3), 1)), 'opcode 2 in reply');
    assert.equal(replyFault(header(0x80 | (15 << 3) | 0x07, 1)), 'opcode 15 in reply');
    assert.equal(replyFault(header(0x80 | (4 << 3), 0)), 'opcode 4 in reply', 'the opcode says more');
    assert.equal(replyFault(header(0x80, 0)), 'reply without a question');
  });

  it('is null for a QUERY reply with its question, whatever else the header says', () => {
    assert.equal(replyFault(header(0x80, 1)), null);
    assert.equal(replyFault(header(0x80 | 0x04 | 0x02 | 0x01, 1)), null);
  });
});

describe('refusesEdns', () => {
  const reply = (flags2: number, rcode: number, opt: boolean, qd = 1): Buffer => {
    const b = new Bytes().header({ id: 1, flags2, flags3: 0x80 | rcode, qd, ar: opt ? 1 : 0 });
    if (qd === 1) b.name('www.example.com').u16(28).u16(1);
    if (opt) b.opt(512);
    return b.buffer();
  };

  it('is FORMERR or NOTIMP without an OPT, with or without the question', () => {
    assert.equal(refusesEdns(reply(0x80, 1, false)), true);
    assert.equal(refusesEdns(reply(0x80, 4, false)), true);
    assert.equal(refusesEdns(reply(0x80, 1, false, 0)), true);
  });

  it('is not an OPT-carrying FORMERR, another rcode, another opcode or an unreadable reply', () => {
    assert.equal(refusesEdns(reply(0x80, 1, true)), false, 'it knows EDNS: the FORMERR is about something else');
    for (const rcode of [0, 2, 3, 5]) assert.equal(refusesEdns(reply(0x80, rcode, false)), false, `rcode ${rcode}`);
    assert.equal(refusesEdns(reply(0x80 | (2 << 3), 1, false)), false);
    const cut = reply(0x80, 1, true);
    assert.equal(refusesEdns(cut.subarray(0, cut.length - 3)), false);
  });
});
