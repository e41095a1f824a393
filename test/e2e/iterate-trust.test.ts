// What the iterator believes, and how it recovers, against zones built the
// way real ones are: the in-process resolver (rig.ts) with a clock the test
// moves, walking the lab tree over real sockets. Each case is one of the
// failures the trust ranking, the scrubber and the delegation point's
// parent-side fallback were built for; the last two pin where a glueless
// lookup starts and when it happens (spec Part B §12.7, §12.8).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RCODE, TYPE } from '../../src/wire/constants';
import { nameFromText } from '../../src/wire/name';
import { Hierarchy } from '../lab/hierarchy';
import { a, LabRecord, ns, soa, zone } from '../lab/zone';
import { ManualClock } from '../clock';
import { suiteScope } from './fixtures';
import { queryCounts, queriesSince, startTree } from './iterate-fixtures';
import { rig } from './rig';

const scope = suiteScope();
let h: Hierarchy;

/** Serves zone `origin` from `role`, delegated from the test TLD with NS ns.<origin> and its glue. */
function delegate(origin: string, role: string, records: LabRecord[], ttls: { ns?: number; glue?: number } = {}): void {
  const nsName = `ns.${origin}`;
  const address = h.addr(role);
  h.server(role).zones.push(
    zone(origin, soa(origin), ns(origin, nsName, ttls.ns), a(nsName, address, ttls.glue), ...records),
  );
  for (const tld of ['tld1', 'tld2']) {
    h.server(tld)
      .zones.find((z) => z.origin === 'test')!
      .records.push(ns(origin, nsName, ttls.ns), a(nsName, address, ttls.glue));
  }
}

function addresses(answer: { answer: readonly { type: number; rdata: Buffer }[] }): string[] {
  return answer.answer.filter((r) => r.type === TYPE.A).map((r) => [...r.rdata].join('.'));
}

before(async () => {
  h = await startTree(scope);
  // z.test: the zone's NS set lives 300 s, its server's address 3 s (glue and answer alike).
  delegate('z.test', 'example2', [a('www.z.test', '192.0.2.150'), a('mail.z.test', '192.0.2.151')], {
    ns: 300,
    glue: 3,
  });
  // t.test: its server will answer without AA and claim the zone for an impostor.
  delegate('t.test', 'example1', [a('www.t.test', '192.0.2.160'), a('mail.t.test', '192.0.2.161')]);
  // dn.test: a DNAME to example.test at its apex (RFC 6672).
  delegate('dn.test', 'example2', [{ name: 'dn.test', type: 'DNAME', data: 'example.test' }]);
  // n3.test: its server will answer NODATA with only the zone's NS (RFC 2308 type 3).
  delegate('n3.test', 'example1', [a('www.n3.test', '192.0.2.170')]);
  // mixed.test: two NS names, one with glue (example2) and one glueless (ns.provider.example, which does not serve it).
  h.server('example2').zones.push(
    zone(
      'mixed.test',
      soa('mixed.test'),
      ns('mixed.test', 'ns.mixed.test'),
      ns('mixed.test', 'ns.provider.example'),
      a('ns.mixed.test', h.addr('example2')),
      a('www.mixed.test', '192.0.2.180'),
    ),
  );
  for (const tld of ['tld1', 'tld2']) {
    h.server(tld)
      .zones.find((z) => z.origin === 'test')!
      .records.push(
        ns('mixed.test', 'ns.mixed.test'),
        ns('mixed.test', 'ns.provider.example'),
        a('ns.mixed.test', h.addr('example2')),
      );
  }
  // ca.test and cb.test: each one's only name server is in the other, no glue.
  for (const tld of ['tld1', 'tld2']) {
    h.server(tld)
      .zones.find((z) => z.origin === 'test')!
      .records.push(ns('ca.test', 'ns.cb.test'), ns('cb.test', 'ns.ca.test'));
  }
});

after(() => {
  for (const role of ['example1', 'tld1', 'tld2']) {
    h.server(role).behaviour = 'answer';
    h.server(role).inject = undefined;
  }
});

describe('iterator: trust and recovery', () => {
  it("a zone outlives its name server's address: the parent is asked again for the glue", async () => {
    const clock = new ManualClock();
    const r = rig(h, { clock });
    assert.deepEqual(addresses(await r.ask('www.z.test', TYPE.A)), ['192.0.2.150']);
    clock.advance(10_000); // ns.z.test A (3 s) is gone; the NS set (300 s) is not
    assert.equal(r.cache.getRRset(nameFromText('ns.z.test'), TYPE.A), null);
    assert.ok(r.cache.getRRset(nameFromText('z.test'), TYPE.NS));
    const mark = queryCounts(h);
    const answer = await r.ask('mail.z.test', TYPE.A);
    assert.equal(answer.rcode, RCODE.NOERROR, r.sink.lines.slice(-20).join('\n'));
    assert.deepEqual(addresses(answer), ['192.0.2.151']);
    const since = queriesSince(h, mark);
    assert.ok(
      since.some((q) => /^tld[12] udp mail\.z\.test\/A$/.test(q)),
      since.join('\n'),
    );
    assert.ok(
      since.some((q) => /^example2 udp mail\.z\.test\/A$/.test(q)),
      since.join('\n'),
    );
  });

  it("a non-authoritative reply from the zone's own server cannot hand the zone to another server", async () => {
    const example1 = h.server('example1');
    example1.behaviour = 'non-authoritative';
    example1.inject = {
      authority: [ns('t.test', 'ns.evil.t.test')],
      additional: [a('ns.evil.t.test', h.addr('evil'))],
    };
    const r = rig(h);
    const evilBefore = h.server('evil').queries.length;
    // The answer itself is believed (ranked below an authoritative one); the NS set it carries is not.
    assert.deepEqual(addresses(await r.ask('www.t.test', TYPE.A)), ['192.0.2.160']);
    const cached = r.cache.getRRset(nameFromText('t.test'), TYPE.NS)!;
    assert.deepEqual(
      cached.rdatas.map((x) => x.toString('latin1')),
      [nameFromText('ns.t.test')],
    );
    assert.deepEqual(addresses(await r.ask('mail.t.test', TYPE.A)), ['192.0.2.161']);
    assert.equal(h.server('evil').queries.length, evilBefore, 'the impostor is never asked');
    assert.equal(r.cache.getRRset(nameFromText('ns.evil.t.test'), TYPE.A), null, 'its address is not cached either');
    example1.behaviour = 'answer';
    example1.inject = undefined;
  });

  it('an address in a referral for a name that is not one of its NS names is never served', async () => {
    for (const tld of ['tld1', 'tld2']) h.server(tld).inject = { additional: [a('ghost.example.test', '192.0.2.66')] };
    const r = rig(h);
    assert.deepEqual(addresses(await r.ask('www.example.test', TYPE.A)), ['192.0.2.80']);
    assert.equal(r.cache.getRRset(nameFromText('ghost.example.test'), TYPE.A), null);
    const ghost = await r.ask('ghost.example.test', TYPE.A);
    assert.equal(ghost.rcode, RCODE.NXDOMAIN);
    assert.deepEqual(addresses(ghost), []);
    for (const tld of ['tld1', 'tld2']) h.server(tld).inject = undefined;
  });

  it("a cycle through the client's own question ends in SERVFAIL without waiting for anything", async () => {
    const r = rig(h);
    const started = performance.now();
    const answer = await r.ask('ns.ca.test', TYPE.A);
    const took = performance.now() - started;
    assert.equal(answer.rcode, RCODE.SERVFAIL);
    // Every server involved answers at once: only a wait on itself (7 s before) could make this slow.
    assert.ok(took < 1000, `took ${Math.round(took)} ms`);
    assert.ok(r.sent() <= 12, `sent ${r.sent()}`);
  });

  it('QUERY_LOCALHOST=0: addresses learned from the DNS in 127/8 are never asked; servers/ entries are', async () => {
    // The whole lab is on loopback: the roots (servers/@) answer, every server they refer to is passed over.
    const r = rig(h, { queryLocalhost: false });
    const mark = queryCounts(h);
    const answer = await r.ask('www.example.test', TYPE.A);
    assert.equal(answer.rcode, RCODE.SERVFAIL);
    const since = queriesSince(h, mark);
    assert.ok(since.length > 0);
    assert.deepEqual(
      since.filter((q) => !/^root[12] /.test(q)),
      [],
      since.join('\n'),
    );
  });

  it('a DNAME is sent with the CNAME it makes; the next name below it is made from the cache', async () => {
    const r = rig(h);
    const www = await r.ask('www.dn.test', TYPE.A);
    assert.equal(www.rcode, RCODE.NOERROR);
    assert.deepEqual(
      www.answer.map((x) => x.type),
      [TYPE.DNAME, TYPE.CNAME, TYPE.A],
    );
    assert.deepEqual(addresses(www), ['192.0.2.80']);
    const mark = queryCounts(h);
    const mail = await r.ask('mail.dn.test', TYPE.A);
    assert.deepEqual(
      mail.answer.map((x) => x.type),
      [TYPE.DNAME, TYPE.CNAME, TYPE.A],
    );
    assert.deepEqual(addresses(mail), ['192.0.2.25']);
    const since = queriesSince(h, mark);
    assert.ok(!since.some((q) => /dn\.test/.test(q)), `no server was asked about mail.dn.test: ${since.join(', ')}`);
  });

  it("an authoritative NODATA with only the zone's own NS (RFC 2308 type 3) is NODATA, not a lame server", async () => {
    const example1 = h.server('example1');
    example1.behaviour = 'nodata-ns-only';
    try {
      const r = rig(h);
      const mark = queryCounts(h);
      const answer = await r.ask('www.n3.test', TYPE.TXT);
      assert.equal(answer.rcode, RCODE.NOERROR);
      assert.deepEqual(answer.answer, []);
      assert.ok(!r.sink.lines.some((l) => l.startsWith('lame ')), r.sink.lines.join('\n'));
      assert.equal(queriesSince(h, mark).filter((q) => q.startsWith('example1 ')).length, 1, 'asked once, believed');
    } finally {
      example1.behaviour = 'answer';
    }
  });
});

describe('iterator: where a lookup starts, and whom it asks first (spec Part B §12.7, §12.8)', () => {
  const nsLookups = (since: string[]): string[] => since.filter((q) => /ns\.provider\.example\//.test(q));

  it("a glueless NS name's lookup starts at the closest cached delegation, not at the root", async () => {
    const r = rig(h);
    // Caches the delegation of provider.example (from the example TLD).
    assert.equal((await r.ask('ns1.provider.example', TYPE.A)).rcode, RCODE.NOERROR);
    assert.ok(r.cache.getRRset(nameFromText('provider.example'), TYPE.NS));
    const mark = queryCounts(h);
    // glueless.test's only NS is ns.provider.example: its address needs a lookup inside this resolution.
    assert.deepEqual(addresses(await r.ask('www.glueless.test', TYPE.A)), ['192.0.2.10']);
    const since = queriesSince(h, mark);
    assert.deepEqual(nsLookups(since), ['provider udp ns.provider.example/A'], since.join('\n'));
  });

  it("a delegation's known addresses are asked before any glueless NS name is looked up; the lookup comes only when they fail", async () => {
    // Every time, whichever order the NS set comes in: the glued server answers, nothing is looked up.
    for (let i = 0; i < 5; i++) {
      const r = rig(h);
      const mark = queryCounts(h);
      assert.deepEqual(addresses(await r.ask('www.mixed.test', TYPE.A)), ['192.0.2.180']);
      const since = queriesSince(h, mark);
      assert.deepEqual(nsLookups(since), [], since.join('\n'));
      assert.ok(since.includes('example2 udp www.mixed.test/A'), since.join('\n'));
    }
    // The glued server refuses: only now is the other NS name looked up, and its server asked.
    const example2 = h.server('example2');
    example2.behaviour = 'refused';
    try {
      const r = rig(h);
      const mark = queryCounts(h);
      await r.ask('www.mixed.test', TYPE.A);
      const since = queriesSince(h, mark);
      assert.ok(since.includes('example2 udp www.mixed.test/A'), since.join('\n'));
      assert.ok(nsLookups(since).length > 0, since.join('\n'));
      assert.ok(since.includes('provider udp www.mixed.test/A'), since.join('\n'));
    } finally {
      example2.behaviour = 'answer';
    }
  });
});
