import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RCODE } from '../../src/wire/constants';
import { clientUdpLimit, ParsedQuery, parseQuery, RejectedQuery } from '../../src/wire/query';
import { Bytes, n, rawQuery } from './helpers';

function rejected(p: ParsedQuery, rcode: number, reason?: RegExp): RejectedQuery {
  assert.equal(p.kind, 'reject', `expected a rejection, got ${JSON.stringify(p)}`);
  const r = p;
  assert.equal(r.rcode, rcode, `rcode for ${r.reason}`);
  if (reason) assert.match(r.reason, reason);
  return r;
}

/** Header + question "example.com A IN", then whatever `more` appends; counts as given. */
function withRecords(h: { an?: number; ns?: number; ar?: number; flags2?: number }, more: (b: Bytes) => void): Buffer {
  const b = new Bytes().header({ id: 0x4242, flags2: h.flags2 ?? 0x01, an: h.an ?? 0, ns: h.ns ?? 0, ar: h.ar ?? 0 });
  b.name('example.com').u16(1).u16(1);
  more(b);
  return b.buffer();
}

describe('parseQuery: ignored packets', () => {
  it('ignores anything shorter than a header', () => {
    assert.equal(parseQuery(Buffer.alloc(0)).kind, 'ignore');
    assert.equal(parseQuery(rawQuery('example.com', 1).subarray(0, 11)).kind, 'ignore');
  });

  it('ignores responses (QR set)', () => {
    assert.equal(parseQuery(rawQuery('example.com', 1, { flags2: 0x81 })).kind, 'ignore');
  });
});

describe('parseQuery: NOTIMP', () => {
  for (const opcode of [1, 2, 4, 5, 15]) {
    it(`answers opcode ${opcode} with NOTIMP and the client's ID`, () => {
      const r = rejected(
        parseQuery(rawQuery('example.com', 1, { id: 0xbeef, flags2: (opcode << 3) | 0x01 })),
        RCODE.NOTIMP,
      );
      assert.equal(r.id, 0xbeef);
      assert.equal(r.flags2, (opcode << 3) | 0x01);
      assert.equal(r.questionEnd, 0);
    });
  }

  it('checks the opcode before anything else in the question', () => {
    const b = new Bytes().header({ flags2: (4 << 3) | 1, qd: 2 }).buffer();
    rejected(parseQuery(b), RCODE.NOTIMP);
  });
});

describe('parseQuery: FORMERR', () => {
  it('for QDCOUNT 0 and 2', () => {
    rejected(parseQuery(new Bytes().header({ qd: 0 }).buffer()), RCODE.FORMERR, /QDCOUNT/);
    const two = new Bytes().header({ qd: 2 }).name('a.example').u16(1).u16(1).name('b.example').u16(1).u16(1).buffer();
    rejected(parseQuery(two), RCODE.FORMERR, /QDCOUNT/);
  });

  it('for an unreadable question name, without echoing it', () => {
    const bad = new Bytes().header().u8(0x40).raw(Buffer.alloc(70, 0x61)).u8(0).u16(1).u16(1).buffer();
    const r = rejected(parseQuery(bad), RCODE.FORMERR, /bad question name/);
    assert.equal(r.questionEnd, 0);
    assert.equal(r.qname, null);
    rejected(parseQuery(new Bytes().header().u8(3, 0x61, 0x62).buffer()), RCODE.FORMERR, /bad question name/);
    rejected(parseQuery(new Bytes().header().pointer(12).u16(1).u16(1).buffer()), RCODE.FORMERR, /loop/);
  });

  it('for a question cut short of its type and class', () => {
    const full = rawQuery('example.com', 1);
    for (const cut of [1, 2, 3, 4]) {
      rejected(parseQuery(full.subarray(0, full.length - cut)), RCODE.FORMERR, /question runs past end/);
    }
  });

  it('for TC set in a query, echoing the question', () => {
    const r = rejected(parseQuery(rawQuery('Example.com', 1, { flags2: 0x03 })), RCODE.FORMERR, /TC/);
    assert.equal(r.qname, n('example.com'));
    assert.equal(r.questionEnd, 12 + 13 + 4);
  });

  it('for ARCOUNT claiming a record that is not there', () => {
    rejected(parseQuery(withRecords({ ar: 1 }, () => {})), RCODE.FORMERR, /bad name in record/);
  });

  it('for a truncated OPT header or RDATA', () => {
    rejected(
      parseQuery(withRecords({ ar: 1 }, (b) => b.u8(0).u16(41).u16(1232))),
      RCODE.FORMERR,
      /record header runs past the end/,
    );
    const cut = withRecords({ ar: 1 }, (b) => b.u8(0).u16(41).u16(1232).u32(0).u16(8).u8(0, 10));
    rejected(parseQuery(cut), RCODE.FORMERR, /RDATA runs past the end/);
  });

  it('for an OPT whose owner is not the root', () => {
    const q = withRecords({ ar: 1 }, (b) => b.name('example.com').u16(41).u16(1232).u32(0).u16(0));
    rejected(parseQuery(q), RCODE.FORMERR, /owner/);
  });

  it('for an OPT in the answer or authority section', () => {
    rejected(parseQuery(withRecords({ an: 1, ar: 1 }, (b) => b.opt().opt())), RCODE.FORMERR, /outside the additional/);
    rejected(parseQuery(withRecords({ ns: 1, ar: 1 }, (b) => b.opt().opt())), RCODE.FORMERR, /outside the additional/);
    // With ARCOUNT 0 too: the answer section is read for it all the same.
    rejected(parseQuery(withRecords({ an: 1 }, (b) => b.opt())), RCODE.FORMERR, /outside the additional/);
  });

  it('for two OPT records', () => {
    const r = rejected(
      parseQuery(withRecords({ ar: 2 }, (b) => b.opt(1232).opt(4096))),
      RCODE.FORMERR,
      /more than one OPT/,
    );
    assert.equal(r.edns, null);
  });

  it('for QTYPE OPT, TSIG or TKEY (meta-types, never a question)', () => {
    rejected(parseQuery(rawQuery('example.com', 41)), RCODE.FORMERR, /question type 41/);
    rejected(parseQuery(rawQuery('example.com', 250)), RCODE.FORMERR, /question type 250/);
    rejected(parseQuery(rawQuery('example.com', 249)), RCODE.FORMERR, /question type 249/);
  });
});

describe('parseQuery: BADVERS and REFUSED', () => {
  it('answers EDNS version 1 with BADVERS, keeping the EDNS facts', () => {
    const r = rejected(parseQuery(rawQuery('example.com', 1, { edns: { version: 1, udpSize: 4096 } })), RCODE.BADVERS);
    assert.deepEqual(r.edns, { udpSize: 4096, version: 1, dnssecOk: false });
  });

  it('refuses zone transfers, echoing the question', () => {
    for (const qtype of [252, 251]) {
      const r = rejected(parseQuery(rawQuery('Example.COM', qtype)), RCODE.REFUSED, /zone transfer/);
      assert.equal(r.qname, n('example.com'));
      assert.equal(r.qtype, qtype);
      assert.equal(r.questionEnd, 12 + 13 + 4);
    }
  });

  it('refuses classes other than IN and ANY', () => {
    rejected(parseQuery(rawQuery('version.bind', 16, { qclass: 3 })), RCODE.REFUSED, /class 3/);
    rejected(parseQuery(rawQuery('example.com', 1, { qclass: 4 })), RCODE.REFUSED);
  });

  it('refuses RD=0', () => {
    rejected(parseQuery(rawQuery('example.com', 1, { flags2: 0x00 })), RCODE.REFUSED, /recursion/);
  });

  it('keeps the EDNS of a refused EDNS query so the reply can carry OPT', () => {
    const r = rejected(parseQuery(rawQuery('example.com', 252, { edns: { udpSize: 1400 } })), RCODE.REFUSED);
    assert.deepEqual(r.edns, { udpSize: 1400, version: 0, dnssecOk: false });
  });
});

describe('parseQuery: accepted queries', () => {
  it('parses a plain query', () => {
    const buf = rawQuery('WWW.Example.com', 28, { id: 0xabcd, flags3: 0x10 });
    const q = parseQuery(buf);
    assert.deepEqual(q, {
      kind: 'query',
      id: 0xabcd,
      flags2: 0x01,
      flags3: 0x10,
      qname: n('www.example.com'),
      qtype: 28,
      qclass: 1,
      questionStart: 12,
      questionEnd: buf.length,
      edns: null,
    });
  });

  it('accepts class ANY', () => {
    const q = parseQuery(rawQuery('example.com', 255, { qclass: 255 }));
    assert.equal(q.kind, 'query');
    assert.equal(q.kind === 'query' && q.qclass, 255);
  });

  it('reads EDNS: size, version, DO bit', () => {
    const q = parseQuery(rawQuery('example.com', 1, { edns: { udpSize: 4096, dnssecOk: true } }));
    assert.equal(q.kind, 'query');
    if (q.kind !== 'query') return;
    assert.deepEqual(q.edns, { udpSize: 4096, version: 0, dnssecOk: true });
    assert.equal(q.questionEnd, 12 + 13 + 4);
    const plain = parseQuery(rawQuery('example.com', 1, { edns: { udpSize: 512 } }));
    assert.deepEqual(plain.kind === 'query' && plain.edns, { udpSize: 512, version: 0, dnssecOk: false });
  });

  it('accepts an OPT carrying options', () => {
    const cookie = new Bytes().u16(10).u16(8).raw(Buffer.alloc(8, 7)).buffer();
    const q = parseQuery(withRecords({ ar: 1 }, (b) => b.opt(1400, { rdata: cookie })));
    assert.equal(q.kind === 'query' && q.edns?.udpSize, 1400);
  });

  it('ignores AA/RA/Z bits, trailing bytes, and non-OPT additional records', () => {
    const q = parseQuery(
      withRecords({ ar: 2, flags2: 0x05 }, (b) => {
        b.name('key.example').u16(250).u16(255).u32(0).u16(3).u8(1, 2, 3);
        b.opt(2048);
        b.u8(0xde, 0xad);
      }),
    );
    assert.equal(q.kind, 'query');
    assert.equal(q.kind === 'query' && q.edns?.udpSize, 2048);
    const bits = Buffer.from(rawQuery('example.com', 1));
    bits[3] = 0xf0; // RA, Z, AD, CD
    assert.equal(parseQuery(Buffer.concat([bits, Buffer.from([1, 2, 3])])).kind, 'query');
  });

  it('skips records in answer and authority while looking for OPT', () => {
    const q = parseQuery(
      withRecords({ an: 1, ns: 1, ar: 1 }, (b) => {
        b.pointer(12).rrFixed(1, 1, 60, 4).u8(1, 2, 3, 4);
        b.pointer(12).rrFixed(2, 1, 60, 2).pointer(12);
        b.opt(1500, { dnssecOk: true });
      }),
    );
    assert.deepEqual(q.kind === 'query' && q.edns, { udpSize: 1500, version: 0, dnssecOk: true });
  });
});

describe('clientUdpLimit', () => {
  it('is 512 without EDNS', () => {
    assert.equal(clientUdpLimit(null, 1232), 512);
  });

  it("is the client's size capped at ours, never below 512", () => {
    const e = (udpSize: number) => ({ udpSize, version: 0, dnssecOk: false });
    assert.equal(clientUdpLimit(e(4096), 1232), 1232);
    assert.equal(clientUdpLimit(e(1000), 1232), 1000);
    assert.equal(clientUdpLimit(e(512), 1232), 512);
    assert.equal(clientUdpLimit(e(100), 1232), 512);
    assert.equal(clientUdpLimit(e(0), 1232), 512);
    assert.equal(clientUdpLimit(e(65535), 4096), 4096);
  });
});
