import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  FORGET_AFTER_MS,
  NO_EDNS_MAX,
  NO_EDNS_MS,
  NoEdnsServers,
  RttTable,
  ServerKey,
  serverId,
} from '../../src/transport/rtt';

const s = (address: string, port = 53): ServerKey => ({ address, port });
const names = (list: readonly ServerKey[]): string[] => list.map(serverId);

describe('serverId', () => {
  it('is address:port, with brackets for IPv6', () => {
    assert.equal(serverId(s('192.0.2.1')), '192.0.2.1:53');
    assert.equal(serverId(s('2001:db8::1', 5353)), '[2001:db8::1]:5353');
  });
});

describe('RttTable.order', () => {
  it('keeps the given order among untried servers', () => {
    const t = new RttTable();
    const list = [s('10.0.0.3'), s('10.0.0.1'), s('10.0.0.2')];
    assert.deepEqual(names(t.order(list)), names(list));
    const shuffled = [list[2]!, list[0]!, list[1]!];
    assert.deepEqual(names(t.order(list, shuffled)), names(shuffled));
  });

  it('prefers measured fast servers, explores untried ones before slow ones', () => {
    const t = new RttTable();
    const slow = s('10.0.0.1');
    const fast = s('10.0.0.2');
    const untried = s('10.0.0.3');
    t.answered(slow, 400);
    t.answered(fast, 5);
    assert.deepEqual(names(t.order([slow, untried, fast])), names([fast, untried, slow]));
  });

  it('puts timed-out servers after untried and slow ones', () => {
    const t = new RttTable();
    const dead = s('10.0.0.1');
    const slow = s('10.0.0.2');
    const untried = s('10.0.0.3');
    t.timedOut(dead, 1000);
    t.answered(slow, 800);
    assert.deepEqual(names(t.order([dead, slow, untried])), names([untried, slow, dead]));
  });

  it('a timeout demotes even a fast server, and an answer restores it', () => {
    const t = new RttTable();
    const a = s('10.0.0.1');
    const b = s('10.0.0.2');
    t.answered(a, 5);
    t.answered(b, 200);
    assert.deepEqual(names(t.order([b, a])), names([a, b]));
    t.timedOut(a, 1000);
    assert.deepEqual(names(t.order([a, b])), names([b, a]));
    assert.ok(t.cost(a) > t.cost(b));
    t.answered(a, 5);
    assert.deepEqual(names(t.order([b, a])), names([a, b]));
  });

  it('more consecutive timeouts cost more', () => {
    const t = new RttTable();
    const a = s('10.0.0.1');
    t.answered(a, 50);
    const costs = [t.cost(a)];
    for (let i = 0; i < 4; i++) {
      t.timedOut(a, 1000);
      costs.push(t.cost(a));
    }
    for (let i = 1; i < costs.length; i++) assert.ok(costs[i]! > costs[i - 1]!, `cost after ${i} timeouts`);
  });

  it('tells servers apart by port', () => {
    const t = new RttTable();
    t.answered(s('127.0.0.1', 5300), 300);
    t.answered(s('127.0.0.1', 5301), 3);
    assert.deepEqual(names(t.order([s('127.0.0.1', 5300), s('127.0.0.1', 5301)])), [
      '127.0.0.1:5301',
      '127.0.0.1:5300',
    ]);
  });

  it('does not modify its input', () => {
    const t = new RttTable();
    const list = [s('10.0.0.1'), s('10.0.0.2')];
    t.answered(list[1]!, 1);
    t.order(list);
    assert.deepEqual(names(list), ['10.0.0.1:53', '10.0.0.2:53']);
  });
});

describe('RttTable.timeout', () => {
  it('starts at 1 s for an untried server', () => {
    assert.equal(new RttTable().timeout(s('10.0.0.1')), 1000);
  });

  it('is srtt + 4 rttvar, at least 200 ms', () => {
    const t = new RttTable();
    const a = s('10.0.0.1');
    t.answered(a, 10); // srtt 10, rttvar 5 → 30 → floor
    assert.equal(t.timeout(a), 200);
    const b = s('10.0.0.2');
    t.answered(b, 100); // 100 + 4·50 = 300
    assert.equal(t.timeout(b), 300);
    t.answered(b, 200); // rttvar 62.5, srtt 112.5 → 362.5
    assert.equal(t.timeout(b), 362.5);
  });

  it('backs off after timeouts and never exceeds 3 s', () => {
    const t = new RttTable();
    const a = s('10.0.0.1');
    t.answered(a, 100); // 300
    t.timedOut(a, 300);
    assert.equal(t.timeout(a), 600);
    t.timedOut(a, 600);
    assert.equal(t.timeout(a), 1200);
    t.timedOut(a, 1200);
    assert.equal(t.timeout(a), 2400);
    t.timedOut(a, 2400);
    assert.equal(t.timeout(a), 3000);
    for (let i = 0; i < 20; i++) t.timedOut(a, 3000);
    assert.equal(t.timeout(a), 3000);
    t.answered(a, 100);
    assert.ok(t.timeout(a) < 3000, 'an answer ends the back-off');
  });

  it('stays within [200, 3000] ms whatever happens', () => {
    const t = new RttTable();
    const servers = [s('10.0.0.1'), s('10.0.0.2'), s('10.0.0.3')];
    let seed = 7;
    const rand = (k: number): number => {
      seed = (seed * 48271) % 2147483647;
      return seed % k;
    };
    for (let i = 0; i < 2000; i++) {
      const srv = servers[rand(3)]!;
      if (rand(3) === 0) t.timedOut(srv, rand(5000));
      else t.answered(srv, rand(10000) / 10);
      for (const x of servers) {
        const to = t.timeout(x);
        assert.ok(to >= 200 && to <= 3000, `timeout ${to}`);
      }
    }
  });

  it('a server first seen timing out is tracked with one timeout', () => {
    const t = new RttTable();
    const a = s('10.0.0.1');
    t.timedOut(a, 1000); // srtt 1000, rttvar 500 → 3000 · 2 → capped
    assert.equal(t.timeout(a), 3000);
    assert.ok(t.cost(a) > t.cost(s('10.0.0.9')));
  });
});

describe('NoEdnsServers', () => {
  it('remembers a server (address and port) for an hour', () => {
    const m = new NoEdnsServers();
    assert.equal(m.has(s('192.0.2.1'), 0), false);
    m.add(s('192.0.2.1'), 1000);
    assert.equal(m.has(s('192.0.2.1'), 1000), true);
    assert.equal(m.has(s('192.0.2.1', 5353), 1000), false);
    assert.equal(m.has(s('192.0.2.2'), 1000), false);
    assert.equal(m.has(s('192.0.2.1'), 1000 + NO_EDNS_MS - 1), true);
    assert.equal(m.has(s('192.0.2.1'), 1000 + NO_EDNS_MS), false);
    assert.equal(m.size, 0, 'an expired entry found is dropped');
  });

  it('a new refusal restarts the hour', () => {
    const m = new NoEdnsServers();
    m.add(s('192.0.2.1'), 0);
    m.add(s('192.0.2.1'), NO_EDNS_MS - 10);
    assert.equal(m.has(s('192.0.2.1'), NO_EDNS_MS + 10), true);
    assert.equal(m.size, 1);
  });

  it(`holds at most ${NO_EDNS_MAX} servers, dropping the oldest, and drops the expired as it goes`, () => {
    const m = new NoEdnsServers();
    for (let i = 0; i <= NO_EDNS_MAX; i++) m.add(s(`10.0.${i >> 8}.${i & 255}`), i);
    assert.equal(m.size, NO_EDNS_MAX);
    assert.equal(m.has(s('10.0.0.0'), NO_EDNS_MAX), false, 'the oldest went');
    assert.equal(m.has(s('10.0.0.1'), NO_EDNS_MAX), true);
    m.add(s('192.0.2.1'), NO_EDNS_MAX + NO_EDNS_MS);
    assert.equal(m.size, 1, 'everything older than an hour went with the next add');
  });

  it('is one per RTT table, starting empty', () => {
    assert.equal(new RttTable().noEdns.size, 0);
  });
});

describe('RttTable: what it knows ages out', () => {
  it('a server that timed out, or was not asked for FORGET_AFTER_MS, is treated as untried again', () => {
    let now = 0;
    const t = new RttTable(() => now);
    const dead = s('10.0.0.1');
    const fast = s('10.0.0.2');
    const fresh = s('10.0.0.3');
    t.timedOut(dead, 1000);
    t.answered(fast, 5);
    assert.deepEqual(names(t.order([dead, fresh, fast])), names([fast, fresh, dead]));
    now = FORGET_AFTER_MS - 1;
    assert.ok(t.cost(dead) > t.cost(fresh), 'still remembered just before the limit');
    now = FORGET_AFTER_MS + 1;
    assert.equal(t.cost(dead), t.cost(fresh), 'the timeout has expired');
    assert.equal(t.cost(fast), t.cost(fresh), 'a long-unused server is explored again as untried');
    assert.equal(t.timeout(dead), t.timeout(fresh));
  });

  it('an answer or a timeout keeps the estimate alive', () => {
    let now = 0;
    const t = new RttTable(() => now);
    const server = s('10.0.0.1');
    t.answered(server, 5);
    now = FORGET_AFTER_MS - 10;
    t.answered(server, 5);
    now = FORGET_AFTER_MS + 10;
    assert.ok(t.cost(server) < t.cost(s('10.0.0.9')), 'answered recently: still known as fast');
  });
});
