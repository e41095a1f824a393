import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  makeReplyEntry,
  renderReply,
  replyAnswerEnd,
  replyMessageLength,
  replyTtlOffsets,
} from '../../src/cache/replies';
import { PackedReply, ReplyBytes } from '../../src/cache/cache';
import { BuiltMessage, MessageWriter, optRecord, OPT_LENGTH, Section } from '../../src/wire/writer';
import { ClientQuery, parseQuery } from '../../src/wire/query';
import { decodePacket, ipv4, n, nameRdata, QueryOptions, rawQuery, replyWriter, soaRdata } from './helpers';

const NOW = 5000;
const FIRST = rawQuery('WWW.Example.com', 1, { id: 0x1111 });
const Q_END = FIRST.length;

function clientQuery(buf: Buffer): ClientQuery {
  const q = parseQuery(buf);
  assert.equal(q.kind, 'query');
  return q;
}

/** CNAME www → web (TTL 300), A web (TTL 60); optionally an NS set in authority; TTLs zeroed for HIDETTL. */
function build(opts: { authority?: boolean; hideTtl?: boolean; first?: Buffer } = {}): BuiltMessage {
  const first = opts.first ?? FIRST;
  // The first asker's header and question, as the server would copy them (RD may be 0 here).
  const w = replyWriter(first);
  const ttl = (t: number): number => (opts.hideTtl ? 0 : t);
  w.record({ name: n('www.example.com'), type: 5, ttl: ttl(300), rdata: nameRdata('web.example.com') });
  w.record({ name: n('web.example.com'), type: 1, ttl: ttl(60), rdata: ipv4('192.0.2.80') });
  if (opts.authority) {
    w.startSection(Section.Authority);
    w.record({ name: n('example.com'), type: 2, ttl: ttl(86400), rdata: nameRdata('ns1.example.com') });
    w.record({ name: n('example.com'), type: 2, ttl: ttl(86400), rdata: nameRdata('ns2.example.com') });
  }
  return w.finish();
}

function entry(b: BuiltMessage, lifetime = 60): PackedReply {
  const e = makeReplyEntry(b, lifetime, NOW);
  assert.ok(e);
  return e;
}

/** Renders `e` for a query built from `name` and `opts`; returns the query too. */
function render(
  e: ReplyBytes,
  name: string,
  opts: QueryOptions & { limit?: number; opt?: Buffer | null; now?: number } = {},
): { out: Buffer; query: Buffer } {
  const query = rawQuery(name, 1, opts);
  const questionEnd = 12 + (query.length - 12 - (opts.edns ? OPT_LENGTH : 0));
  return { out: renderReply(e, query, questionEnd, opts.limit ?? 65535, opts.opt ?? null, opts.now ?? NOW), query };
}

const counts = (b: Buffer): number[] => [4, 6, 8, 10].map((o) => b.readUInt16BE(o));
/** The stored message and its TTL offsets, unpacked from the entry's bytes. */
const bytesOf = (e: ReplyBytes): Buffer => Buffer.from(e.buf.subarray(e.start, e.start + replyMessageLength(e)));
const offsetsOf = replyTtlOffsets;
const ttlsOf = (b: Buffer, e: ReplyBytes): number[] =>
  offsetsOf(e)
    .filter((o) => o < b.length)
    .map((o) => b.readUInt32BE(o));

describe('makeReplyEntry', () => {
  it('captures the bytes, TTLs and their offsets', () => {
    const b = build({ authority: true });
    const e = entry(b, 60);
    assert.deepEqual(bytesOf(e), b.bytes);
    assert.equal(e.expires, NOW + 60);
    assert.equal(e.builtAt, NOW);
    assert.deepEqual(ttlsOf(b.bytes, e), [300, 60, 86400, 86400]);
    assert.deepEqual(offsetsOf(e), b.ttlOffsets);
    assert.equal(replyAnswerEnd(e), b.sectionEnds[0]);
    assert.equal(e.buf.readUInt16BE(e.start + 6), 2, 'the stored ANCOUNT');
    assert.equal(e.charge, 22 + b.bytes.length + 4 * 2);
  });

  it('keeps nothing without a lifetime', () => {
    assert.equal(makeReplyEntry(build(), 0, NOW), null);
    assert.equal(makeReplyEntry(build(), -5, NOW), null);
  });
});

describe('renderReply', () => {
  it('patches the ID and the question (letter case and class) from the client', () => {
    const e = entry(build());
    const { out, query } = render(e, 'www.EXAMPLE.COM', { id: 0x2222, qclass: 255 });
    const expected = Buffer.from(bytesOf(e));
    expected.writeUInt16BE(0x2222, 0);
    query.copy(expected, 12, 12, Q_END);
    assert.deepEqual(out, expected);
    const d = decodePacket(out);
    assert.equal(d.id, 0x2222);
    assert.equal(d.questions![0]!.name, 'www.EXAMPLE.COM');
    assert.equal(d.questions![0]!.class, 'ANY');
    // Answers point at the question, so they now show the new client's case.
    assert.equal(d.answers![0]!.name, 'www.EXAMPLE.COM');
  });

  it('does not modify the stored bytes', () => {
    const e = entry(build({ authority: true }));
    const before = Buffer.from(e.buf);
    render(e, 'WwW.eXaMpLe.CoM', { id: 0x9999, now: NOW + 30, limit: 100, opt: optRecord() });
    assert.deepEqual(e.buf, before);
  });

  it("copies the client's RD bit and keeps the other flags", () => {
    const e = entry(build());
    assert.equal(bytesOf(e)[2], 0x81);
    assert.equal(render(e, 'www.example.com', { flags2: 0x00 }).out[2], 0x80);
    const noRd = entry(build({ first: rawQuery('www.example.com', 1, { flags2: 0x00 }) }));
    assert.equal(bytesOf(noRd)[2], 0x80);
    const { out } = render(noRd, 'www.example.com', { flags2: 0x01 });
    assert.equal(out[2], 0x81);
    assert.equal(out[3], 0x80);
  });

  it("copies the client's CD bit, whatever the first asker's was", () => {
    const plain = entry(build());
    assert.equal(render(plain, 'www.example.com', { flags3: 0x10 }).out[3], 0x90);
    assert.equal(render(plain, 'www.example.com').out[3], 0x80);
    const cd = entry(build({ first: rawQuery('www.example.com', 1, { flags3: 0x10 }) }));
    assert.equal(bytesOf(cd)[3], 0x90);
    assert.equal(render(cd, 'www.example.com').out[3], 0x80);
    assert.equal(render(cd, 'www.example.com', { flags3: 0x10 }).out[3], 0x90);
    // Truncated for a small limit: the header is still this client's.
    assert.equal(render(cd, 'www.example.com', { limit: Q_END }).out[3], 0x80);
  });

  it('counts TTLs down with the clock and never below zero', () => {
    const e = entry(build({ authority: true }));
    assert.deepEqual(ttlsOf(render(e, 'www.example.com').out, e), [300, 60, 86400, 86400]);
    assert.deepEqual(ttlsOf(render(e, 'www.example.com', { now: NOW + 10 }).out, e), [290, 50, 86390, 86390]);
    assert.deepEqual(ttlsOf(render(e, 'www.example.com', { now: NOW + 60 }).out, e), [240, 0, 86340, 86340]);
    assert.deepEqual(ttlsOf(render(e, 'www.example.com', { now: NOW + 100000 }).out, e), [0, 0, 0, 0]);
  });

  it('keeps hidden TTLs at zero', () => {
    const e = entry(build({ hideTtl: true }), 60);
    assert.deepEqual(ttlsOf(bytesOf(e), e), [0, 0]);
    assert.deepEqual(ttlsOf(render(e, 'www.example.com', { now: NOW + 5 }).out, e), [0, 0]);
  });

  it('appends OPT and counts it in ARCOUNT', () => {
    const e = entry(build({ authority: true }));
    const { out } = render(e, 'www.example.com', { edns: { udpSize: 4096 }, opt: optRecord() });
    assert.equal(out.length, bytesOf(e).length + OPT_LENGTH);
    assert.deepEqual(counts(out), [1, 2, 2, 1]);
    assert.deepEqual(out.subarray(bytesOf(e).length), optRecord());
    const d = decodePacket(out);
    assert.equal(d.authorities!.length, 2);
    assert.deepEqual(
      d.additionals!.map((r) => r.type),
      ['OPT'],
    );
  });

  it('drops authority (no TC) when only the answer fits', () => {
    const e = entry(build({ authority: true }));
    for (const limit of [bytesOf(e).length + OPT_LENGTH - 1, replyAnswerEnd(e) + OPT_LENGTH]) {
      const { out } = render(e, 'WWW.example.com', { id: 7, limit, opt: optRecord(), now: NOW + 1 });
      assert.equal(out.length, replyAnswerEnd(e) + OPT_LENGTH);
      assert.deepEqual(counts(out), [1, 2, 0, 1]);
      assert.equal(out[2]! & 0x02, 0);
      assert.deepEqual(ttlsOf(out.subarray(0, replyAnswerEnd(e)), e), [299, 59]);
      const d = decodePacket(out);
      assert.equal(d.id, 7);
      assert.equal(d.answers!.length, 2);
      assert.equal(d.authorities!.length, 0);
    }
    const { out } = render(e, 'www.example.com', { limit: replyAnswerEnd(e) });
    assert.equal(out.length, replyAnswerEnd(e));
    assert.deepEqual(counts(out), [1, 2, 0, 0]);
  });

  it('sets TC with zero counts and keeps the question when the answer does not fit', () => {
    const e = entry(build({ authority: true }));
    const { out, query } = render(e, 'wWw.example.com', {
      id: 0xabcd,
      limit: replyAnswerEnd(e) + OPT_LENGTH - 1,
      opt: optRecord(),
    });
    assert.equal(out.length, Q_END + OPT_LENGTH);
    assert.equal(out[2]! & 0x02, 0x02);
    assert.deepEqual(counts(out), [1, 0, 0, 1]);
    assert.deepEqual(out.subarray(12, Q_END), query.subarray(12, Q_END));
    assert.deepEqual(out.subarray(Q_END), optRecord());
    const d = decodePacket(out);
    assert.equal(d.id, 0xabcd);
    assert.equal(d.answers!.length, 0);

    const plain = render(e, 'www.example.com', { limit: replyAnswerEnd(e) - 1 }).out;
    assert.equal(plain.length, Q_END);
    assert.deepEqual(counts(plain), [1, 0, 0, 0]);
    assert.equal(plain[2], 0x81 | 0x02);
  });

  it('serves a cached NXDOMAIN with AA, rcode and a counted-down SOA', () => {
    const q = clientQuery(FIRST);
    const w = new MessageWriter(q.id, 3, q.flags2, q.flags3, FIRST.subarray(12, Q_END), q.qname, true);
    w.startSection(Section.Authority);
    w.record({ name: n('example.com'), type: 6, ttl: 900, rdata: soaRdata() });
    const e = entry(w.finish(), 900);
    const { out } = render(e, 'www.example.com', { now: NOW + 100, opt: optRecord(), edns: {} });
    assert.equal(out[2], 0x85);
    assert.equal(out[3], 0x83);
    assert.deepEqual(counts(out), [1, 0, 1, 1]);
    assert.deepEqual(ttlsOf(out, e), [800]);
    const d = decodePacket(out);
    assert.equal((d as { rcode?: string }).rcode, 'NXDOMAIN');
    assert.equal(d.authorities![0]!.type, 'SOA');
  });
});
