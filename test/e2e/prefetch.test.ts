// Prefetch: a cached answer asked for in the last tenth of its life is
// asked upstream again in the background, once, so the cache has it fresh
// before it expires. The engine's hit path with the real resolver against
// the lab over real sockets, the cache's clock in the test's hands.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Log, MemorySink } from '../../src/log/log';
import { Engine, Pending } from '../../src/server/engine';
import { TYPE } from '../../src/wire/constants';
import { nameFromText } from '../../src/wire/name';
import { Hierarchy } from '../lab/hierarchy';
import { a, ns, soa, zone } from '../lab/zone';
import { ManualClock } from '../clock';
import { rawQuery } from '../unit/helpers';
import { suiteScope } from './fixtures';
import { queriesSince, queryCounts, startTree } from './iterate-fixtures';
import { rig } from './rig';

const scope = suiteScope();
let h: Hierarchy;

before(async () => {
  h = await startTree(scope);
  const address = h.addr('example2');
  h.server('example2').zones.push(
    zone(
      'pf.test',
      soa('pf.test'),
      ns('pf.test', 'ns.pf.test'),
      a('ns.pf.test', address),
      a('www.pf.test', '192.0.2.190', 100),
    ),
  );
  for (const tld of ['tld1', 'tld2'])
    h.server(tld)
      .zones.find((z) => z.origin === 'test')!
      .records.push(ns('pf.test', 'ns.pf.test'), a('ns.pf.test', address));
});

describe('prefetch', () => {
  it("a hit in the last tenth of the answer's life refreshes it in the background, once", async () => {
    const clock = new ManualClock();
    const r = rig(h, { clock });
    const engine = new Engine(r.cache, r.resolver, new Log(new MemorySink()), false);
    const ask = async (): Promise<void> => {
      const handled = engine.handle(rawQuery('www.pf.test', TYPE.A), '127.0.0.1', 5353, 'u');
      if (handled instanceof Pending) await handled.reply;
      else assert.ok(Buffer.isBuffer(handled));
    };
    await ask(); // a miss: resolved, the reply kept 100 s
    clock.advance(50_000);
    await ask(); // a hit with half its life left
    assert.equal(r.resolver.counters.prefetches, 0);
    clock.advance(45_000);
    const mark = queryCounts(h);
    await ask(); // a hit with 5 s left
    await ask(); // and another while the refresh runs: no second one
    assert.equal(r.resolver.counters.prefetches, 1);
    const www = nameFromText('www.pf.test');
    for (let i = 0; i < 300 && (r.cache.getTyped(www, TYPE.A)?.ttl ?? 0) < 90; i++)
      await new Promise((res) => setTimeout(res, 10));
    assert.equal(r.cache.getTyped(www, TYPE.A)!.ttl, 100, 'the RRset lives a full TTL again');
    assert.deepEqual(queriesSince(h, mark), ['example2 udp www.pf.test/A'], "one query, to the zone's server");
  });
});
