// The per-question work budget (resolve/budget.ts), exercised on the real
// resolver and fetcher against the lab hierarchy over real sockets: once a
// question has spent its outbound queries or its time, it gets SERVFAIL and
// not one more packet leaves for it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { realClock } from '../../src/platform/clock';
import { QUERY_TIME_LIMIT, rootContext, WorkBudget } from '../../src/resolve/budget';
import { RCODE, TYPE } from '../../src/wire/constants';
import { nameFromText } from '../../src/wire/name';
import { ManualClock } from '../clock';
import { Hierarchy } from '../lab/hierarchy';
import { suiteScope } from './fixtures';
import { startTree } from './iterate-fixtures';
import { rig } from './rig';

function labQueries(h: Hierarchy): number {
  let n = 0;
  for (const s of h.servers.values()) n += s.queries.length;
  return n;
}

describe('work budget', async () => {
  const scope = suiteScope();
  const h = await startTree(scope);
  const glueless = nameFromText('www.glueless.test');

  it('a question within budget is answered; one query short of it, SERVFAIL with exactly the budget sent', async () => {
    const full = rig(h);
    const ok = await full.resolver.resolveIn(
      glueless,
      TYPE.A,
      rootContext(TYPE.A + '/' + glueless, new WorkBudget(realClock, realClock.now() + 5000, 50)),
    );
    assert.equal(ok.rcode, RCODE.NOERROR);
    const needed = full.sent();
    assert.ok(needed >= 4, `a glueless delegation needs several queries (sent ${needed})`);

    h.resetQueries();
    const short = rig(h);
    const budget = new WorkBudget(realClock, realClock.now() + 5000, needed - 1);
    const failed = await short.resolver.resolveIn(glueless, TYPE.A, rootContext('test', budget));
    assert.equal(failed.rcode, RCODE.SERVFAIL);
    assert.equal(short.sent(), needed - 1, 'stops at the budget, not before');
    assert.equal(budget.exhaustedBy, 'query budget');
    // The failure is remembered (RFC 9520): asked again at once, with a full
    // budget, it is SERVFAIL without a query (it would spend the same again).
    const again = await short.resolver.resolveIn(glueless, TYPE.A, rootContext('again', WorkBudget.start(realClock)));
    assert.equal(again.rcode, RCODE.SERVFAIL);
    assert.equal(short.sent(), needed - 1);
    // The lab saw exactly what we sent: nothing leaked past the budget.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(labQueries(h), needed - 1);
  });

  it('the default budget caps a question at 50 upstream queries', async () => {
    // attack.nxns.test delegates to 30 glueless names: without the per-referral
    // and per-question caps this would fan out to dozens of lookups.
    const r = rig(h);
    const budget = WorkBudget.start(realClock);
    const answer = await r.resolver.resolveIn(
      nameFromText('www.attack.nxns.test'),
      TYPE.A,
      rootContext('test', budget),
    );
    assert.equal(answer.rcode, RCODE.SERVFAIL);
    assert.ok(r.sent() <= 50, `sent ${r.sent()}`);
    assert.equal(budget.sent, r.sent());
  });

  it('a question whose time is up gets SERVFAIL and sends nothing more', async () => {
    const clock = new ManualClock();
    const r = rig(h, { clock });
    const budget = new WorkBudget(clock, clock.now() + 300, 50);
    let settled = false;
    const answering = r.resolver
      .resolveIn(nameFromText('www.alldead.test'), TYPE.A, rootContext('test', budget))
      .finally(() => (settled = true));
    await clock.run(299);
    assert.equal(settled, false, 'still at work before its time is up');
    await clock.run(11); // a try's timeout fires up to one 10 ms tick late
    const answer = await answering;
    assert.equal(answer.rcode, RCODE.SERVFAIL);
    assert.equal(budget.spent, true);
    const after = r.sent();
    await clock.run(QUERY_TIME_LIMIT, 100);
    assert.equal(r.sent(), after, 'no query after the deadline');
  });
});
