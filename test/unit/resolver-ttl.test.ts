// The TTLs an answer shows when it is built from a fresh upstream reply:
// the same as the cache keeps the records for, MINTTL and MAXTTL included,
// so a client sees no jump between the first answer and a cached one.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cache, MAX_TTL, RANK, TtlLimits } from '../../src/cache/cache';
import { MemorySink, Log } from '../../src/log/log';
import { Verdict } from '../../src/resolve/classify';
import { Fetched, Fetcher, Resolver } from '../../src/resolve/resolver';
import { realClock } from '../../src/platform/clock';
import { Answer } from '../../src/wire/answer';
import { FakeClock, ipv4, n, nameRdata, rr, soaRdata } from './helpers';

const A = 1;
const WWW = n('www.example.test');

/** Gives one verdict per name, storing answer records as the fetchers' learn() does. */
class StubFetcher implements Fetcher {
  constructor(
    private readonly cache: Cache,
    private readonly verdicts: Map<string, Verdict>,
  ) {}
  async fetch(name: string): Promise<Fetched> {
    const verdict = this.verdicts.get(name);
    if (!verdict) return { kind: 'failed', reason: 'no verdict' };
    if (verdict.kind === 'answer')
      this.cache.putRRset(
        verdict.records[0]!.name,
        verdict.records[0]!.type,
        verdict.records[0]!.ttl,
        verdict.records.map((r) => r.rdata),
        RANK.ANSWER_AA,
      );
    if (verdict.kind === 'cname')
      this.cache.putRRset(
        verdict.record.name,
        verdict.record.type,
        verdict.ttl,
        [verdict.record.rdata],
        RANK.ANSWER_AA,
      );
    return {
      kind: 'verdict',
      verdict,
      server: '127.0.0.1',
      reply: { rcode: 0, aa: true, answer: [], authority: [], additional: [], strayNs: null },
    };
  }
}

function resolver(
  limits: TtlLimits,
  verdicts: Array<[string, Verdict]>,
): { r: Resolver; cache: Cache; clock: FakeClock } {
  const clock = new FakeClock();
  const cache = new Cache(1_000_000, clock.now, limits);
  return {
    r: new Resolver(
      cache,
      new StubFetcher(cache, new Map(verdicts.map(([name, v]) => [n(name), v]))),
      new Log(new MemorySink()),
      realClock,
    ),
    cache,
    clock,
  };
}

const ttls = (a: Answer): number[] => [...a.answer, ...a.authority].map((r) => r.ttl);

describe('answer TTLs under MINTTL and MAXTTL', () => {
  it('a record with TTL 0 is served with MINTTL, fresh and from the cache, and the reply may be kept that long', async () => {
    const { r, clock } = resolver({ min: 300, max: MAX_TTL }, [
      ['www.example.test', { kind: 'answer', records: [rr('www.example.test', A, ipv4('192.0.2.1'), 0)] }],
    ]);
    const fresh = await r.resolve(WWW, A);
    assert.deepEqual(ttls(fresh), [300]);
    assert.equal(fresh.lifetime, 300);
    clock.advance(100);
    assert.deepEqual(ttls(await r.resolve(WWW, A)), [200]);
  });

  it('a record above MAXTTL is served with MAXTTL; a CNAME chain too', async () => {
    const { r } = resolver({ min: 0, max: 600 }, [
      [
        'alias.example.test',
        {
          kind: 'cname',
          target: WWW,
          ttl: 86400,
          record: rr('alias.example.test', 5, nameRdata('www.example.test'), 86400),
          dname: null,
        },
      ],
      ['www.example.test', { kind: 'answer', records: [rr('www.example.test', A, ipv4('192.0.2.1'), 3600)] }],
    ]);
    const a = await r.resolve(n('alias.example.test'), A);
    assert.deepEqual(ttls(a), [600, 600]);
    assert.equal(a.lifetime, 600);
  });

  it("a negative answer's SOA is lowered by MAXTTL and raised by MINTTL, as the cache keeps it", async () => {
    const soa = rr('example.test', 6, soaRdata(), 900);
    const { r } = resolver({ min: 120, max: 600 }, [
      ['gone.example.test', { kind: 'nxdomain', soa, negativeTtl: 900 }],
      ['short.example.test', { kind: 'nodata', soa, negativeTtl: 30 }],
    ]);
    assert.deepEqual(ttls(await r.resolve(n('gone.example.test'), A)), [600]);
    assert.deepEqual(ttls(await r.resolve(n('short.example.test'), A)), [120]);
  });

  it('without MINTTL and MAXTTL, TTLs are as dnscache clamps them', async () => {
    const { r } = resolver({ min: 0, max: MAX_TTL }, [
      ['www.example.test', { kind: 'answer', records: [rr('www.example.test', A, ipv4('192.0.2.1'), 700_000)] }],
    ]);
    assert.deepEqual(ttls(await r.resolve(WWW, A)), [MAX_TTL]);
  });
});
