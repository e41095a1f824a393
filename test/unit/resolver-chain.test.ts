// How the resolver writes chains: a CNAME loop is answered SERVFAIL with the
// chain that loops; a DNAME standing above several names of one chain is
// sent once; YXDOMAIN goes to the client with its DNAME.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cache, RANK } from '../../src/cache/cache';
import { MemorySink, Log } from '../../src/log/log';
import { realClock } from '../../src/platform/clock';
import { Verdict } from '../../src/resolve/classify';
import { Fetched, Fetcher, Resolver } from '../../src/resolve/resolver';
import { RCODE } from '../../src/wire/constants';
import { nameToText } from '../../src/wire/name';
import { ipv4, n, nameRdata, rr } from './helpers';

const NOTHING = { rcode: 0, aa: true, answer: [], authority: [], additional: [], strayNs: null };

/** One verdict per name; CNAMEs and answers stored as the fetchers' learn() does. */
class StubFetcher implements Fetcher {
  constructor(
    private readonly cache: Cache,
    private readonly verdicts: Map<string, Verdict>,
  ) {}
  async fetch(name: string): Promise<Fetched> {
    const v = this.verdicts.get(name);
    if (!v) return { kind: 'failed', reason: 'no verdict' };
    if (v.kind === 'cname') this.cache.putRRset(v.record.name, v.record.type, v.ttl, [v.record.rdata], RANK.ANSWER_AA);
    if (v.kind === 'answer')
      this.cache.putRRset(
        v.records[0]!.name,
        v.records[0]!.type,
        v.records[0]!.ttl,
        v.records.map((r) => r.rdata),
        RANK.ANSWER_AA,
      );
    return { kind: 'verdict', verdict: v, server: '127.0.0.1', reply: NOTHING };
  }
}

function resolver(verdicts: Array<[string, Verdict]>): Resolver {
  const cache = new Cache(1_000_000);
  return new Resolver(
    cache,
    new StubFetcher(cache, new Map(verdicts.map(([name, v]) => [n(name), v]))),
    new Log(new MemorySink()),
    realClock,
  );
}

const owners = (records: readonly { name: string; type: number }[]): string[] =>
  records.map((r) => `${nameToText(r.name as never)} ${r.type}`);

describe('resolver: chains', () => {
  it('a CNAME loop is SERVFAIL with the chain that loops', async () => {
    const dname = rr('example.com', 39, nameRdata('example.com'));
    const cname = rr('cyc.example.com', 5, nameRdata('cyc.example.com'));
    const r = resolver([
      ['cyc.example.com', { kind: 'cname', target: n('cyc.example.com'), ttl: 300, record: cname, dname }],
    ]);
    const a = await r.resolve(n('cyc.example.com'), 1);
    assert.equal(a.rcode, RCODE.SERVFAIL);
    assert.deepEqual(owners(a.answer), ['example.com. 39', 'cyc.example.com. 5']);
    assert.equal(a.lifetime, 0);
  });

  it('a DNAME above two names of one chain is sent once', async () => {
    const dname = rr('x', 39, nameRdata('.'));
    const r = resolver([
      [
        'shortloop.x.x',
        {
          kind: 'cname',
          target: n('shortloop.x'),
          ttl: 300,
          record: rr('shortloop.x.x', 5, nameRdata('shortloop.x')),
          dname,
        },
      ],
      [
        'shortloop.x',
        {
          kind: 'cname',
          target: n('shortloop'),
          ttl: 300,
          record: rr('shortloop.x', 5, nameRdata('shortloop')),
          dname,
        },
      ],
      ['shortloop', { kind: 'answer', records: [rr('shortloop', 1, ipv4('192.0.2.1'))] }],
    ]);
    const a = await r.resolve(n('shortloop.x.x'), 1);
    assert.equal(a.rcode, RCODE.NOERROR);
    assert.deepEqual(owners(a.answer), ['x. 39', 'shortloop.x.x. 5', 'shortloop.x. 5', 'shortloop. 1']);
  });

  it('YXDOMAIN reaches the client with its DNAME, and is not kept', async () => {
    const dname = rr('long', 39, nameRdata('a.b'));
    const r = resolver([['too.long', { kind: 'yxdomain', dname }]]);
    const a = await r.resolve(n('too.long'), 1);
    assert.equal(a.rcode, RCODE.YXDOMAIN);
    assert.deepEqual(owners(a.answer), ['long. 39']);
    assert.equal(a.lifetime, 0);
  });
});
