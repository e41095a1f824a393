import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage, rdataNames, WireError } from '../../src/wire/message';
import { ROOT } from '../../src/wire/name';
import { Bytes, encodePacket, ipv4, mxRdata, n, nameRdata, soaRdata } from './helpers';

/** A response header + question "Example.COM A IN" at offset 12 (name at 12..25). */
function response(counts: { an?: number; ns?: number; ar?: number; flags2?: number; flags3?: number }): Bytes {
  return new Bytes()
    .header({
      id: 0x5151,
      flags2: counts.flags2 ?? 0x84,
      flags3: counts.flags3 ?? 0x80,
      an: counts.an ?? 0,
      ns: counts.ns ?? 0,
      ar: counts.ar ?? 0,
    })
    .name('Example.COM')
    .u16(1)
    .u16(1);
}

/** A record owned by `owner`, class IN, with RDATA from `rdata` (RDLENGTH computed). */
function record(b: Bytes, owner: (b: Bytes) => void, type: number, ttl: number, rdata: (b: Bytes) => void): void {
  owner(b);
  b.u16(type).u16(1).u32(ttl).rdata(rdata);
}

describe('parseMessage: header and question', () => {
  it('reads flags, rcode and the question', () => {
    const m = parseMessage(response({ flags2: 0x80 | 0x04 | 0x02 | 0x01, flags3: 0x83 }).buffer());
    assert.equal(m.id, 0x5151);
    assert.deepEqual(
      { qr: m.qr, opcode: m.opcode, aa: m.aa, tc: m.tc, rd: m.rd, ra: m.ra, rcode: m.rcode },
      { qr: true, opcode: 0, aa: true, tc: true, rd: true, ra: true, rcode: 3 },
    );
    assert.deepEqual(m.question, { name: n('example.com'), type: 1, class: 1 });
    assert.equal(m.edns, null);
  });

  it('reads the opcode', () => {
    assert.equal(parseMessage(response({ flags2: 0x80 | (2 << 3) }).buffer()).opcode, 2);
  });

  it('allows no question', () => {
    const m = parseMessage(new Bytes().header({ qd: 0, flags2: 0x80 }).buffer());
    assert.equal(m.question, null);
  });

  it('rejects two questions', () => {
    assert.throws(() => parseMessage(new Bytes().header({ qd: 2 }).buffer()), WireError);
  });
});

describe('parseMessage: records', () => {
  it('reads records encoded by dns-packet', () => {
    const buf = encodePacket({
      type: 'response',
      id: 7,
      flags: 0x8180,
      questions: [{ type: 'MX', name: 'example.com' }],
      answers: [
        { type: 'MX', name: 'example.com', ttl: 3600, data: { preference: 10, exchange: 'Mail.Example.com' } },
        { type: 'TXT', name: 'example.com', ttl: 60, data: ['hello'] },
      ],
      authorities: [{ type: 'NS', name: 'example.com', ttl: 86400, data: 'ns1.example.com' }],
      additionals: [{ type: 'A', name: 'mail.example.com', ttl: 300, data: '192.0.2.25' }],
    });
    const m = parseMessage(buf);
    assert.deepEqual(m.answer, [
      { name: n('example.com'), type: 15, class: 1, ttl: 3600, rdata: mxRdata(10, 'mail.example.com') },
      { name: n('example.com'), type: 16, class: 1, ttl: 60, rdata: Buffer.from('\x05hello', 'latin1') },
    ]);
    assert.deepEqual(m.authority, [
      { name: n('example.com'), type: 2, class: 1, ttl: 86400, rdata: nameRdata('ns1.example.com') },
    ]);
    assert.deepEqual(m.additional, [
      { name: n('mail.example.com'), type: 1, class: 1, ttl: 300, rdata: ipv4('192.0.2.25') },
    ]);
  });

  it('decompresses owners and names inside NS, CNAME, MX, SOA, SRV, PTR, AFSDB RDATA', () => {
    const b = response({ an: 7 });
    const q = (x: Bytes) => x.pointer(12);
    record(b, q, 2, 100, (x) => x.labels('NS1').pointer(12));
    record(b, q, 5, 100, (x) => x.labels('www').pointer(12));
    record(b, q, 15, 100, (x) => x.u16(5).labels('mail').pointer(12));
    record(b, q, 6, 100, (x) =>
      x.labels('ns1').pointer(12).labels('HostMaster').pointer(12).u32(1).u32(2).u32(3).u32(4).u32(5),
    );
    record(b, q, 33, 100, (x) => x.u16(1).u16(2).u16(5060).labels('sip').pointer(12));
    record(b, q, 12, 100, (x) => x.pointer(12));
    record(b, q, 18, 100, (x) => x.u16(1).labels('afs').pointer(12));
    const m = parseMessage(b.buffer());
    const sip = Buffer.concat([Buffer.from([0, 1, 0, 2, 0x13, 0xc4]), nameRdata('sip.example.com')]);
    const soa = soaRdata({
      mname: 'ns1.example.com',
      rname: 'hostmaster.example.com',
      serial: 1,
      refresh: 2,
      retry: 3,
      expire: 4,
      minimum: 5,
    });
    assert.deepEqual(
      m.answer.map((r) => [r.name, r.type, r.rdata]),
      [
        [n('example.com'), 2, nameRdata('ns1.example.com')],
        [n('example.com'), 5, nameRdata('www.example.com')],
        [n('example.com'), 15, mxRdata(5, 'mail.example.com')],
        [n('example.com'), 6, soa],
        [n('example.com'), 33, sip],
        [n('example.com'), 12, nameRdata('example.com')],
        [n('example.com'), 18, Buffer.concat([Buffer.from([0, 1]), nameRdata('afs.example.com')])],
      ],
    );
  });

  it('keeps unknown and opaque RDATA byte for byte, even bytes that look like pointers', () => {
    const opaque = Buffer.from([0xc0, 0x0c, 0x03, 0x41, 0x42, 0x43, 0x00, 0xff]);
    const b = response({ an: 2 });
    record(
      b,
      (x) => x.labels('x').pointer(12),
      65280,
      5,
      (x) => x.raw(opaque),
    );
    record(
      b,
      (x) => x.pointer(12),
      16,
      5,
      (x) => x.raw(opaque),
    );
    const buf = b.buffer();
    const m = parseMessage(buf);
    assert.deepEqual(m.answer[0], { name: n('x.example.com'), type: 65280, class: 1, ttl: 5, rdata: opaque });
    assert.deepEqual(m.answer[1]!.rdata, opaque);
    // The RDATA is a copy, not a view into the packet (the receive buffer may be reused).
    buf.fill(0);
    assert.deepEqual(m.answer[0].rdata, opaque);
  });

  it('reads records of other classes and huge TTLs as they are', () => {
    const b = response({ an: 1 });
    b.pointer(12).u16(16).u16(3).u32(0xffffffff).u16(1).u8(0);
    const m = parseMessage(b.buffer());
    assert.equal(m.answer[0]!.class, 3);
    assert.equal(m.answer[0]!.ttl, 0xffffffff);
  });

  it('sorts records into their sections', () => {
    const b = response({ an: 1, ns: 2, ar: 1 });
    b.pointer(12).rrFixed(1, 1, 1, 4).u8(1, 1, 1, 1);
    b.pointer(12).rrFixed(2, 1, 2, 2).pointer(12);
    b.pointer(12).rrFixed(6, 1, 3, 24).pointer(12).pointer(12).u32(1).u32(2).u32(3).u32(4).u32(5);
    b.labels('ns').pointer(12).rrFixed(1, 1, 4, 4).u8(2, 2, 2, 2);
    const m = parseMessage(b.buffer());
    assert.deepEqual(
      m.answer.map((r) => r.ttl),
      [1],
    );
    assert.deepEqual(
      m.authority.map((r) => r.ttl),
      [2, 3],
    );
    assert.deepEqual(
      m.additional.map((r) => r.name),
      [n('ns.example.com')],
    );
  });
});

describe('parseMessage: OPT', () => {
  it('extracts OPT from the additional section, with the extended RCODE', () => {
    const b = response({ ar: 2, flags3: 0x80 });
    b.labels('ns').pointer(12).rrFixed(1, 1, 4, 4).u8(2, 2, 2, 2);
    b.opt(4096, { extendedRcode: 1, version: 0, dnssecOk: true });
    const m = parseMessage(b.buffer());
    assert.deepEqual(m.edns, { udpSize: 4096, version: 0, dnssecOk: true, extendedRcode: 1 });
    assert.equal(m.rcode, 16); // BADVERS = (1 << 4) | 0
    assert.equal(m.additional.length, 1);
    assert.equal(m.additional[0]!.type, 1);
  });

  it('combines the header RCODE with the upper bits', () => {
    const m = parseMessage(response({ ar: 1, flags3: 0x83 }).opt(1232, { extendedRcode: 2 }).buffer());
    assert.equal(m.rcode, (2 << 4) | 3);
    assert.equal(m.ra, true);
  });

  it('rejects two OPT records', () => {
    assert.throws(() => parseMessage(response({ ar: 2 }).opt().opt().buffer()), /more than one OPT/);
  });
});

describe('parseMessage: malformed input', () => {
  it('rejects a message shorter than a header', () => {
    assert.throws(() => parseMessage(Buffer.alloc(11)), WireError);
  });

  it('rejects a truncated question', () => {
    const full = response({}).buffer();
    assert.throws(() => parseMessage(full.subarray(0, full.length - 1)), WireError);
    assert.throws(() => parseMessage(full.subarray(0, 20)), WireError);
  });

  it('rejects counts claiming missing records', () => {
    assert.throws(() => parseMessage(response({ an: 1 }).buffer()), WireError);
    assert.throws(() => parseMessage(response({ ar: 1 }).buffer()), WireError);
  });

  it('rejects a record header cut short', () => {
    assert.throws(() => parseMessage(response({ an: 1 }).pointer(12).u16(1).u16(1).u16(0).buffer()), /record header/);
  });

  it('rejects RDATA running past the end', () => {
    assert.throws(
      () => parseMessage(response({ an: 1 }).pointer(12).rrFixed(1, 1, 5, 4).u8(1, 2, 3).buffer()),
      /RDATA runs past/,
    );
  });

  it('rejects a name inside RDATA that runs past RDLENGTH', () => {
    const b = response({ an: 1 }).pointer(12).rrFixed(2, 1, 5, 3).labels('ns1').pointer(12);
    assert.throws(() => parseMessage(b.buffer()), /past RDLENGTH/);
  });

  it('rejects MX RDATA shorter than its preference', () => {
    const b = response({ an: 1 }).pointer(12).rrFixed(15, 1, 5, 1).u8(0);
    assert.throws(() => parseMessage(b.buffer()), /fixed fields/);
  });

  it('reports bad names as WireError, not NameError', () => {
    const badOwner = response({ an: 1 }).u8(0x80).buffer();
    assert.throws(
      () => parseMessage(badOwner),
      (e) => e instanceof WireError && /label type/.test(e.message),
    );
    const loop = response({ an: 1 }).pointer(12).rrFixed(5, 1, 5, 2);
    const at = loop.length;
    loop.pointer(at);
    assert.throws(
      () => parseMessage(loop.buffer()),
      (e) => e instanceof WireError && /loop/.test(e.message),
    );
  });
});

describe('rdataNames', () => {
  it('lists the names in decompressed RDATA', () => {
    assert.deepEqual(rdataNames(2, nameRdata('ns1.example.com')), [n('ns1.example.com')]);
    assert.deepEqual(rdataNames(5, nameRdata('.')), [ROOT]);
    assert.deepEqual(rdataNames(15, mxRdata(10, 'mx.example.com')), [n('mx.example.com')]);
    assert.deepEqual(rdataNames(6, soaRdata({ mname: 'a.example', rname: 'b.example' })), [
      n('a.example'),
      n('b.example'),
    ]);
    const srv = Buffer.concat([Buffer.alloc(6), nameRdata('sip.example.com')]);
    assert.deepEqual(rdataNames(33, srv), [n('sip.example.com')]);
  });

  it('is empty for types without names', () => {
    assert.deepEqual(rdataNames(1, ipv4('1.2.3.4')), []);
    assert.deepEqual(rdataNames(16, Buffer.from('\x03abc')), []);
  });
});
