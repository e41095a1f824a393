// Abuse rules as pure parts: the action syntax, the token bucket and the
// rule book on an injected clock, and ip/ admission carrying an action.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { admission, rulesFromEntries } from '../../src/acl/rules';
import { actionOfFile, parseAction } from '../../src/rules/action';
import { clientRule, DROP, MAX_CONTROL_RULES, NXDOMAIN, PASS, REFUSE, RuleBook, TRUNCATE } from '../../src/rules/book';
import { RateLimiter } from '../../src/rules/limiter';
import { ROOT } from '../../src/wire/name';
import { n } from './helpers';

describe('rule actions', () => {
  it('parses the five actions and names what is wrong', () => {
    for (const kind of ['drop', 'refuse', 'nxdomain', 'truncate'] as const)
      assert.deepEqual(parseAction(` ${kind} `), { ok: true, action: { kind } });
    assert.deepEqual(parseAction('qps\t50'), { ok: true, action: { kind: 'qps', limit: 50 } });
    assert.deepEqual(parseAction('qps'), { ok: false, reason: '"qps" needs one number' });
    assert.deepEqual(parseAction('qps 0'), { ok: false, reason: '"0" is not a number from 1 to 10000000' });
    assert.deepEqual(parseAction('drop now'), { ok: false, reason: 'not an action' });
  });
  it('a file holds one action, comments and blank lines aside; none is null', () => {
    assert.deepEqual(actionOfFile('# abusive\n\nqps 7 # a comment\n', 'rules/x'), {
      ok: true,
      action: { kind: 'qps', limit: 7 },
    });
    assert.deepEqual(actionOfFile('', 'ip/10'), { ok: true, action: null });
    const two = actionOfFile('drop\nrefuse\n', 'rules/x');
    assert.equal(two.ok, false);
    assert.equal(
      !two.ok && two.message,
      'rules/x line 2: a second action (the first is line 1; expected one action per file)',
    );
  });
});

describe('RateLimiter', () => {
  it('a burst of N, then N a second', () => {
    const l = new RateLimiter(5, 0);
    assert.equal([...Array(8)].filter(() => l.take(0)).length, 5);
    assert.equal(l.take(100), false, '0.5 token after 100 ms');
    assert.equal(l.take(200), true, 'one token after 200 ms');
    assert.equal([...Array(10)].filter(() => l.take(10_000)).length, 5, 'never more than a second saved up');
  });
});

describe('RuleBook', () => {
  it('the closest suffix wins, label-aligned; root rules every name; no rule passes', () => {
    const book = new RuleBook(() => 0);
    book.swapFiles(
      new Map([
        [n('example.com'), { kind: 'refuse' }],
        [n('www.example.com'), { kind: 'nxdomain' }],
      ] as const),
    );
    assert.equal(book.check(n('a.example.com'), null, true), REFUSE);
    assert.equal(book.check(n('example.com'), null, true), REFUSE);
    assert.equal(book.check(n('x.www.example.com'), null, true), NXDOMAIN);
    assert.equal(book.check(n('badexample.com'), null, true), PASS);
    assert.equal(book.check(n('example.org'), null, true), PASS);
    book.swapFiles(new Map([[ROOT, { kind: 'drop' }]] as const));
    assert.equal(book.check(n('anything.test'), null, false), DROP);
    assert.equal(book.size, 1);
  });

  it('truncate is TC over UDP only; qps drops the excess; counters count verdicts', () => {
    let now = 0;
    const book = new RuleBook(() => now);
    book.swapFiles(
      new Map([
        [n('tc.test'), { kind: 'truncate' }],
        [n('q.test'), { kind: 'qps', limit: 2 }],
      ] as const),
    );
    assert.equal(book.check(n('tc.test'), null, true), TRUNCATE);
    assert.equal(book.check(n('tc.test'), null, false), PASS);
    assert.deepEqual(
      [1, 2, 3].map(() => book.check(n('a.q.test'), null, true)),
      [PASS, PASS, DROP],
    );
    now += 500;
    assert.equal(book.check(n('b.q.test'), null, true), PASS, 'one token back after half a second');
    assert.equal(book.counters[DROP], 1);
    assert.equal(book.counters[TRUNCATE], 1);
  });

  it("a client's rule is applied first, with its own limiter", () => {
    const book = new RuleBook(() => 0);
    book.swapFiles(new Map([[n('example.com'), { kind: 'refuse' }]] as const));
    const c = clientRule({ kind: 'qps', limit: 1 }, 0);
    assert.equal(book.check(n('example.com'), c, true), REFUSE, 'within its rate, then the name rule');
    assert.equal(book.check(n('other.test'), c, true), DROP, 'over its rate');
    assert.equal(book.check(n('other.test'), clientRule({ kind: 'nxdomain' }, 0), true), NXDOMAIN);
  });

  it('control rules take precedence over files at the same suffix, expire, and are bounded', () => {
    let now = 0;
    const book = new RuleBook(() => now);
    book.swapFiles(new Map([[n('example.com'), { kind: 'refuse' }]] as const));
    assert.ok(book.addControl(n('example.com'), { kind: 'drop' }, 10));
    assert.equal(book.check(n('example.com'), null, true), DROP);
    assert.equal(book.list().length, 1);
    now += 10_000;
    assert.equal(book.check(n('example.com'), null, true), REFUSE, 'expired: the file rule again');
    assert.equal(book.size, 1);
    assert.ok(book.addControl(n('a.test'), { kind: 'drop' }, null));
    assert.ok(book.removeControl(n('a.test')));
    assert.equal(book.removeControl(n('a.test')), false);
    for (let i = 0; i < MAX_CONTROL_RULES; i++) book.addControl(n(`r${i}.test`), { kind: 'drop' }, null);
    assert.equal(book.addControl(n('one.more.test'), { kind: 'drop' }, null), false);
    assert.ok(book.addControl(n('r0.test'), { kind: 'nxdomain' }, null), 'replacing one is always possible');
  });
});

describe('ip/ admission with actions', () => {
  it("the longest accepting entry's action applies; rejection still wins; an empty file admits plainly", () => {
    const rules = rulesFromEntries(
      ['10', '10.1', '#10.1.2', '192.0.2'],
      new Map([
        ['10.1', { kind: 'qps', limit: 50 } as const],
        ['10', { kind: 'drop' } as const],
      ]),
    );
    const a = admission(rules, '10.1.9.9', 0);
    assert.ok(typeof a === 'object' && a.action.kind === 'qps' && a.limiter !== null);
    assert.ok(typeof admission(rules, '10.7.0.1', 0) === 'object');
    assert.equal(admission(rules, '10.1.2.3', 0), false);
    assert.equal(admission(rules, '192.0.2.1', 0), true);
    assert.equal(admission(rules, '198.51.100.1', 0), false);
  });
});
