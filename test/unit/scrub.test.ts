import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RRset, rrsetsOf } from '../../src/resolve/rrsets';
import { scrub as scrubReply } from '../../src/resolve/scrub';
import { Message } from '../../src/wire/message';
import { closestServers, sameServersZone, ServerTable } from '../../src/resolve/zones';
import { Endpoint } from '../../src/transport/udp';
import { Name, nameToText, ROOT } from '../../src/wire/name';
import { ipv4, message, mxRdata, n, nameRdata, rr, soaRdata } from './helpers';

const server = (address: string): Endpoint => ({ address, port: 53, family: 4 });
const ROOTS: readonly Endpoint[] = [server('198.41.0.4')];
const SUB: readonly Endpoint[] = [server('10.9.9.9')];

/** `@` plus a servers/sub.example.com entry (a locally configured sub-zone). */
const TABLE: ServerTable = new Map<Name, readonly Endpoint[]>([
  [ROOT, ROOTS],
  [n('sub.example.com'), SUB],
]);

/** The kept sets as "owner type [rdata…] ttl" strings, in output order. */
function sets(out: readonly RRset[]): string[] {
  return out.map(
    (s) =>
      `${nameToText(s.name).replace(/\.$/, '')} ${s.type} ${s.rdatas.map((r) => r.toString('hex')).join(',')} ${s.ttl}`,
  );
}

const hex = (ip: string): string => ipv4(ip).toString('hex');

/**
 * What the cache learns (the child's side) from `m`, the reply to `qname`
 * from the servers of `control`. Most tests here ask about www.example.com;
 * those about grouping and order ask ANY-like questions of the owner.
 */
function scrub(
  m: Message,
  control: Name,
  table: ServerTable,
  qname: Name = n('www.example.com'),
  referral = false,
): RRset[] {
  return rrsetsOf(scrubReply(m, qname, control, table), referral).filter((s) => s.side === 'child');
}

const A = 1;
const NS = 2;

describe('scrub: bailiwick', () => {
  it('keeps records at or below control in every section', () => {
    const m = message({
      aa: true,
      answer: [rr('www.example.com', 1, ipv4('192.0.2.1'))],
      authority: [rr('example.com', 2, nameRdata('ns1.example.com'), 3600)],
      additional: [rr('ns1.example.com', 1, ipv4('192.0.2.53'), 3600)],
    });
    assert.deepEqual(sets(scrub(m, n('example.com'), TABLE)), [
      `ns1.example.com 1 ${hex('192.0.2.53')} 3600`,
      `www.example.com 1 ${hex('192.0.2.1')} 300`,
      `example.com 2 ${nameRdata('ns1.example.com').toString('hex')} 3600`,
    ]);
  });

  it('drops poisoning attempts outside control from answer, authority and additional', () => {
    const m = message({
      aa: true,
      answer: [rr('www.example.com', 1, ipv4('192.0.2.1')), rr('www.bank.com', 1, ipv4('6.6.6.6'))],
      authority: [
        rr('example.com', 2, nameRdata('ns1.example.com')),
        rr('com', 2, nameRdata('ns.evil.net')),
        rr('bank.com', 2, nameRdata('ns.evil.net')),
        rr('.', 2, nameRdata('ns.evil.net')),
      ],
      additional: [
        rr('ns.evil.net', 1, ipv4('6.6.6.6')),
        rr('ns1.example.com', 1, ipv4('192.0.2.53')),
        rr('bexample.com', 1, ipv4('6.6.6.6')),
      ],
    });
    const out = scrub(m, n('example.com'), TABLE);
    assert.deepEqual(
      out.map((s) => s.name).sort(),
      [n('example.com'), n('ns1.example.com'), n('www.example.com')].sort(),
    );
    for (const s of out) assert.ok(!s.rdatas.some((r) => r.equals(ipv4('6.6.6.6'))));
  });

  it('keeps glue below a TLD but not glue for other TLDs (com servers referring example.com)', () => {
    const m = message({
      authority: [
        rr('example.com', 2, nameRdata('ns1.example.com'), 172800),
        rr('example.com', 2, nameRdata('ns.example.net'), 172800),
      ],
      additional: [
        rr('ns1.example.com', 1, ipv4('192.0.2.53'), 172800),
        rr('ns.example.net', 1, ipv4('198.51.100.53'), 172800),
      ],
    });
    const out = scrub(m, n('com'), TABLE);
    assert.deepEqual(
      out.map((s) => [s.name, s.type, s.rdatas.length]),
      [
        [n('ns1.example.com'), 1, 1],
        [n('example.com'), 2, 2],
      ],
    );
  });

  it('drops records under another servers/ entry (roots_same)', () => {
    const m = message({
      aa: true,
      answer: [rr('www.example.com', 1, ipv4('192.0.2.1'))],
      authority: [rr('sub.example.com', 2, nameRdata('ns.evil.net'))],
      additional: [rr('www.sub.example.com', 1, ipv4('6.6.6.6'))],
    });
    const out = scrub(m, n('example.com'), TABLE);
    assert.deepEqual(
      out.map((s) => s.name),
      [n('www.example.com')],
    );
    // Even the root servers (control ".") cannot speak for the configured sub-zone.
    const fromRoot = scrub(
      message({ aa: true, answer: [rr('www.sub.example.com', 1, ipv4('6.6.6.6'))] }),
      ROOT,
      TABLE,
      n('www.sub.example.com'),
    );
    assert.deepEqual(fromRoot, []);
  });

  it("accepts the sub-zone's records from the sub-zone's own servers", () => {
    const m = message({
      aa: true,
      answer: [rr('www.sub.example.com', 1, ipv4('10.1.1.1'))],
      authority: [rr('sub.example.com', 2, nameRdata('ns.sub.example.com'))],
      additional: [rr('www.example.com', 1, ipv4('6.6.6.6'))],
    });
    const out = scrub(m, n('sub.example.com'), TABLE, n('www.sub.example.com'));
    assert.deepEqual(
      out.map((s) => s.name),
      [n('www.sub.example.com'), n('sub.example.com')],
    );
  });

  it('treats names with no servers/ entry at all alike (no @ file)', () => {
    const table: ServerTable = new Map([[n('sub.example.com'), SUB]]);
    const m = message({
      answer: [rr('www.example.com', 5, nameRdata('x.sub.example.com')), rr('x.sub.example.com', 1, ipv4('6.6.6.6'))],
    });
    assert.deepEqual(
      scrub(m, n('example.com'), table).map((s) => s.name),
      [n('www.example.com')],
    );
  });
});

describe('scrub: what the reply is about', () => {
  it('keeps only the answer chain from the question: unrelated answer records are dropped', () => {
    const m = message({
      aa: true,
      answer: [
        rr('www.example.com', 5, nameRdata('web.example.com')),
        rr('other.example.com', 1, ipv4('6.6.6.6')),
        rr('web.example.com', 1, ipv4('192.0.2.1')),
      ],
    });
    // In log order: the A (type 1) before the CNAME (type 5).
    assert.deepEqual(
      scrub(m, n('example.com'), TABLE).map((s) => s.name),
      [n('web.example.com'), n('www.example.com')],
    );
  });

  it('keeps a DNAME above the question and the records of the name it leads to', () => {
    const m = message({
      aa: true,
      answer: [
        rr('example.com', 39, nameRdata('example.net')),
        rr('a.example.com', 5, nameRdata('a.example.net')),
        rr('b.example.com', 1, ipv4('6.6.6.6')),
      ],
    });
    const r = scrubReply(m, n('a.example.com'), ROOT, TABLE);
    assert.deepEqual(
      r.answer.map((x) => [x.name, x.type]),
      [
        [n('example.com'), 39],
        [n('a.example.com'), 5],
      ],
    );
  });

  it('drops unrelated addresses from the additional section: glue is only for the NS names kept', () => {
    const m = message({
      authority: [rr('y.z.test', 2, nameRdata('ns1.y.z.test'))],
      additional: [
        rr('ns1.y.z.test', 1, ipv4('192.0.2.53')),
        rr('ns.y.z.test', 1, ipv4('6.6.6.6')),
        rr('www.y.z.test', 1, ipv4('6.6.6.7')),
      ],
    });
    const r = scrubReply(m, n('www.y.z.test'), n('z.test'), TABLE);
    assert.deepEqual(
      r.additional.map((x) => x.name),
      [n('ns1.y.z.test')],
    );
  });

  it("a non-authoritative reply cannot restate the asked zone's NS set; an authoritative one can", () => {
    const authority = [rr('example.com', 2, nameRdata('ns.impostor.example.com'))];
    const additional = [rr('ns.impostor.example.com', 1, ipv4('6.6.6.6'))];
    const noAa = scrubReply(message({ authority, additional }), n('www.example.com'), n('example.com'), TABLE);
    assert.deepEqual(noAa.authority, []);
    assert.deepEqual(noAa.additional, []);
    assert.equal(noAa.strayNs, n('example.com'));
    const aa = scrubReply(message({ aa: true, authority, additional }), n('www.example.com'), n('example.com'), TABLE);
    assert.equal(aa.authority.length, 1);
    assert.equal(aa.strayNs, null);
  });

  it('an NS set above or beside the asked zone is dropped and reported (a lame server)', () => {
    const up = scrubReply(
      message({ authority: [rr('.', 2, nameRdata('a.root-servers.net'))] }),
      n('www.example.com'),
      n('example.com'),
      TABLE,
    );
    assert.deepEqual(up.authority, []);
    assert.equal(up.strayNs, ROOT);
    const sideways = scrubReply(
      message({ authority: [rr('other.com', 2, nameRdata('ns.other.com'))] }),
      n('www.example.com'),
      n('com'),
      TABLE,
    );
    assert.equal(sideways.strayNs, n('other.com'));
  });
});

describe('rrsets: ranks (RFC 2181 §5.4.1)', () => {
  const rankOf = (out: RRset[], name: string, type: number): number | undefined =>
    out.find((s) => s.name === n(name) && s.type === type)?.rank;

  it('ranks answers by AA, authority below answers, glue lowest', () => {
    const m = (aa: boolean): Message =>
      message({
        aa,
        answer: [rr('www.example.com', 1, ipv4('192.0.2.1'))],
        authority: [rr('example.com', 2, nameRdata('ns1.example.com'))],
        additional: [rr('ns1.example.com', 1, ipv4('192.0.2.53'))],
      });
    const aa = scrub(m(true), n('example.com'), TABLE);
    assert.deepEqual(
      [rankOf(aa, 'www.example.com', A), rankOf(aa, 'example.com', NS), rankOf(aa, 'ns1.example.com', A)],
      [5, 3, 1],
    );
    const plain = scrub(m(false), n('com'), TABLE);
    assert.deepEqual([rankOf(plain, 'www.example.com', A), rankOf(plain, 'ns1.example.com', A)], [4, 1]);
  });

  it("a referral's NS set and glue are also kept on the parent's side", () => {
    const m = message({
      authority: [rr('example.com', 2, nameRdata('ns1.example.com'))],
      additional: [rr('ns1.example.com', 1, ipv4('192.0.2.53'))],
    });
    const all = rrsetsOf(scrubReply(m, n('www.example.com'), n('com'), TABLE), true);
    assert.deepEqual(
      all.map((s) => `${nameToText(s.name)} ${s.type} ${s.side} ${s.rank}`),
      [
        'ns1.example.com. 1 child 1',
        'ns1.example.com. 1 parent 2',
        'example.com. 2 child 2',
        'example.com. 2 parent 2',
      ],
    );
  });
});

describe('scrub: what is never cached', () => {
  it('drops non-IN records', () => {
    const m = message({
      answer: [
        rr('www.example.com', 16, Buffer.from('\x03abc'), 60, 3),
        rr('www.example.com', 1, ipv4('1.2.3.4'), 60, 255),
        rr('www.example.com', 1, ipv4('1.2.3.5'), 60, 1),
      ],
    });
    assert.deepEqual(sets(scrub(m, n('example.com'), TABLE)), [`www.example.com 1 ${hex('1.2.3.5')} 60`]);
  });

  it('does not cache SOA, ANY, AXFR, IXFR, MAILA, MAILB or OPT', () => {
    const m = message({
      answer: [252, 251, 253, 254, 255, 41].map((t) => rr('www.example.com', t, Buffer.alloc(2))),
      authority: [rr('example.com', 6, soaRdata())],
    });
    assert.deepEqual(scrub(m, n('example.com'), TABLE), []);
  });

  it('drops A records whose RDATA is not 4 bytes and AAAA not 16, keeping the good ones', () => {
    const m = message({
      answer: [
        rr('www.example.com', 1, Buffer.from([1, 2, 3, 4, 5])),
        rr('www.example.com', 1, Buffer.from([1, 2, 3])),
        rr('www.example.com', 1, ipv4('1.2.3.4')),
        rr('www.example.com', 28, ipv4('1.2.3.4')),
        rr('www.example.com', 28, Buffer.alloc(16, 0x20)),
      ],
    });
    assert.deepEqual(sets(scrub(m, n('example.com'), TABLE)), [
      `www.example.com 1 ${hex('1.2.3.4')} 300`,
      `www.example.com 28 ${'20'.repeat(16)} 300`,
    ]);
  });
});

describe('rrsets: grouping', () => {
  it('keeps only the last CNAME of an owner, with the TTL of the first', () => {
    const m = message({
      answer: [
        rr('www.example.com', 5, nameRdata('a.example.com'), 100),
        rr('www.example.com', 5, nameRdata('b.example.com'), 200),
      ],
    });
    const [s, ...rest] = scrub(m, n('example.com'), TABLE);
    assert.equal(rest.length, 0);
    assert.deepEqual(s!.rdatas, [nameRdata('b.example.com')]);
    assert.equal(s!.ttl, 100);
    assert.equal(s!.records.length, 1);
    assert.equal(s!.records[0]!.ttl, 200);
  });

  it('removes duplicate records (same A in answer and additional), ranked by the better section', () => {
    const m = message({
      aa: true,
      answer: [rr('ns1.example.com', 1, ipv4('192.0.2.53')), rr('ns1.example.com', 1, ipv4('192.0.2.54'))],
      authority: [rr('example.com', 2, nameRdata('ns1.example.com'))],
      additional: [rr('ns1.example.com', 1, ipv4('192.0.2.53')), rr('ns1.example.com', 1, ipv4('192.0.2.55'))],
    });
    const [s] = scrub(m, n('example.com'), TABLE, n('ns1.example.com'));
    assert.deepEqual(s!.rdatas, [ipv4('192.0.2.53'), ipv4('192.0.2.54'), ipv4('192.0.2.55')]);
    assert.equal(s!.records.length, 3);
    assert.equal(s!.rank, 5);
  });

  it('groups one owner and type across sections, in packet order', () => {
    const m = message({
      aa: true,
      answer: [
        rr('example.com', 2, nameRdata('ns2.example.com'), 50),
        rr('example.com', 15, mxRdata(10, 'mx.example.com')),
      ],
      authority: [rr('example.com', 2, nameRdata('ns1.example.com'), 60)],
    });
    const out = scrub(m, n('example.com'), TABLE, n('example.com'));
    assert.equal(out.length, 2);
    assert.deepEqual(out[0]!.rdatas, [nameRdata('ns2.example.com'), nameRdata('ns1.example.com')]);
    assert.equal(out[0]!.ttl, 50);
    assert.equal(out[1]!.type, 15);
  });

  it('sorts as dnscache logs: type, then owner length, then owner bytes', () => {
    const m = message({
      aa: true,
      answer: [
        rr('example.com', 15, mxRdata(1, 'a.example.com')),
        rr('example.com', 16, Buffer.from('\x01x')),
        rr('example.com', 2, nameRdata('ns.example.com')),
      ],
      authority: [rr('example.com', 2, nameRdata('ns.example.com'))],
      additional: [rr('ns.example.com', 1, ipv4('2.2.2.2'))],
    });
    const out = scrub(m, n('example.com'), TABLE, n('example.com'));
    assert.deepEqual(
      out.map((s) => `${s.type} ${s.name.length} ${s.name.slice(1, s.name.charCodeAt(0) + 1)}`),
      ['1 16 ns', '2 13 example', '15 13 example', '16 13 example'],
    );
  });

  it('clamps the TTL of the first record only', () => {
    const one = (first: number): RRset[] =>
      scrub(
        message({
          answer: [rr('www.example.com', 1, ipv4('1.1.1.1'), first), rr('www.example.com', 1, ipv4('2.2.2.2'), 60)],
        }),
        n('example.com'),
        TABLE,
      );
    assert.equal(one(2_000_000_000)[0]!.ttl, 0);
    assert.equal(one(700000)[0]!.ttl, 604800);
    assert.equal(one(0)[0]!.ttl, 0, 'a TTL of 0 stays 0 (so it is never stored)');
  });
});

describe('zones', () => {
  it('closestServers finds the nearest enclosing servers/ entry', () => {
    assert.deepEqual(closestServers(TABLE, n('a.b.sub.example.com')), { zone: n('sub.example.com'), servers: SUB });
    assert.deepEqual(closestServers(TABLE, n('sub.example.com')), { zone: n('sub.example.com'), servers: SUB });
    assert.deepEqual(closestServers(TABLE, n('example.com')), { zone: ROOT, servers: ROOTS });
    assert.deepEqual(closestServers(TABLE, n('xsub.example.com')), { zone: ROOT, servers: ROOTS });
    assert.deepEqual(closestServers(TABLE, ROOT), { zone: ROOT, servers: ROOTS });
  });

  it('closestServers is null without an @ entry above the name', () => {
    const table: ServerTable = new Map([[n('sub.example.com'), SUB]]);
    assert.equal(closestServers(table, n('example.com')), null);
    assert.equal(closestServers(table, ROOT), null);
    assert.equal(closestServers(new Map(), n('x')), null);
  });

  it('sameServersZone compares the closest entries', () => {
    assert.equal(sameServersZone(TABLE, n('www.example.com'), n('example.com')), true);
    assert.equal(sameServersZone(TABLE, n('www.example.com'), ROOT), true);
    assert.equal(sameServersZone(TABLE, n('www.sub.example.com'), n('example.com')), false);
    assert.equal(sameServersZone(TABLE, n('www.sub.example.com'), n('sub.example.com')), true);
    const none: ServerTable = new Map([[n('sub.example.com'), SUB]]);
    assert.equal(sameServersZone(none, n('a.example'), n('b.example')), true);
    assert.equal(sameServersZone(TABLE, n('sub.example.com'), n('sub.example.com')), true);
    assert.equal(sameServersZone(none, n('www.sub.example.com'), n('example.com')), false);
    assert.equal(sameServersZone(none, n('example.com'), n('www.sub.example.com')), false);
  });

  it('sameServersZone of nested names (its short cut) agrees with comparing closestServers', () => {
    const names = [
      '',
      'com',
      'example.com',
      'sub.example.com',
      'a.sub.example.com',
      'b.a.sub.example.com',
      'xsub.example.com',
      'org',
      'example.org',
    ].map((x) => (x === '' ? ROOT : n(x)));
    const zones = [ROOT, n('com'), n('sub.example.com'), n('b.a.sub.example.com'), n('example.org')];
    // Every subset of the zones as a servers/ table.
    for (let mask = 0; mask < 1 << zones.length; mask++) {
      const table: ServerTable = new Map(zones.filter((_, i) => mask & (1 << i)).map((z) => [z, SUB]));
      for (const a of names) {
        for (const b of names) {
          const slow = closestServers(table, a)?.zone === closestServers(table, b)?.zone;
          assert.equal(sameServersZone(table, a, b), slow, `table ${[...table.keys()].join(',')} a ${a} b ${b}`);
        }
      }
    }
  });
});
