import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage } from '../../src/wire/message';
import {
  BuiltMessage,
  fitMessage,
  MessageWriter,
  optRecord,
  OPT_LENGTH,
  OutRecord,
  Section,
} from '../../src/wire/writer';
import { decodePacket, ipv4, mxRdata, n, nameRdata, rawQuery } from './helpers';

const QNAME = n('www.example.com');
/** The client's question as it sent it: mixed case, A, IN (17 + 4 bytes, ends at 33). */
const QUESTION = rawQuery('WwW.Example.COM', 1).subarray(12);
const Q_END = 12 + QUESTION.length;

const a = (name: string, ip: string, ttl = 300): OutRecord => ({ name: n(name), type: 1, ttl, rdata: ipv4(ip) });

function writer(rcode = 0, flags2 = 0x01, aa = false, flags3 = 0): MessageWriter {
  return new MessageWriter(0x1234, rcode, flags2, flags3, QUESTION, QNAME, aa);
}

/** A reply with 2 answers, 3 NS in authority and 2 glue records. */
function fullReply(): BuiltMessage {
  const w = writer();
  w.record(a('www.example.com', '192.0.2.1'));
  w.record(a('www.example.com', '192.0.2.2', 200));
  w.startSection(Section.Authority);
  for (const ns of ['ns1.example.com', 'ns2.example.com', 'ns3.example.net']) {
    w.record({ name: n('example.com'), type: 2, ttl: 86400, rdata: nameRdata(ns) });
  }
  w.startSection(Section.Additional);
  w.record(a('ns1.example.com', '192.0.2.53', 3600));
  w.record(a('ns2.example.com', '192.0.2.54', 3600));
  return w.finish();
}

describe('MessageWriter', () => {
  it('writes the header: ID, QR, RD copied, RA, rcode, AA', () => {
    const m = writer(0, 0x01).finish();
    assert.deepEqual([...m.bytes.subarray(0, 12)], [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]);
    const nx = writer(3, 0x00, true).finish();
    assert.equal(nx.bytes[2], 0x84);
    assert.equal(nx.bytes[3], 0x83);
    // RD and the opcode come from the client's byte 2; its AA and TC do not.
    assert.equal(writer(2, 0x07).finish().bytes[2], 0x81);
    assert.equal(writer(4, (2 << 3) | 0x01).finish().bytes[2], 0x80 | (2 << 3) | 0x01);
  });

  it("copies the client's CD bit and no other bit of its byte 3", () => {
    assert.equal(writer(0, 0x01, false, 0x10).finish().bytes[3], 0x90);
    assert.equal(
      writer(3, 0x01, false, 0x10 | 0x20 | 0x0f).finish().bytes[3],
      0x93,
      'AD, Z and the rcode bits are ours',
    );
    assert.equal(writer(0, 0x01, false, 0x00).finish().bytes[3], 0x80);
  });

  it("echoes the client's question bytes", () => {
    const m = writer().finish();
    assert.deepEqual(m.bytes.subarray(12), QUESTION);
    assert.equal(m.questionEnd, Q_END);
    assert.equal(m.bytes.length, Q_END);
  });

  it('can write a message without a question', () => {
    const m = new MessageWriter(9, 1, 0x01, 0, null, null).finish();
    assert.equal(m.bytes.readUInt16BE(4), 0);
    assert.equal(m.questionEnd, 12);
    assert.equal(m.bytes.length, 12);
  });

  it('points answers for the question name at 0xC00C', () => {
    const w = writer();
    w.record(a('www.example.com', '192.0.2.1'));
    w.record(a('www.example.com', '192.0.2.2', 200));
    const m = w.finish();
    assert.equal(m.bytes.readUInt16BE(Q_END), 0xc00c);
    assert.equal(m.bytes.readUInt16BE(Q_END + 16), 0xc00c);
    assert.equal(m.bytes.length, Q_END + 2 * 16);
    const d = decodePacket(m.bytes);
    // The pointer makes the owner appear in the client's letter case.
    assert.deepEqual(
      d.answers!.map((r) => [r.name, r.type, 'data' in r ? r.data : null]),
      [
        ['WwW.Example.COM', 'A', '192.0.2.1'],
        ['WwW.Example.COM', 'A', '192.0.2.2'],
      ],
    );
  });

  it('records the offset of every TTL field', () => {
    const m = fullReply();
    assert.equal(m.ttlOffsets.length, 7);
    assert.deepEqual(
      m.ttlOffsets.map((o) => m.bytes.readUInt32BE(o)),
      [300, 200, 86400, 86400, 86400, 3600, 3600],
    );
    for (const [i, o] of m.ttlOffsets.entries()) {
      assert.equal(m.bytes.readUInt16BE(o - 4), i >= 2 && i <= 4 ? 2 : 1, 'type precedes the class and TTL');
      assert.equal(m.bytes.readUInt16BE(o - 2), 1, 'class IN');
    }
    assert.equal(m.ttlOffsets[0], Q_END + 2 + 4);
  });

  it('sets counts and section ends', () => {
    const m = fullReply();
    assert.deepEqual(m.counts, [2, 3, 2]);
    assert.deepEqual(
      [m.bytes.readUInt16BE(4), m.bytes.readUInt16BE(6), m.bytes.readUInt16BE(8), m.bytes.readUInt16BE(10)],
      [1, 2, 3, 2],
    );
    assert.equal(m.sectionEnds[0], Q_END + 32);
    assert.ok(m.sectionEnds[0] < m.sectionEnds[1] && m.sectionEnds[1] < m.sectionEnds[2]);
    assert.equal(m.sectionEnds[2], m.bytes.length);
    const d = decodePacket(m.bytes);
    assert.equal(d.answers!.length, 2);
    assert.deepEqual(
      d.authorities!.map((r) => 'data' in r && r.data),
      ['ns1.example.com', 'ns2.example.com', 'ns3.example.net'],
    );
    assert.deepEqual(
      d.additionals!.map((r) => r.name),
      ['ns1.example.com', 'ns2.example.com'],
    );
  });

  it('handles empty sections (e.g. NXDOMAIN with only an SOA)', () => {
    const w = writer(3, 0x01, true);
    w.startSection(Section.Authority);
    w.record({ name: n('example.com'), type: 2, ttl: 5, rdata: nameRdata('ns.example.com') });
    const m = w.finish();
    assert.deepEqual(m.counts, [0, 1, 0]);
    assert.equal(m.sectionEnds[0], Q_END);
    assert.equal(m.sectionEnds[1], m.bytes.length);
  });

  it('compresses owners and RFC 1035 RDATA names against earlier names', () => {
    const w = writer();
    w.record({ name: QNAME, type: 5, ttl: 60, rdata: nameRdata('web.example.com') });
    w.record(a('web.example.com', '192.0.2.7'));
    w.startSection(Section.Authority);
    w.record({ name: n('example.com'), type: 2, ttl: 60, rdata: nameRdata('ns1.example.com') });
    w.startSection(Section.Additional);
    w.record({ name: n('example.com'), type: 15, ttl: 60, rdata: mxRdata(10, 'mail.example.com') });
    const m = w.finish();
    const b = m.bytes;
    const cnameRdata = Q_END + 12;
    assert.equal(b.readUInt16BE(Q_END + 10), 17, 'first occurrence of web.example.com is written in full');
    const aAt = cnameRdata + 17;
    assert.equal(b.readUInt16BE(aAt), 0xc000 | cnameRdata, 'A owner points at the CNAME target');
    const nsAt = aAt + 16;
    assert.equal(b.readUInt16BE(nsAt), 0xc000 | (cnameRdata + 4), 'example.com suffix of the CNAME target');
    assert.equal(b.readUInt16BE(nsAt + 10), 6, 'NS target = ns1 + pointer');
    assert.equal(b.readUInt16BE(nsAt + 12 + 4), 0xc000 | (cnameRdata + 4));
    const mxAt = nsAt + 12 + 6;
    assert.equal(b.readUInt16BE(mxAt + 10), 2 + 5 + 2, 'MX = preference + mail + pointer');
    assert.equal(b.length, mxAt + 12 + 9);
    // Both decoders agree on the content.
    const d = decodePacket(b);
    assert.deepEqual(
      d.answers!.map((r) => 'data' in r && r.data),
      ['web.example.com', '192.0.2.7'],
    );
    assert.equal(d.authorities![0]!.name, 'example.com');
    assert.deepEqual('data' in d.additionals![0]! && d.additionals![0].data, {
      preference: 10,
      exchange: 'mail.example.com',
    });
    const p = parseMessage(b);
    assert.deepEqual(p.additional[0]!.rdata, mxRdata(10, 'mail.example.com'));
    assert.deepEqual(p.answer[1]!.name, n('web.example.com'));
  });

  it('never compresses RDATA of newer types (SRV), copying it verbatim', () => {
    const srv = Buffer.concat([Buffer.from([0, 1, 0, 2, 0x13, 0xc4]), nameRdata('www.example.com')]);
    const w = writer();
    w.record({ name: n('_sip._udp.example.com'), type: 33, ttl: 60, rdata: srv });
    const m = w.finish();
    const rdataAt = Q_END + 23 + 10;
    assert.equal(m.bytes.readUInt16BE(rdataAt - 2), srv.length);
    assert.deepEqual(m.bytes.subarray(rdataAt, rdataAt + srv.length), srv);
    const d = decodePacket(m.bytes);
    assert.deepEqual('data' in d.answers![0]! && d.answers![0].data, {
      priority: 1,
      weight: 2,
      port: 5060,
      target: 'www.example.com',
    });
  });

  it('does not point past offset 0x3FFF', () => {
    const w = writer();
    const txt = Buffer.alloc(100, 0x41);
    txt[0] = 99;
    for (let i = 0; i < 160; i++) w.record({ name: QNAME, type: 16, ttl: 1, rdata: txt });
    assert.ok(w.length > 0x3fff);
    const first = w.length;
    w.record(a('late.example.org', '192.0.2.1'));
    w.record(a('late.example.org', '192.0.2.2'));
    const m = w.finish();
    // The second owner cannot point at the first (it lies beyond 0x3FFF): written in full.
    assert.equal(m.bytes[first + 18 + 10 + 4], 4, 'label length, not a pointer');
    assert.equal(m.bytes.length, first + 2 * (18 + 10 + 4));
    const d = decodePacket(m.bytes);
    assert.equal(d.answers!.length, 162);
    assert.equal(d.answers![161]!.name, 'late.example.org');
  });
});

describe('optRecord', () => {
  it('is a root OPT advertising 1232 with the extended RCODE and DO', () => {
    assert.deepEqual([...optRecord()], [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...optRecord(1, true)], [0, 0, 41, 0x04, 0xd0, 1, 0, 0x80, 0, 0, 0]);
    assert.equal(optRecord().length, OPT_LENGTH);
  });
});

describe('fitMessage', () => {
  const counts = (b: Buffer): number[] => [4, 6, 8, 10].map((o) => b.readUInt16BE(o));
  const tc = (b: Buffer): boolean => (b[2]! & 0x02) !== 0;

  it('sends everything when it fits', () => {
    const m = fullReply();
    const before = Buffer.from(m.bytes);
    const out = fitMessage(m, m.bytes.length, null);
    assert.deepEqual(out, m.bytes);
    assert.deepEqual(m.bytes, before, 'the built message is not modified');
  });

  it('appends OPT and counts it', () => {
    const m = fullReply();
    const out = fitMessage(m, m.bytes.length + OPT_LENGTH, optRecord());
    assert.equal(out.length, m.bytes.length + OPT_LENGTH);
    assert.deepEqual(counts(out), [1, 2, 3, 3]);
    assert.equal(tc(out), false);
    const d = decodePacket(out);
    const opt = d.additionals![2] as { type: string; udpPayloadSize: number };
    assert.equal(opt.type, 'OPT');
    assert.equal(opt.udpPayloadSize, 1232);
  });

  it('drops authority and additional, without TC, when only the answer fits', () => {
    const m = fullReply();
    const answerEnd = m.sectionEnds[0];
    for (const limit of [m.bytes.length + OPT_LENGTH - 1, answerEnd + OPT_LENGTH]) {
      const out = fitMessage(m, limit, optRecord());
      assert.equal(out.length, answerEnd + OPT_LENGTH);
      assert.deepEqual(counts(out), [1, 2, 0, 1]);
      assert.equal(tc(out), false);
      assert.deepEqual(out.subarray(0, 2), m.bytes.subarray(0, 2));
      const d = decodePacket(out);
      assert.equal(d.answers!.length, 2);
      assert.equal(d.authorities!.length, 0);
      assert.deepEqual(
        d.additionals!.map((r) => r.type),
        ['OPT'],
      );
    }
    const plain = fitMessage(m, answerEnd, null);
    assert.equal(plain.length, answerEnd);
    assert.deepEqual(counts(plain), [1, 2, 0, 0]);
  });

  it('sets TC and keeps only the question, with zero counts, when the answer does not fit', () => {
    const m = fullReply();
    const out = fitMessage(m, m.sectionEnds[0] + OPT_LENGTH - 1, optRecord());
    assert.equal(tc(out), true);
    assert.equal(out.length, Q_END + OPT_LENGTH);
    assert.deepEqual(counts(out), [1, 0, 0, 1]);
    assert.deepEqual(out.subarray(12, Q_END), QUESTION);
    assert.deepEqual(out.subarray(Q_END), optRecord());
    const d = decodePacket(out);
    assert.equal(d.questions![0]!.name, 'WwW.Example.COM');
    assert.equal(d.answers!.length, 0);
    assert.equal(d.additionals!.length, 1);

    const plain = fitMessage(m, m.sectionEnds[0] - 1, null);
    assert.equal(tc(plain), true);
    assert.equal(plain.length, Q_END);
    assert.deepEqual(counts(plain), [1, 0, 0, 0]);
    // Other header bits survive.
    assert.equal(plain[2], 0x81 | 0x02);
    assert.equal(plain[3], 0x80);
  });
});
