// The pure parts of live inspection and control: the ring's top lists and
// RCODEs, request parsing of the new commands, rule targets, merging the
// workers' answers, and the rule book's prefix rules and suffix index.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ruleTarget } from '../../src/control/commands';
import { mergeAnswers } from '../../src/control/fanout';
import { parseRequest, RequestError } from '../../src/control/protocol';
import { lastLabels, RecentQueries } from '../../src/control/recent';
import { DROP, PASS, REFUSE, RuleBook } from '../../src/rules/book';
import { mergeServerRows, ServerRow } from '../../src/transport/pools';
import { nameToText } from '../../src/wire/name';
import { n } from './helpers';

describe('recent questions: dnsdist-style top lists', () => {
  it('top queries by their last K labels, top clients, top rcodes (a reply the ring moved past is forgotten)', () => {
    const ring = new RecentQueries(8);
    const serials = ['a.x.attack.test', 'b.x.attack.test', 'c.attack.test', 'www.ok.test'].map((name, i) =>
      ring.record(`10.0.0.${i % 2}`, 1, n(name)),
    );
    ring.answered(serials[0]!, 2);
    ring.answered(serials[1]!, 2);
    ring.answered(serials[3]!, 0);
    assert.equal(nameToText(lastLabels(n('a.x.attack.test'), 2)), 'attack.test.');
    assert.equal(nameToText(lastLabels(n('test'), 2)), 'test.');
    assert.deepEqual(ring.topList({ kind: 'queries', labels: 2 }).rows, [
      { key: 'attack.test.', count: 3 },
      { key: 'ok.test.', count: 1 },
    ]);
    assert.deepEqual(ring.topList({ kind: 'clients', limit: 1 }).rows, [{ key: '10.0.0.0', count: 2 }]);
    assert.deepEqual(ring.topList({ kind: 'rcodes', rcode: 2, labels: 3 }).rows, [{ key: 'x.attack.test.', count: 2 }]);
    for (let i = 0; i < 8; i++) ring.record('10.0.0.9', 1, n('later.test'));
    ring.answered(serials[2]!, 3);
    assert.deepEqual(
      ring.topList({ kind: 'rcodes', rcode: 3 }).rows,
      [],
      'slot reused: the late RCODE is not written over it',
    );
  });
});

describe('control requests', () => {
  it('parses top lists, latency, block, limit, unblock, rules', () => {
    assert.deepEqual(parseRequest('{"cmd":"top","what":"queries","limit":5,"labels":2}'), {
      cmd: 'top',
      what: 'queries',
      limit: 5,
      labels: 2,
    });
    assert.deepEqual(parseRequest('{"cmd":"top","what":"rcodes","rcode":2}'), { cmd: 'top', what: 'rcodes', rcode: 2 });
    assert.deepEqual(parseRequest('{"cmd":"top","what":"clients","labels":2}'), { cmd: 'top', what: 'clients' });
    assert.deepEqual(parseRequest('{"cmd":"latency"}'), { cmd: 'latency' });
    assert.deepEqual(parseRequest('{"cmd":"block","target":"example.com","seconds":60}'), {
      cmd: 'block',
      target: 'example.com',
      seconds: 60,
    });
    assert.deepEqual(parseRequest('{"cmd":"limit","target":"192.0.2","qps":50}'), {
      cmd: 'limit',
      target: '192.0.2',
      qps: 50,
    });
    assert.deepEqual(parseRequest('{"cmd":"unblock","target":"192.0.2"}'), { cmd: 'unblock', target: '192.0.2' });
    for (const [line, re] of [
      ['{"cmd":"top","what":"rcodes"}', /"rcode" \(0 to 254\) is needed/],
      ['{"cmd":"top","what":"names"}', /"what" must be one of queries, clients, rcodes/],
      ['{"cmd":"limit","target":"x"}', /limit: "qps" must be an integer from 1 to 10000000/],
      ['{"cmd":"block","target":"x","seconds":0}', /"seconds" must be an integer from 1 to 604800/],
      ['{"cmd":"server","address":"127.0.0.1","state":"off"}', /"state" must be one of up, down, auto/],
    ] as const) {
      assert.throws(
        () => parseRequest(line),
        (e: Error) => e instanceof RequestError && re.test(e.message),
        line,
      );
    }
  });

  it('a rule target is a client prefix as ip/ names it, else a suffix', () => {
    assert.deepEqual(ruleTarget('192.0.2'), { kind: 'prefix', prefix: '192.0.2', shown: '192.0.2' });
    assert.deepEqual(ruleTarget('2001:DB8'), { kind: 'prefix', prefix: '2001:db8', shown: '2001:db8' });
    assert.deepEqual(ruleTarget('Example.COM'), { kind: 'suffix', name: n('example.com'), shown: 'example.com.' });
    assert.equal(ruleTarget('10.').kind, 'suffix', 'a trailing dot makes a numeric name');
    assert.throws(() => ruleTarget('10.01'), /not an IPv4 prefix/);
    assert.throws(() => ruleTarget('1::g'), /not an IPv6 prefix/);
  });
});

describe("merging the workers' answers", () => {
  const row = (over: Partial<ServerRow>): ServerRow => ({
    address: '127.0.0.1:53',
    pool: '@',
    state: 'up',
    forced: 'auto',
    policy: 'rtt',
    order: 1,
    weight: 1,
    qpsCap: null,
    queries: 0,
    drops: 0,
    qps: 0,
    latencyMs: 0,
    outstanding: 0,
    checks: 0,
    checksFailed: 0,
    ...over,
  });
  it('servers: counts add up, latency is the mean of those with one, down if any worker says so', () => {
    assert.deepEqual(
      mergeServerRows([
        [row({ queries: 3, latencyMs: 2 })],
        [row({ queries: 4, latencyMs: 0, state: 'down' })],
        [row({ queries: 1, latencyMs: 4 })],
      ]),
      [row({ queries: 8, latencyMs: 3, state: 'down' })],
    );
  });
  it('latency adds bucket by bucket; top lists add rows', () => {
    const l = mergeAnswers({ cmd: 'latency' }, [
      { boundsMs: [1], counts: [1, 2], sumMs: 5 },
      { boundsMs: [1], counts: [3, 4], sumMs: 1 },
    ]);
    assert.deepEqual(l, { boundsMs: [1], counts: [4, 6], sumMs: 6 });
    const t = mergeAnswers({ cmd: 'top', what: 'clients', limit: 1 }, [
      { queries: 2, total: 2, ringSize: 10, what: 'clients', rows: [{ key: 'a', count: 2 }] },
      {
        queries: 3,
        total: 3,
        ringSize: 10,
        what: 'clients',
        rows: [
          { key: 'b', count: 1 },
          { key: 'a', count: 2 },
        ],
      },
    ]);
    assert.deepEqual(t, { queries: 5, total: 5, ringSize: 20, what: 'clients', rows: [{ key: 'a', count: 4 }] });
  });
});

describe('RuleBook: prefix rules and the suffix index', () => {
  it('prefix rules: the longest candidate wins; expiry changes the version the ACL watches', () => {
    let now = 0;
    const book = new RuleBook(() => now);
    const v0 = book.prefixVersion;
    book.addPrefix('10', { kind: 'drop' }, null);
    book.addPrefix('10.1', { kind: 'refuse' }, 5);
    assert.equal(book.prefixAction(['10.1.2.3', '10.1.2', '10.1', '10'])!.kind, 'refuse');
    assert.equal(book.prefixAction(['10.9.0.1', '10.9.0', '10.9', '10'])!.kind, 'drop');
    assert.ok(book.prefixVersion > v0);
    const v1 = book.prefixVersion;
    now = 5000;
    assert.equal(book.prefixExpiryDue, true);
    book.expirePrefixes();
    assert.ok(book.prefixVersion > v1);
    assert.equal(book.prefixAction(['10.1']), null, 'the 5 s rule has expired');
    assert.equal(book.prefixAction(['10.1', '10'])!.kind, 'drop');
  });

  it('the index stays right across reloads and control changes (same-hash names compared in place)', () => {
    const book = new RuleBook(() => 0);
    book.swapFiles(new Map([[n('a.test'), { kind: 'drop' }]] as const));
    book.swapFiles(new Map([[n('b.test'), { kind: 'refuse' }]] as const));
    assert.equal(book.check(n('x.a.test'), null, true), PASS, 'the old file rule is gone');
    assert.equal(book.check(n('x.b.test'), null, true), REFUSE);
    book.addControl(n('b.test'), { kind: 'drop' }, null);
    assert.equal(book.check(n('x.b.test'), null, true), DROP);
    book.removeControl(n('b.test'));
    assert.equal(book.check(n('x.b.test'), null, true), REFUSE, 'the file rule is still there');
    // 2,000 rules: every one found, and nothing else.
    const many = new Map(Array.from({ length: 2000 }, (_, i) => [n(`r${i}.example`), { kind: 'drop' as const }]));
    book.swapFiles(many);
    for (let i = 0; i < 2000; i += 97) assert.equal(book.check(n(`q.r${i}.example`), null, true), DROP);
    assert.equal(book.check(n('r2000.example'), null, true), PASS);
    assert.equal(book.check(n('example'), null, true), PASS);
  });
});
