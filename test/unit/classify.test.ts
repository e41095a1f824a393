import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classify as classifyScrubbed, MAX_NEGATIVE_TTL, negativeTtl, Verdict } from '../../src/resolve/classify';
import { scrub } from '../../src/resolve/scrub';
import { Message } from '../../src/wire/message';
import { Name } from '../../src/wire/name';
import { ResourceRecord } from '../../src/wire/message';
import { ROOT } from '../../src/wire/name';
import { ipv4, message, n, nameRdata, rr, soaRdata } from './helpers';

const WWW = n('www.example.com');
const EXAMPLE = n('example.com');
const COM = n('com');

const soa = (ttl: number, minimum: number, owner = 'example.com'): ResourceRecord =>
  rr(owner, 6, soaRdata({ minimum }), ttl);
const ns = (owner: string, target: string): ResourceRecord => rr(owner, 2, nameRdata(target), 172800);

/** Classification reads only scrubbed replies: these tests go through the scrubber (no servers/ entries). */
function classify(m: Message, name: Name, type: number, control: Name): Verdict {
  return classifyScrubbed(scrub(m, name, control, new Map()), name, type, control);
}

function kind<K extends Verdict['kind']>(v: Verdict, k: K): Extract<Verdict, { kind: K }> {
  assert.equal(v.kind, k, `verdict ${JSON.stringify(v)}`);
  return v as Extract<Verdict, { kind: K }>;
}

describe('classify: answers', () => {
  it('returns the records for the name and type, nothing else', () => {
    const want = [rr('www.example.com', 1, ipv4('192.0.2.1')), rr('www.example.com', 1, ipv4('192.0.2.2'))];
    const m = message({
      answer: [
        want[0]!,
        rr('other.example.com', 1, ipv4('6.6.6.6')),
        rr('www.example.com', 28, Buffer.alloc(16)),
        rr('www.example.com', 1, ipv4('7.7.7.7'), 60, 3),
        want[1]!,
      ],
      authority: [ns('example.com', 'ns1.example.com')],
    });
    assert.deepEqual(kind(classify(m, WWW, 1, EXAMPLE), 'answer').records, want);
  });

  it('ANY takes every type for the name', () => {
    const m = message({
      answer: [
        rr('www.example.com', 1, ipv4('192.0.2.1')),
        rr('www.example.com', 16, Buffer.from('\x01x')),
        rr('x.example.com', 1, ipv4('1.1.1.1')),
      ],
    });
    assert.equal(kind(classify(m, WWW, 255, EXAMPLE), 'answer').records.length, 2);
  });

  it('a CNAME question is answered by the CNAME', () => {
    const m = message({ answer: [rr('www.example.com', 5, nameRdata('web.example.com'))] });
    assert.equal(kind(classify(m, WWW, 5, EXAMPLE), 'answer').records.length, 1);
  });
});

describe('classify: DNAME (RFC 6672)', () => {
  const dname = rr('example.com', 39, nameRdata('example.net'), 3600);

  it('a DNAME above the name comes with the CNAME to follow', () => {
    const cname = rr('a.example.com', 5, nameRdata('a.example.net'), 3600);
    const v = kind(classify(message({ aa: true, answer: [dname, cname] }), n('a.example.com'), 1, ROOT), 'cname');
    assert.equal(v.target, n('a.example.net'));
    assert.equal(v.dname, dname);
    assert.equal(v.record, cname);
  });

  it('without the CNAME, the target is made from the DNAME', () => {
    const v = kind(classify(message({ aa: true, answer: [dname] }), n('a.b.example.com'), 1, ROOT), 'cname');
    assert.equal(v.target, n('a.b.example.net'));
    assert.equal(v.record.name, n('a.b.example.com'));
    assert.equal(v.dname, dname);
  });

  it('a question for the DNAME itself is answered by it', () => {
    assert.deepEqual(kind(classify(message({ aa: true, answer: [dname] }), EXAMPLE, 39, ROOT), 'answer').records, [
      dname,
    ]);
  });

  it('YXDOMAIN is an answer only with a DNAME whose substitution is too long', () => {
    const long = rr('long', 39, nameRdata(Array.from({ length: 4 }, () => 'x'.repeat(60)).join('.')), 3600);
    const name = n(`${'y'.repeat(10)}.long`);
    assert.equal(
      kind(classify(message({ rcode: 6, aa: true, answer: [long] }), name, 1, ROOT), 'yxdomain').dname,
      long,
    );
    assert.notEqual(
      classify(message({ rcode: 6, aa: true, answer: [dname] }), n('a.example.com'), 1, ROOT).kind,
      'yxdomain',
    );
  });
});

describe('classify: CNAME', () => {
  it('follows a CNAME for the name, with its clamped TTL', () => {
    const cname = rr('www.example.com', 5, nameRdata('Web.Example.com'), 700000);
    const m = message({ answer: [cname, rr('web.example.com', 1, ipv4('192.0.2.1'))] });
    const v = kind(classify(m, WWW, 1, EXAMPLE), 'cname');
    assert.equal(v.target, n('web.example.com'));
    assert.equal(v.ttl, 604800);
    assert.equal(v.record, cname);
  });

  it('the last CNAME wins', () => {
    const m = message({
      answer: [
        rr('www.example.com', 5, nameRdata('a.example.com')),
        rr('www.example.com', 5, nameRdata('b.example.com')),
      ],
    });
    assert.equal(kind(classify(m, WWW, 1, EXAMPLE), 'cname').target, n('b.example.com'));
  });

  it('takes precedence over NXDOMAIN (the target does not exist, the alias does)', () => {
    const m = message({
      rcode: 3,
      answer: [rr('www.example.com', 5, nameRdata('gone.example.com'))],
      authority: [soa(300, 300)],
    });
    assert.equal(kind(classify(m, WWW, 1, EXAMPLE), 'cname').target, n('gone.example.com'));
  });

  it('ignores CNAMEs of other names and classes', () => {
    const m = message({
      answer: [
        rr('x.example.com', 5, nameRdata('a.example.com')),
        rr('www.example.com', 5, nameRdata('b.example.com'), 60, 3),
      ],
      authority: [soa(60, 60)],
    });
    kind(classify(m, WWW, 1, EXAMPLE), 'nodata');
  });
});

describe('classify: NXDOMAIN', () => {
  it('without an SOA: negative TTL 0', () => {
    assert.deepEqual(classify(message({ rcode: 3 }), WWW, 1, EXAMPLE), { kind: 'nxdomain', soa: null, negativeTtl: 0 });
  });

  it('with an SOA: min(SOA TTL, MINIMUM, 3600)', () => {
    const cases: [number, number, number][] = [
      [7200, 86400, 3600],
      [300, 60, 60],
      [100, 3000, 100],
      [86400, 1800, 1800],
      [2_000_000_000, 300, 0], // an absurd TTL clamps to 0: not cached
      [0, 300, 0],
    ];
    for (const [ttl, minimum, expected] of cases) {
      const s = soa(ttl, minimum);
      const v = kind(classify(message({ rcode: 3, authority: [s] }), WWW, 1, EXAMPLE), 'nxdomain');
      assert.equal(v.negativeTtl, expected, `SOA TTL ${ttl} MINIMUM ${minimum}`);
      assert.equal(v.soa, s);
    }
  });

  it('uses the last usable SOA in the authority section', () => {
    const last = rr('example.com', 6, soaRdata({ minimum: 42 }), 600);
    const v = kind(classify(message({ rcode: 3, authority: [soa(600, 100), last] }), WWW, 1, EXAMPLE), 'nxdomain');
    assert.equal(v.soa, last);
    assert.equal(v.negativeTtl, 42);
  });

  it('ignores an SOA that is not IN, is truncated, or is not between the name and the zone asked', () => {
    const first = soa(600, 100);
    const bad = [
      rr('example.com', 6, soaRdata({ minimum: 42 }), 600, 255), // class ANY
      rr('example.com', 6, Buffer.alloc(10), 600), // RDATA too short for an SOA
      rr('victim.net', 6, soaRdata({ minimum: 42 }), 600), // out of bailiwick
      rr('other.example.com', 6, soaRdata({ minimum: 42 }), 600), // not above the name
      rr('com', 6, soaRdata({ minimum: 42 }), 600), // above the zone asked
    ];
    for (const b of bad) {
      const v = kind(classify(message({ rcode: 3, authority: [first, b] }), WWW, 1, EXAMPLE), 'nxdomain');
      assert.equal(v.soa, first, `kept ${b.name}`);
    }
    const none = kind(classify(message({ rcode: 3, authority: [bad[2]!] }), WWW, 1, EXAMPLE), 'nxdomain');
    assert.equal(none.soa, null);
    assert.equal(none.negativeTtl, 0);
  });

  it('is NXDOMAIN even when records for the name came along', () => {
    const m = message({ rcode: 3, answer: [rr('www.example.com', 1, ipv4('1.2.3.4'))] });
    kind(classify(m, WWW, 1, EXAMPLE), 'nxdomain');
  });
});

describe('classify: NODATA', () => {
  it('no answer and an SOA', () => {
    const s = soa(900, 600);
    assert.deepEqual(classify(message({ authority: [s] }), WWW, 28, EXAMPLE), {
      kind: 'nodata',
      soa: s,
      negativeTtl: 600,
    });
  });

  it('no answer, no SOA, no NS: empty NOERROR with negative TTL 0', () => {
    assert.deepEqual(classify(message({ answer: [rr('other.example.com', 1, ipv4('1.1.1.1'))] }), WWW, 1, EXAMPLE), {
      kind: 'nodata',
      soa: null,
      negativeTtl: 0,
    });
  });

  it('an SOA wins over NS records in authority', () => {
    kind(
      classify(message({ authority: [soa(60, 60), ns('www.example.com', 'ns.example.com')] }), WWW, 1, EXAMPLE),
      'nodata',
    );
  });
});

describe('classify: referrals', () => {
  it('NS below control and above the name is a referral', () => {
    const m = message({
      authority: [
        ns('other.com', 'x.example.net'),
        ns('example.com', 'a.iana-servers.net'),
        ns('example.com', 'B.iana-servers.net'),
      ],
      additional: [rr('a.iana-servers.net', 1, ipv4('199.43.135.53'))],
    });
    const v = kind(classify(m, WWW, 1, COM), 'referral');
    assert.equal(v.zone, EXAMPLE);
    assert.deepEqual(v.ns, [n('a.iana-servers.net'), n('b.iana-servers.net')]);
  });

  it('a referral may point exactly at the name', () => {
    const v = kind(
      classify(message({ authority: [ns('www.example.com', 'ns.www.example.com')] }), WWW, 1, EXAMPLE),
      'referral',
    );
    assert.equal(v.zone, WWW);
  });

  it('from the root servers to a TLD', () => {
    const v = kind(classify(message({ authority: [ns('com', 'a.gtld-servers.net')] }), WWW, 1, ROOT), 'referral');
    assert.equal(v.zone, COM);
    assert.deepEqual(v.ns, [n('a.gtld-servers.net')]);
  });

  it('ignores non-IN NS records', () => {
    const m = message({
      authority: [ns('example.com', 'ns1.example.com'), rr('example.com', 2, nameRdata('ns.chaos'), 60, 3)],
    });
    assert.deepEqual(kind(classify(m, WWW, 1, COM), 'referral').ns, [n('ns1.example.com')]);
  });
});

describe('classify: lame', () => {
  it('a referral to control itself', () => {
    assert.deepEqual(classify(message({ authority: [ns('com', 'a.gtld-servers.net')] }), WWW, 1, COM), {
      kind: 'lame',
      referral: COM,
    });
    assert.deepEqual(classify(message({ authority: [ns('.', 'a.root-servers.net')] }), WWW, 1, ROOT), {
      kind: 'lame',
      referral: ROOT,
    });
  });

  it('a referral upwards', () => {
    assert.deepEqual(classify(message({ authority: [ns('.', 'a.root-servers.net')] }), WWW, 1, EXAMPLE), {
      kind: 'lame',
      referral: ROOT,
    });
    assert.deepEqual(classify(message({ authority: [ns('com', 'a.gtld-servers.net')] }), WWW, 1, EXAMPLE), {
      kind: 'lame',
      referral: COM,
    });
  });

  it('a referral sideways: outside control', () => {
    assert.deepEqual(classify(message({ authority: [ns('example.net', 'ns.example.net')] }), WWW, 1, COM), {
      kind: 'lame',
      referral: n('example.net'),
    });
  });

  it('a referral sideways: below control but not above the name', () => {
    assert.deepEqual(classify(message({ authority: [ns('other.com', 'ns.other.com')] }), WWW, 1, COM), {
      kind: 'lame',
      referral: n('other.com'),
    });
    assert.deepEqual(
      classify(message({ authority: [ns('deeper.www.example.com', 'ns.example.com')] }), WWW, 1, EXAMPLE),
      {
        kind: 'lame',
        referral: n('deeper.www.example.com'),
      },
    );
  });

  it('follows a referral beside a stray NS set: the scrubber dropped the stray one', () => {
    const m = message({ authority: [ns('example.com', 'ns1.example.com'), ns('com', 'a.gtld-servers.net')] });
    assert.deepEqual(kind(classify(m, WWW, 1, COM), 'referral').ns, [n('ns1.example.com')]);
    kind(classify(message({ authority: [ns('com', 'a.gtld-servers.net')] }), WWW, 1, COM), 'lame');
  });

  it('an upward referral is lame even with AA set', () => {
    kind(classify(message({ aa: true, authority: [ns('.', 'a.root-servers.net')] }), WWW, 1, EXAMPLE), 'lame');
  });

  it("AA NOERROR with no answer and only the zone's own NS is NODATA (RFC 2308 type 3); without AA it is lame", () => {
    const own = [ns('example.com', 'ns1.example.com')];
    assert.equal(kind(classify(message({ aa: true, authority: own }), WWW, 1, EXAMPLE), 'nodata').soa, null);
    kind(classify(message({ authority: own }), WWW, 1, EXAMPLE), 'lame');
  });
});

describe('negativeTtl', () => {
  it('is 0 without an SOA and never above the cap', () => {
    assert.equal(negativeTtl(null), 0);
    assert.equal(MAX_NEGATIVE_TTL, 3600);
    assert.equal(negativeTtl(soa(604800, 604800)), 3600);
    assert.equal(negativeTtl(soa(3000, 0)), 0);
  });
});
