import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RRset, scrub } from '../../src/resolve/scrub';
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
  return out.map((s) => `${nameToText(s.name).replace(/\.$/, '')} ${s.type} ${s.rdatas.map((r) => r.toString('hex')).join(',')} ${s.ttl}`);
}

const hex = (ip: string): string => ipv4(ip).toString('hex');

describe('scrub: bailiwick', () => {
  it('keeps records at or below control in every section', () => {
    const m = message({
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
      answer: [rr('www.example.com', 1, ipv4('192.0.2.1')), rr('www.bank.com', 1, ipv4('6.6.6.6'))],
      authority: [
        rr('example.com', 2, nameRdata('ns1.example.com')),
        rr('com', 2, nameRdata('ns.evil.net')),
        rr('bank.com', 2, nameRdata('ns.evil.net')),
        rr('.', 2, nameRdata('ns.evil.net')),
      ],
      additional: [rr('ns.evil.net', 1, ipv4('6.6.6.6')), rr('ns1.example.com', 1, ipv4('192.0.2.53')), rr('bexample.com', 1, ipv4('6.6.6.6'))],
    });
    const out = scrub(m, n('example.com'), TABLE);
    assert.deepEqual(out.map((s) => s.name).sort(), [n('example.com'), n('ns1.example.com'), n('www.example.com')].sort());
    for (const s of out) assert.ok(!s.rdatas.some((r) => r.equals(ipv4('6.6.6.6'))));
  });

  it('keeps glue below a TLD but not glue for other TLDs (com servers referring example.com)', () => {
    const m = message({
      authority: [rr('example.com', 2, nameRdata('ns1.example.com'), 172800), rr('example.com', 2, nameRdata('ns.example.net'), 172800)],
      additional: [rr('ns1.example.com', 1, ipv4('192.0.2.53'), 172800), rr('ns.example.net', 1, ipv4('198.51.100.53'), 172800)],
    });
    const out = scrub(m, n('com'), TABLE);
    assert.deepEqual(out.map((s) => [s.name, s.type, s.rdatas.length]), [
      [n('ns1.example.com'), 1, 1],
      [n('example.com'), 2, 2],
    ]);
  });

  it('drops records under another servers/ entry (roots_same)', () => {
    const m = message({
      answer: [rr('www.example.com', 1, ipv4('192.0.2.1'))],
      authority: [rr('sub.example.com', 2, nameRdata('ns.evil.net'))],
      additional: [rr('www.sub.example.com', 1, ipv4('6.6.6.6')), rr('notsub.example.com', 1, ipv4('192.0.2.2'))],
    });
    const out = scrub(m, n('example.com'), TABLE);
    assert.deepEqual(out.map((s) => s.name), [n('www.example.com'), n('notsub.example.com')]);
    // Even the root servers (control ".") cannot speak for the configured sub-zone.
    const fromRoot = scrub(m, ROOT, TABLE);
    assert.deepEqual(fromRoot.map((s) => s.name), [n('www.example.com'), n('notsub.example.com')]);
  });

  it("accepts the sub-zone's records from the sub-zone's own servers", () => {
    const m = message({
      answer: [rr('www.sub.example.com', 1, ipv4('10.1.1.1'))],
      authority: [rr('sub.example.com', 2, nameRdata('ns.sub.example.com'))],
      additional: [rr('www.example.com', 1, ipv4('6.6.6.6'))],
    });
    const out = scrub(m, n('sub.example.com'), TABLE);
    assert.deepEqual(out.map((s) => s.name), [n('www.sub.example.com'), n('sub.example.com')]);
  });

  it('treats names with no servers/ entry at all alike (no @ file)', () => {
    const table: ServerTable = new Map([[n('sub.example.com'), SUB]]);
    const m = message({ answer: [rr('www.example.com', 1, ipv4('192.0.2.1')), rr('x.sub.example.com', 1, ipv4('6.6.6.6'))] });
    assert.deepEqual(scrub(m, n('example.com'), table).map((s) => s.name), [n('www.example.com')]);
  });
});

describe('scrub: what is never cached', () => {
  it('drops non-IN records', () => {
    const m = message({
      answer: [rr('www.example.com', 16, Buffer.from('\x03abc'), 60, 3), rr('www.example.com', 1, ipv4('1.2.3.4'), 60, 255), rr('www.example.com', 1, ipv4('1.2.3.5'), 60, 1)],
    });
    assert.deepEqual(sets(scrub(m, n('example.com'), TABLE)), [`www.example.com 1 ${hex('1.2.3.5')} 60`]);
  });

  it('does not cache SOA, ANY, AXFR, IXFR, MAILA, MAILB or OPT', () => {
    const m = message({
      answer: [252, 251, 253, 254, 255, 41].map((t) => rr('example.com', t, Buffer.alloc(2))),
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
        rr('v6.example.com', 28, Buffer.alloc(16, 0x20)),
      ],
    });
    assert.deepEqual(sets(scrub(m, n('example.com'), TABLE)), [`www.example.com 1 ${hex('1.2.3.4')} 300`, `v6.example.com 28 ${'20'.repeat(16)} 300`]);
  });
});

describe('scrub: grouping', () => {
  it('keeps only the last CNAME of an owner, with the TTL of the first', () => {
    const m = message({
      answer: [rr('www.example.com', 5, nameRdata('a.example.com'), 100), rr('www.example.com', 5, nameRdata('b.example.com'), 200)],
    });
    const [s, ...rest] = scrub(m, n('example.com'), TABLE);
    assert.equal(rest.length, 0);
    assert.deepEqual(s!.rdatas, [nameRdata('b.example.com')]);
    assert.equal(s!.ttl, 100);
    assert.equal(s!.records.length, 1);
    assert.equal(s!.records[0]!.ttl, 200);
  });

  it('removes duplicate records (same A in answer and additional)', () => {
    const m = message({
      answer: [rr('ns1.example.com', 1, ipv4('192.0.2.53')), rr('ns1.example.com', 1, ipv4('192.0.2.54'))],
      additional: [rr('ns1.example.com', 1, ipv4('192.0.2.53')), rr('ns1.example.com', 1, ipv4('192.0.2.55'))],
    });
    const [s] = scrub(m, n('example.com'), TABLE);
    assert.deepEqual(s!.rdatas, [ipv4('192.0.2.53'), ipv4('192.0.2.54'), ipv4('192.0.2.55')]);
    assert.equal(s!.records.length, 3);
  });

  it('groups one owner and type across sections, in packet order', () => {
    const m = message({
      answer: [rr('example.com', 2, nameRdata('ns2.example.com'), 50)],
      authority: [rr('example.com', 2, nameRdata('ns1.example.com'), 60), rr('example.com', 15, mxRdata(10, 'mx.example.com'))],
      additional: [rr('example.com', 2, nameRdata('ns3.example.com'), 70)],
    });
    const out = scrub(m, n('example.com'), TABLE);
    assert.equal(out.length, 2);
    assert.deepEqual(out[0]!.rdatas, [nameRdata('ns2.example.com'), nameRdata('ns1.example.com'), nameRdata('ns3.example.com')]);
    assert.equal(out[0]!.ttl, 50);
    assert.equal(out[1]!.type, 15);
  });

  it("sorts as dnscache logs: type, then owner length, then owner bytes", () => {
    const m = message({
      answer: [
        rr('mx.example.com', 15, mxRdata(1, 'a.example.com')),
        rr('bb.example.com', 1, ipv4('1.1.1.1')),
        rr('example.com', 2, nameRdata('ns.example.com')),
        rr('b.example.com', 1, ipv4('2.2.2.2')),
        rr('a.example.com', 1, ipv4('3.3.3.3')),
        rr('longer.example.com', 1, ipv4('4.4.4.4')),
        rr('example.com', 16, Buffer.from('\x01x')),
        rr('aa.example.com', 1, ipv4('5.5.5.5')),
      ],
    });
    const out = scrub(m, n('example.com'), TABLE);
    assert.deepEqual(
      out.map((s) => `${s.type} ${s.name.length} ${s.name.slice(1, s.name.charCodeAt(0) + 1)}`),
      ['1 15 a', '1 15 b', '1 16 aa', '1 16 bb', '1 20 longer', '2 13 example', '15 16 mx', '16 13 example'],
    );
  });

  it('clamps the TTL of the first record only', () => {
    const huge = scrub(message({ answer: [rr('x.example.com', 1, ipv4('1.1.1.1'), 2_000_000_000), rr('x.example.com', 1, ipv4('2.2.2.2'), 60)] }), n('example.com'), TABLE);
    assert.equal(huge[0]!.ttl, 0);
    const week = scrub(message({ answer: [rr('x.example.com', 1, ipv4('1.1.1.1'), 700000), rr('x.example.com', 1, ipv4('2.2.2.2'), 60)] }), n('example.com'), TABLE);
    assert.equal(week[0]!.ttl, 604800);
    const small = scrub(message({ answer: [rr('x.example.com', 1, ipv4('1.1.1.1'), 0), rr('x.example.com', 1, ipv4('2.2.2.2'), 60)] }), n('example.com'), TABLE);
    assert.equal(small[0]!.ttl, 0, 'glue with TTL 0 stays 0 (so it is never stored)');
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
    const names = ['', 'com', 'example.com', 'sub.example.com', 'a.sub.example.com', 'b.a.sub.example.com', 'xsub.example.com', 'org', 'example.org'].map((x) => (x === '' ? ROOT : n(x)));
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
