import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Cache,
  clampTtl,
  RANK,
  MAX_TTL,
  PackedReply,
  ReplyBytes,
  rrsetDataCharge,
  StoredRecord,
  TtlLimits,
} from '../../src/cache/cache';
import { restore } from '../../src/cache/snapshot';
import { FakeClock, ipv4, mxRdata, n, nameRdata, soaRdata } from './helpers';

const WWW = n('www.example.com'); // 17 bytes on the wire

function cache(maxBytes = 1_000_000): { c: Cache; clock: FakeClock } {
  const clock = new FakeClock();
  return { c: new Cache(maxBytes, clock.now), clock };
}

function reply(clock: FakeClock, lifetime: number, charge = 100): PackedReply {
  // A 12-byte message, no TTLs; trailers: answer end 12, no answers, length 12 (see packReply).
  const buf = Buffer.from('\0'.repeat(12) + '\0\x0c\0\0\0\x0c', 'latin1');
  return { buf, start: 0, end: buf.length, expires: clock.t + lifetime, charge, builtAt: clock.t };
}

/** What a stored reply holds: its bytes and when they were built. */
const held = (r: ReplyBytes | undefined): { bytes: Buffer; builtAt: number } | undefined =>
  r === undefined ? undefined : { bytes: Buffer.from(r.buf.subarray(r.start, r.end)), builtAt: r.builtAt };

const soa: StoredRecord = { name: n('example.com'), type: 6, rdata: soaRdata() };

describe('cache charges (22 + owner + data, spec §6.3)', () => {
  it('matches the spec trace: A ns1.deleg.test + NS deleg.test = 112', () => {
    const { c } = cache();
    c.putRRset(n('ns1.deleg.test'), 1, 3600, [ipv4('127.0.0.3')], RANK.ANSWER_AA);
    assert.equal(c.stats().bytes, 22 + 16 + 4);
    c.putRRset(
      n('deleg.test'),
      2,
      3600,
      [nameRdata('ns1.deleg.test'), nameRdata('ns.outside.example')],
      RANK.ANSWER_AA,
    );
    assert.equal(c.stats().bytes, 112);
    assert.equal(c.stats().motion, 112);
  });

  it('A and AAAA sets: 4 or 16 bytes per address', () => {
    const { c } = cache();
    c.putRRset(WWW, 1, 60, [ipv4('1.2.3.4'), ipv4('5.6.7.8'), ipv4('9.9.9.9')], RANK.ANSWER_AA);
    assert.equal(c.stats().bytes, 22 + 17 + 12);
    c.putRRset(WWW, 28, 60, [Buffer.alloc(16), Buffer.alloc(16, 1)], RANK.ANSWER_AA);
    assert.equal(c.stats().bytes, 22 + 17 + 12 + 22 + 17 + 32);
  });

  it('MX: 2 + exchange per record; CNAME and PTR: the target', () => {
    const { c } = cache();
    c.putRRset(
      n('example.com'),
      15,
      60,
      [mxRdata(10, 'mail.example.com'), mxRdata(20, 'mx2.example.com')],
      RANK.ANSWER_AA,
    );
    assert.equal(c.stats().bytes, 22 + 13 + (2 + 18) + (2 + 17));
    const before = c.stats().bytes;
    c.putRRset(WWW, 5, 60, [nameRdata('web.example.com')], RANK.ANSWER_AA);
    assert.equal(c.stats().bytes - before, 22 + 17 + 17);
    assert.equal(rrsetDataCharge(12, [nameRdata('localhost')]), 11);
  });

  it('other types: 2 + RDLENGTH per record', () => {
    const { c } = cache();
    c.putRRset(n('example.com'), 16, 60, [Buffer.from('\x05hello'), Buffer.from('\x03abc')], RANK.ANSWER_AA);
    assert.equal(c.stats().bytes, 22 + 13 + (2 + 6) + (2 + 4));
    assert.equal(rrsetDataCharge(65280, [Buffer.alloc(0)]), 2);
    assert.equal(rrsetDataCharge(33, [Buffer.alloc(10), Buffer.alloc(20)]), 34);
  });

  it('negative markers: 22 + owner (+ the SOA kept for the authority section)', () => {
    const { c } = cache();
    c.putNxdomain(WWW, 60, null);
    assert.equal(c.stats().bytes, 22 + 17);
    c.putNodata(n('example.com'), 1, 60, null);
    assert.equal(c.stats().bytes, 22 + 17 + 22 + 13);
    const { c: c2 } = cache();
    c2.putNxdomain(WWW, 60, soa);
    assert.equal(c2.stats().bytes, 22 + 17 + 13 + soa.rdata.length);
  });

  it('never stores more than 8192 bytes of data for one set', () => {
    const { c } = cache();
    c.putRRset(WWW, 16, 60, [Buffer.alloc(4094), Buffer.alloc(4094)], RANK.ANSWER_AA); // exactly 8192
    assert.ok(c.getRRset(WWW, 16));
    c.putRRset(n('big.example.com'), 16, 60, [Buffer.alloc(4095), Buffer.alloc(4094)], RANK.ANSWER_AA); // 8193
    assert.equal(c.getRRset(n('big.example.com'), 16), null);
  });
});

describe('cache budget and eviction', () => {
  it('never exceeds CACHESIZE under a flood of inserts of every kind', () => {
    const { c, clock } = cache(5000);
    let seed = 12345;
    const rand = (k: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % k;
    };
    for (let i = 0; i < 20000; i++) {
      const name = n(`h${i}.zone${rand(50)}.example`);
      switch (rand(4)) {
        case 0:
          c.putRRset(
            name,
            1,
            1 + rand(1000),
            Array.from({ length: 1 + rand(8) }, () => ipv4(`10.0.${rand(256)}.${rand(256)}`)),
            RANK.ANSWER_AA,
          );
          break;
        case 1:
          c.putRRset(name, 16, 1 + rand(1000), [Buffer.alloc(rand(600))], RANK.ANSWER_AA);
          break;
        case 2:
          c.putNxdomain(name, 1 + rand(1000), rand(2) ? soa : null);
          break;
        default:
          c.putReply(name, 1, reply(clock, 1 + rand(1000), 30 + rand(900)));
      }
      if (i % 1000 === 0) clock.advance(1);
      assert.ok(c.stats().bytes <= 5000, `over budget after insert ${i}: ${c.stats().bytes}`);
    }
    const s = c.stats();
    assert.ok(s.entries > 10, 'the cache still holds recent entries');
    assert.ok(s.bytes > 2500, 'and uses its budget');
    assert.ok(s.motion > 5000 * 100, 'motion counts every store');
  });

  it('keeps the most recent insert after evicting older ones', () => {
    const { c } = cache(1000);
    for (let i = 0; i < 100; i++) c.putRRset(n(`h${i}.example.com`), 1, 60, [ipv4('10.0.0.1')], RANK.ANSWER_AA);
    assert.ok(c.getRRset(n('h99.example.com'), 1));
    assert.equal(c.getRRset(n('h0.example.com'), 1), null);
  });

  it('evicts the least recently used entry', () => {
    const charge = 22 + 15 + 4; // one A for x.example.com
    const { c } = cache(charge * 3);
    const names = ['a', 'b', 'c', 'd'].map((l) => n(`${l}.example.com`));
    for (const name of names.slice(0, 3)) c.putRRset(name, 1, 60, [ipv4('10.0.0.1')], RANK.ANSWER_AA);
    assert.equal(c.stats().bytes, charge * 3);
    assert.ok(c.getRRset(names[0]!, 1)); // a is now the most recently used
    c.putRRset(names[3]!, 1, 60, [ipv4('10.0.0.1')], RANK.ANSWER_AA);
    assert.equal(c.getRRset(names[1]!, 1), null, 'b was least recently used');
    assert.ok(c.getRRset(names[0]!, 1));
    assert.ok(c.getRRset(names[2]!, 1));
    assert.ok(c.getRRset(names[3]!, 1));
    assert.equal(c.stats().bytes, charge * 3);
    assert.deepEqual(
      [c.stats().inserted, c.stats().evicted],
      [4, 1],
      'four stored, one pushed out (dnscache_cache_*_total)',
    );
  });

  it('does not store an entry larger than the whole budget', () => {
    const { c } = cache(100);
    c.putRRset(
      WWW,
      1,
      60,
      Array.from({ length: 20 }, () => ipv4('10.0.0.1')),
      RANK.ANSWER_AA,
    ); // 22 + 17 + 80 = 119
    assert.equal(c.getRRset(WWW, 1), null);
    assert.deepEqual(c.stats(), { entries: 0, bytes: 0, maxBytes: 100, motion: 0, memory: 0, inserted: 0, evicted: 0 });
  });

  it('replaces an entry stored again under the same key', () => {
    const { c } = cache();
    c.putRRset(WWW, 1, 60, [ipv4('1.1.1.1')], RANK.ANSWER_AA);
    c.putRRset(WWW, 1, 60, [ipv4('2.2.2.2'), ipv4('3.3.3.3')], RANK.ANSWER_AA);
    assert.deepEqual(c.getRRset(WWW, 1)!.rdatas, [ipv4('2.2.2.2'), ipv4('3.3.3.3')]);
    assert.equal(c.stats().entries, 1);
    assert.equal(c.stats().bytes, 22 + 17 + 8);
    assert.equal(c.stats().motion, 22 + 17 + 4 + 22 + 17 + 8);
  });
});

describe('cache TTLs', () => {
  it('the same RRset stored again takes the new TTL, in the same entry and with one charge', () => {
    const { c, clock } = cache();
    const before = c.stats().motion;
    c.putRRset(WWW, 1, 10, [ipv4('1.2.3.4'), ipv4('5.6.7.8')], RANK.ANSWER_AA);
    clock.advance(8);
    c.putRRset(WWW, 1, 100, [ipv4('1.2.3.4'), ipv4('5.6.7.8')], RANK.ANSWER_AA);
    assert.equal(c.getRRset(WWW, 1)!.ttl, 100);
    assert.equal(c.stats().entries, 1);
    assert.equal(c.stats().bytes, 22 + WWW.length + 8);
    assert.equal(c.stats().motion - before, 2 * (22 + WWW.length + 8)); // dnscache counts every store
    // A shorter TTL is taken too, as a replacement would (dnscache's rule: the latest answer wins).
    c.putRRset(WWW, 1, 3, [ipv4('1.2.3.4'), ipv4('5.6.7.8')], RANK.ANSWER_AA);
    assert.equal(c.getRRset(WWW, 1)!.ttl, 3);
    // Different data (even the same records in another order) is a new entry.
    c.putRRset(WWW, 1, 50, [ipv4('5.6.7.8'), ipv4('1.2.3.4')], RANK.ANSWER_AA);
    assert.deepEqual(c.getRRset(WWW, 1)!.rdatas, [ipv4('5.6.7.8'), ipv4('1.2.3.4')]);
    assert.equal(c.getRRset(WWW, 1)!.ttl, 50);
    assert.equal(c.stats().entries, 1);
  });

  it('counts the TTL down with the clock and expires the entry', () => {
    const { c, clock } = cache();
    c.putRRset(WWW, 1, 10, [ipv4('1.2.3.4')], RANK.ANSWER_AA);
    assert.equal(c.getRRset(WWW, 1)!.ttl, 10);
    clock.advance(5);
    assert.equal(c.getRRset(WWW, 1)!.ttl, 5);
    clock.advance(4);
    assert.equal(c.getRRset(WWW, 1)!.ttl, 1);
    clock.advance(1);
    assert.equal(c.getRRset(WWW, 1), null);
    // Not served, and left in place for a fresh entry to replace (one charge, not two) ...
    c.putRRset(WWW, 1, 10, [ipv4('1.2.3.5')], RANK.ANSWER_AA);
    assert.equal(c.stats().entries, 1);
    assert.equal(c.stats().bytes, 22 + WWW.length + 4);
    assert.deepEqual(c.getRRset(WWW, 1)!.rdatas, [ipv4('1.2.3.5')]);
    // ... or for the sweep to reclaim.
    clock.advance(10);
    assert.equal(c.getRRset(WWW, 1), null);
    assert.equal(c.sweep(), 1);
    assert.equal(c.stats().entries, 0);
    assert.equal(c.stats().bytes, 0);
  });

  it('does not store TTL 0 or negative TTLs', () => {
    const { c } = cache();
    c.putRRset(WWW, 1, 0, [ipv4('1.2.3.4')], RANK.ANSWER_AA);
    c.putRRset(WWW, 28, -1, [Buffer.alloc(16)], RANK.ANSWER_AA);
    c.putNxdomain(WWW, 0, null);
    c.putNodata(WWW, 15, 0, null);
    assert.equal(c.stats().entries, 0);
    assert.equal(c.stats().motion, 0);
  });

  it('does not store an empty RRset', () => {
    const { c } = cache();
    c.putRRset(WWW, 1, 60, [], RANK.ANSWER_AA);
    assert.equal(c.stats().entries, 0);
  });

  it('clampTtl: above 1e9 means 0, above a week means a week', () => {
    assert.equal(clampTtl(0), 0);
    assert.equal(clampTtl(300), 300);
    assert.equal(clampTtl(604800), 604800);
    assert.equal(clampTtl(604801), 604800);
    assert.equal(clampTtl(999_999_999), 604800);
    assert.equal(clampTtl(1_000_000_000), 604800);
    assert.equal(clampTtl(1_000_000_001), 0);
    assert.equal(clampTtl(0xffffffff), 0);
    assert.equal(MAX_TTL, 604800);
  });

  it('puts apply the clamp: huge TTLs are not stored', () => {
    const { c } = cache();
    c.putRRset(WWW, 1, 2_000_000_000, [ipv4('1.2.3.4')], RANK.ANSWER_AA);
    c.putNxdomain(WWW, 1_500_000_000, null);
    c.putNodata(WWW, 28, 0xffffffff, null);
    assert.equal(c.getRRset(WWW, 1), null);
    assert.equal(c.getNxdomain(WWW), null);
    assert.equal(c.getNodata(WWW, 28), null);
    assert.equal(c.stats().entries, 0);
  });

  it('puts apply the clamp: nothing lives longer than a week', () => {
    const { c, clock } = cache();
    c.putRRset(WWW, 1, 999_999_999, [ipv4('1.2.3.4')], RANK.ANSWER_AA);
    c.putNxdomain(n('nx.example.com'), 1_000_000, null);
    c.putNodata(WWW, 28, 700_000, soa);
    assert.equal(c.getRRset(WWW, 1)!.ttl, 604800);
    assert.equal(c.getNxdomain(n('nx.example.com'))!.ttl, 604800);
    clock.advance(604799);
    assert.equal(c.getRRset(WWW, 1)!.ttl, 1);
    assert.equal(c.getNodata(WWW, 28)!.ttl, 1);
    clock.advance(1);
    assert.equal(c.getRRset(WWW, 1), null);
    assert.equal(c.getNxdomain(n('nx.example.com')), null);
    assert.equal(c.getNodata(WWW, 28), null);
  });
});

describe('MINTTL and MAXTTL', () => {
  function limited(limits: TtlLimits): { c: Cache; clock: FakeClock } {
    const clock = new FakeClock();
    return { c: new Cache(1_000_000, clock.now, limits), clock };
  }

  it('MINTTL raises small RRset TTLs, 0 included, and keeps them that long', () => {
    const { c, clock } = limited({ min: 300, max: MAX_TTL });
    c.putRRset(WWW, 1, 0, [ipv4('1.2.3.4')], RANK.ANSWER_AA);
    c.putRRset(WWW, 28, 60, [Buffer.alloc(16)], RANK.ANSWER_AA);
    c.putRRset(n('big.example.com'), 1, 3600, [ipv4('1.2.3.5')], RANK.ANSWER_AA);
    assert.equal(c.getRRset(WWW, 1)!.ttl, 300);
    assert.equal(c.getRRset(WWW, 28)!.ttl, 300);
    assert.equal(c.getRRset(n('big.example.com'), 1)!.ttl, 3600);
    clock.advance(299);
    assert.equal(c.getRRset(WWW, 1)!.ttl, 1);
    clock.advance(1);
    assert.equal(c.getRRset(WWW, 1), null);
  });

  it('MINTTL also raises what dnscache reads as 0 (above 10⁹)', () => {
    const { c } = limited({ min: 30, max: MAX_TTL });
    c.putRRset(WWW, 1, 2_000_000_000, [ipv4('1.2.3.4')], RANK.ANSWER_AA);
    assert.equal(c.getRRset(WWW, 1)!.ttl, 30);
  });

  it('MINTTL raises negative answers too, a TTL of 0 (NODATA without SOA) included', () => {
    const { c } = limited({ min: 300, max: MAX_TTL });
    c.putNxdomain(WWW, 60, soa);
    c.putNodata(n('nodata.example.com'), 28, 45, soa);
    c.putNodata(n('zero.example.com'), 1, 0, null);
    assert.equal(c.getNxdomain(WWW)!.ttl, 300);
    assert.equal(c.getNodata(n('nodata.example.com'), 28)!.ttl, 300);
    assert.equal(c.getNodata(n('zero.example.com'), 1)!.ttl, 300);
  });

  it('MAXTTL lowers RRsets and negative answers alike', () => {
    const { c, clock } = limited({ min: 0, max: 600 });
    c.putRRset(WWW, 1, 3600, [ipv4('1.2.3.4')], RANK.ANSWER_AA);
    c.putRRset(WWW, 28, 60, [Buffer.alloc(16)], RANK.ANSWER_AA);
    c.putNxdomain(n('nx.example.com'), 3600, soa);
    c.putNodata(n('nodata.example.com'), 15, 900, soa);
    assert.equal(c.getRRset(WWW, 1)!.ttl, 600);
    assert.equal(c.getRRset(WWW, 28)!.ttl, 60);
    assert.equal(c.getNxdomain(n('nx.example.com'))!.ttl, 600);
    assert.equal(c.getNodata(n('nodata.example.com'), 15)!.ttl, 600);
    clock.advance(600);
    assert.equal(c.getRRset(WWW, 1), null);
    assert.equal(c.getNxdomain(n('nx.example.com')), null);
  });

  it('rrsetTtl and negativeTtl say what a put would keep', () => {
    const { c } = limited({ min: 10, max: 600 });
    assert.deepEqual(
      [0, 5, 10, 300, 600, 601, 700_000, 2_000_000_000].map((t) => c.rrsetTtl(t)),
      [10, 10, 10, 300, 600, 600, 600, 10],
    );
    assert.deepEqual(
      [0, 5, 300, 601, 2_000_000_000].map((t) => c.negativeTtl(t)),
      [10, 10, 300, 600, 10],
    );
    const plain = new Cache(1_000_000);
    assert.deepEqual(
      [0, 300, 700_000, 2_000_000_000].map((t) => plain.rrsetTtl(t)),
      [0, 300, MAX_TTL, 0],
      "dnscache's clamp alone by default",
    );
  });

  it('a restored entry lives at most MAXTTL from now', () => {
    const { c, clock } = limited({ min: 0, max: 600 });
    assert.equal(
      restore(c, {
        kind: 'rrset',
        name: WWW,
        type: 1,
        expires: clock.t + 86400,
        rdatas: [ipv4('1.2.3.4')],
        rank: RANK.ANSWER_AA,
        side: 'child',
      }),
      true,
    );
    assert.equal(c.getRRset(WWW, 1)!.ttl, 600);
  });
});

describe('negative entries', () => {
  it('NODATA and the RRset share a key: each replaces the other', () => {
    const { c } = cache();
    c.putNodata(WWW, 1, 60, soa);
    assert.deepEqual(c.getNodata(WWW, 1), { kind: 'nodata', ttl: 60, soa });
    assert.equal(c.getRRset(WWW, 1), null);
    c.putRRset(WWW, 1, 30, [ipv4('1.2.3.4')], RANK.ANSWER_AA);
    assert.equal(c.getNodata(WWW, 1), null);
    assert.equal(c.getRRset(WWW, 1)!.ttl, 30);
    assert.equal(c.stats().entries, 1);
    c.putNodata(WWW, 1, 60, null);
    assert.equal(c.getRRset(WWW, 1), null);
    assert.deepEqual(c.getNodata(WWW, 1), { kind: 'nodata', ttl: 60, soa: null });
    assert.equal(c.stats().entries, 1);
  });

  it('NODATA for one type leaves other types alone', () => {
    const { c } = cache();
    c.putRRset(WWW, 1, 60, [ipv4('1.2.3.4')], RANK.ANSWER_AA);
    c.putNodata(WWW, 28, 60, null);
    assert.ok(c.getRRset(WWW, 1));
    assert.ok(c.getNodata(WWW, 28));
    assert.equal(c.getNodata(WWW, 1), null);
    assert.equal(c.getRRset(WWW, 28), null);
  });

  it('NXDOMAIN is kept per name, with its SOA, until forgotten', () => {
    const { c, clock } = cache();
    c.putNxdomain(WWW, 300, soa);
    clock.advance(100);
    assert.deepEqual(c.getNxdomain(WWW), { kind: 'nxdomain', ttl: 200, soa });
    assert.equal(c.getNxdomain(n('example.com')), null);
    assert.equal(c.getNodata(WWW, 1), null);
    c.putRRset(WWW, 1, 60, [ipv4('1.2.3.4')], RANK.ANSWER_AA);
    assert.ok(c.getNxdomain(WWW), 'a separate key from the RRsets');
    c.forgetNxdomain(WWW);
    assert.equal(c.getNxdomain(WWW), null);
    assert.ok(c.getRRset(WWW, 1));
    c.forgetNxdomain(n('never.example.com')); // harmless
  });

  it('NXDOMAIN expires', () => {
    const { c, clock } = cache();
    c.putNxdomain(WWW, 30, null);
    clock.advance(30);
    assert.equal(c.getNxdomain(WWW), null);
  });
});

describe('reply entries', () => {
  it('are stored in their own slot until they expire', () => {
    const { c, clock } = cache();
    const e = reply(clock, 30, 77);
    c.putReply(WWW, 1, e);
    assert.deepEqual(held(c.getReply(WWW, 1)), held(e));
    assert.equal(c.getReply(WWW, 28), undefined);
    assert.equal(c.stats().bytes, 77);
    assert.equal(c.getRRset(WWW, 1), null);
    clock.advance(29);
    assert.deepEqual(held(c.getReply(WWW, 1)), held(e));
    clock.advance(1);
    assert.equal(c.getReply(WWW, 1), undefined);
    assert.equal(c.sweep(), 1);
    assert.equal(c.stats().entries, 0);
  });

  it('an already expired reply is not stored', () => {
    const { c, clock } = cache();
    c.putReply(WWW, 1, reply(clock, 0));
    assert.equal(c.stats().entries, 0);
  });

  it('getReply ignores entries of other kinds', () => {
    const { c } = cache();
    c.putRRset(WWW, 1, 60, [ipv4('1.2.3.4')], RANK.ANSWER_AA);
    assert.equal(c.getReply(WWW, 1), undefined);
  });
});

describe('sweep', () => {
  it('drops expired entries of every kind and frees their bytes', () => {
    const { c, clock } = cache();
    c.putRRset(WWW, 1, 10, [ipv4('1.2.3.4')], RANK.ANSWER_AA);
    c.putRRset(n('keep.example.com'), 1, 100, [ipv4('1.2.3.4')], RANK.ANSWER_AA);
    c.putNxdomain(n('nx.example.com'), 50, null);
    c.putNodata(WWW, 28, 20, null);
    c.putReply(WWW, 15, reply(clock, 60, 500));
    assert.equal(c.sweep(), 0);
    assert.equal(c.stats().entries, 5);
    clock.advance(60);
    assert.equal(c.sweep(), 4);
    assert.deepEqual(c.stats(), {
      entries: 1,
      bytes: 22 + 18 + 4,
      maxBytes: 1_000_000,
      motion: c.stats().motion,
      memory: 1 << 20,
      inserted: c.stats().inserted,
      evicted: 0,
    });
    assert.ok(c.getRRset(n('keep.example.com'), 1));
  });
});
