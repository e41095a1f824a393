// Serve-stale (RFC 8767) on the real resolver against the lab over real
// sockets, with the clock (so the cache's age, the background retry and the
// client response timer) in the test's hands: expired data is answered with TTL 30 when resolution fails, one
// retry is scheduled, and fresh data replaces it once the servers answer.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { QUERY_TIME_LIMIT } from '../../src/resolve/budget';
import { CLIENT_RESPONSE_MS } from '../../src/resolve/resolver';
import { RCODE, TYPE } from '../../src/wire/constants';
import { nameFromText } from '../../src/wire/name';
import { Answer } from '../../src/wire/answer';
import { Hierarchy } from '../lab/hierarchy';
import { a, LabRecord, ns, soa, zone } from '../lab/zone';
import { ManualClock } from '../clock';
import { suiteScope, waitFor } from './fixtures';
import { startTree } from './iterate-fixtures';
import { Rig, rig } from './rig';

const scope = suiteScope();
let h: Hierarchy;
const WWW = 'www.st.test';
let record: LabRecord;

before(async () => {
  h = await startTree(scope);
  const address = h.addr('example2');
  record = a(WWW, '192.0.2.180', 5);
  h.server('example2').zones.push(
    zone('st.test', soa('st.test'), ns('st.test', 'ns.st.test'), a('ns.st.test', address), record),
  );
  for (const tld of ['tld1', 'tld2'])
    h.server(tld)
      .zones.find((z) => z.origin === 'test')!
      .records.push(ns('st.test', 'ns.st.test'), a('ns.st.test', address));
});

const view = (answer: Answer): string[] => answer.answer.map((r) => `${r.ttl} ${[...r.rdata].join('.')}`);

/** Waits (at most 5 s) until the cache holds fresh data for www.st.test: the background retry has landed. */
async function freshData(r: Rig): Promise<void> {
  for (let i = 0; i < 500 && r.cache.getTyped(nameFromText(WWW), TYPE.A) === null; i++)
    await new Promise((res) => setTimeout(res, 10));
}

describe('serve-stale', () => {
  it('answers expired data with TTL 30 when every server fails, retries once in the background, then serves fresh data', async () => {
    const clock = new ManualClock();
    const r = rig(h, { clock, stale: 86400 });
    assert.deepEqual(view(await r.ask(WWW, TYPE.A)), ['5 192.0.2.180']);
    clock.advance(10_000);
    const example2 = h.server('example2');
    example2.behaviour = 'servfail';
    try {
      const stale = await r.ask(WWW, TYPE.A);
      assert.equal(stale.rcode, RCODE.NOERROR);
      assert.deepEqual(view(stale), ['30 192.0.2.180']);
      assert.equal(stale.lifetime, 30, 'the stale reply is kept 30 s, no longer');
      assert.equal(r.resolver.counters.stale, 1);
      assert.equal(clock.timers, 1, 'the retry waits, and nothing else');
      // Asked again while the failure is remembered: stale again, and no second retry.
      assert.deepEqual(view(await r.ask(WWW, TYPE.A)), ['30 192.0.2.180']);
      assert.equal(clock.timers, 1);
    } finally {
      example2.behaviour = 'answer';
    }
    record.data = '192.0.2.181';
    clock.advance(29_999);
    assert.equal(clock.timers, 1, 'the retry waits STALE_TTL');
    clock.advance(1);
    await freshData(r);
    assert.deepEqual(view(await r.ask(WWW, TYPE.A)), ['5 192.0.2.181']);
  });

  it('gives SERVFAIL once the data is older than STALE, and with STALE=0', async () => {
    for (const [stale, age] of [
      [100, 200],
      [0, 10],
    ] as const) {
      const clock = new ManualClock();
      const r = rig(h, { clock, stale });
      assert.equal((await r.ask(WWW, TYPE.A)).rcode, RCODE.NOERROR);
      clock.advance(age * 1000);
      h.server('example2').behaviour = 'servfail';
      try {
        assert.equal((await r.ask(WWW, TYPE.A)).rcode, RCODE.SERVFAIL, `STALE=${stale}, ${age} s later`);
        assert.equal(r.resolver.counters.stale, 0);
      } finally {
        h.server('example2').behaviour = 'answer';
      }
    }
  });

  it('a client waits at most 1.8 s for a fresh answer, then gets the stale one (RFC 8767 client response timer)', async () => {
    const clock = new ManualClock();
    const r = rig(h, { clock, stale: 86400 });
    const fresh = await r.resolver.resolve(nameFromText(WWW), TYPE.A);
    const data = view(fresh)[0]!.split(' ')[1]!;
    assert.equal(clock.timers, 0, 'no timer while the answer was there');
    clock.advance(10_000);
    const example2 = h.server('example2');
    example2.behaviour = 'silent';
    try {
      let settled = false;
      const waiting = r.resolver.resolve(nameFromText(WWW), TYPE.A).finally(() => (settled = true));
      // Until the query has reached the silent server, nothing is on the clock but the timer and the try.
      await waitFor(
        'the query to reach the silent server',
        () => (example2.queries.some((q) => q.name.toLowerCase() === WWW) ? true : undefined),
        5000,
        10,
      );
      await new Promise((res) => setImmediate(res));
      assert.equal(settled, false);
      // One advance: the tries time out on the way, but their failure reaches
      // the resolver through promises, after the timer has answered.
      clock.advance(CLIENT_RESPONSE_MS);
      const stale = await waiting;
      assert.deepEqual(view(stale), [`30 ${data}`]);
      assert.equal(stale.lifetime, 0, 'not kept as a reply: the fresh answer may come any moment');
      assert.equal(r.resolver.counters.stale, 1);
    } finally {
      example2.behaviour = 'answer';
      // The resolution goes on: let its time run out, so no try's socket outlives the test.
      await clock.run(QUERY_TIME_LIMIT, 100);
    }
  });

  it('the sweep keeps expired entries for STALE, then drops them', () => {
    const clock = new ManualClock();
    const r = rig(h, { clock, stale: 100 });
    r.cache.putRRset(nameFromText('x.st.test'), TYPE.A, 5, [Buffer.from([192, 0, 2, 1])], 5);
    clock.advance(50_000);
    assert.equal(r.cache.sweep(), 0);
    assert.ok(r.cache.getTyped(nameFromText('x.st.test'), TYPE.A, true));
    clock.advance(60_000);
    assert.equal(r.cache.sweep(), 1);
  });
});
