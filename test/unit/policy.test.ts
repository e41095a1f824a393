// Forwarding policies as pure functions of what is known of each server,
// the query-rate window with an injected clock, and servers/ pool syntax.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePoolFile, PoolServer } from '../../src/config';
import { Random } from '../../src/random/random';
import { UpstreamLoad } from '../../src/transport/load';
import {
  firstAvailable,
  leastOutstanding,
  policyOrder,
  PoolOrder,
  PoolState,
  roundRobin,
  weightedRandom,
} from '../../src/transport/policy';
import { serverId, ServerKey } from '../../src/transport/rtt';
import { CANCELLED } from '../../src/transport/udp';

function server(i: number, opts: Partial<Omit<PoolServer, 'endpoint'>> = {}): PoolServer {
  return { endpoint: { address: `127.0.0.${i}`, port: 53, family: 4 }, order: i, weight: 1, qps: null, ...opts };
}

/** A PoolState from plain per-server numbers (by last octet). */
function state(per: Record<number, { out?: number; rate?: number; cost?: number; down?: boolean }>): PoolState {
  const of = (s: ServerKey) => per[Number(s.address.split('.')[3])] ?? {};
  return {
    outstanding: (s) => of(s).out ?? 0,
    rate: (s) => of(s).rate ?? 0,
    cost: (s) => of(s).cost ?? 50,
    up: (s) => !of(s).down,
  };
}

const octets = (list: readonly PoolServer[]): number[] => list.map((s) => Number(s.endpoint.address.split('.')[3]));

describe('policies', () => {
  const three = [server(1), server(2), server(3)];

  it('leastOutstanding: fewest in flight first; ties by order, then by RTT', () => {
    assert.deepEqual(
      octets(leastOutstanding(three, state({ 1: { out: 4 }, 2: { out: 1 }, 3: { out: 2 } }))),
      [2, 3, 1],
    );
    assert.deepEqual(octets(leastOutstanding(three, state({ 1: { out: 1 } }))), [2, 3, 1]);
    const sameOrder = [server(1, { order: 1 }), server(2, { order: 1 })];
    assert.deepEqual(octets(leastOutstanding(sameOrder, state({ 1: { cost: 90 }, 2: { cost: 10 } }))), [2, 1]);
  });

  it('firstAvailable: by order while under qps; those over their caps last, by leastOutstanding; all over: leastOutstanding', () => {
    const capped = [server(1, { order: 2, qps: 10 }), server(2, { order: 1, qps: 5 }), server(3, { order: 3 })];
    assert.deepEqual(octets(firstAvailable(capped, state({}))), [2, 1, 3]);
    assert.deepEqual(octets(firstAvailable(capped, state({ 2: { rate: 5 } }))), [1, 3, 2]);
    const allCapped = [server(1, { qps: 1 }), server(2, { qps: 1 })];
    assert.deepEqual(
      octets(firstAvailable(allCapped, state({ 1: { rate: 3, out: 2 }, 2: { rate: 3, out: 1 } }))),
      [2, 1],
    );
  });

  it('wrandom: each server first about weight/total of the time', () => {
    const random = new Random(Buffer.alloc(128, 7));
    const weighted = [server(1, { weight: 1 }), server(2, { weight: 3 }), server(3, { weight: 6 })];
    const firsts = [0, 0, 0, 0];
    for (let i = 0; i < 10000; i++) firsts[octets(weightedRandom(weighted, random))[0]!]!++;
    assert.ok(
      Math.abs(firsts[1]! - 1000) < 200 && Math.abs(firsts[2]! - 3000) < 300 && Math.abs(firsts[3]! - 6000) < 300,
      `firsts ${firsts}`,
    );
    assert.deepEqual(octets(weightedRandom(weighted, random)).sort(), [1, 2, 3], 'every server, once');
  });

  it('roundrobin: each server first in turn', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((t) => octets(roundRobin(three, t))[0]),
      [1, 2, 3, 1],
    );
    assert.deepEqual(octets(roundRobin(three, 1)), [2, 3, 1]);
  });

  it('a down server is left out while another is up; all down: all, in the policy order', () => {
    const random = new Random(null);
    for (const policy of ['leastOutstanding', 'firstAvailable', 'wrandom', 'roundrobin', 'rtt'] as const) {
      for (let t = 0; t < 5; t++)
        assert.deepEqual(
          octets(policyOrder(policy, three, state({ 2: { down: true } }), t, random)).sort(),
          [1, 3],
          policy,
        );
      assert.equal(
        policyOrder(policy, three, state({ 1: { down: true }, 2: { down: true }, 3: { down: true } }), 0, random)
          .length,
        3,
        policy,
      );
    }
  });

  it('rtt: cheapest first, ties in file order', () => {
    assert.deepEqual(
      octets(policyOrder('rtt', three, state({ 1: { cost: 30 }, 2: { cost: 5 } }), 0, new Random(null))),
      [2, 1, 3],
    );
  });

  it('PoolOrder orders askServers endpoints and turns roundrobin per question', () => {
    const order = new PoolOrder('roundrobin', three, state({}), new Random(null));
    const endpoints = three.map((s) => s.endpoint);
    const firsts = Array.from({ length: 6 }, () => order.order(endpoints)[0]!.address);
    assert.deepEqual(firsts, ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.1', '127.0.0.2', '127.0.0.3']);
  });
});

describe('UpstreamLoad', () => {
  const s = { address: '127.0.0.1', port: 53 };

  it('counts tries in flight, answers and drops (a cancelled try is no drop)', () => {
    const load = new UpstreamLoad(() => 0);
    load.started(s);
    load.started(s);
    load.started(s);
    assert.equal(load.outstanding(s), 3);
    load.ended(s, { kind: 'reply', bytes: Buffer.alloc(12), rttMs: 8 });
    load.ended(s, { kind: 'timeout' });
    load.ended(s, CANCELLED);
    const c = load.snapshot(s);
    assert.deepEqual([c.outstanding, c.queries, c.answers, c.drops, c.latencyMs], [0, 3, 1, 1, 8]);
  });

  it('rate: queries in the last second, sliding, by the injected clock', () => {
    let now = 10_000;
    const load = new UpstreamLoad(() => now);
    for (let i = 0; i < 10; i++) load.started(s);
    assert.equal(load.rate(s), 10);
    now += 1500; // half of the previous second still in the window
    assert.equal(load.rate(s), 5);
    now += 1000;
    assert.equal(load.rate(s), 0);
  });

  it('a new endpoint object for the same address and port (a reload) finds the same counters', () => {
    const load = new UpstreamLoad(() => 0);
    load.started({ address: '127.0.0.1', port: 53 });
    assert.equal(load.outstanding({ address: '127.0.0.1', port: 53 }), 1);
    assert.equal(load.outstanding({ address: '127.0.0.1', port: 54 }), 0);
  });

  it('retain forgets servers no longer listed', () => {
    const load = new UpstreamLoad(() => 0);
    load.started(s);
    load.started({ address: '127.0.0.2', port: 53 });
    load.retain(new Set([serverId(s)]));
    assert.equal(load.size, 1);
    assert.equal(load.outstanding({ address: '127.0.0.2', port: 53 }), 0, 'forgotten, cache included');
    assert.equal(load.outstanding(s), 1);
  });
});

describe('servers/ pools', () => {
  it('reads a policy line and key=value options; defaults: order by line, weight 1, no qps cap', () => {
    const pool = parsePoolFile(
      '# abuse pool\npolicy firstAvailable\n192.0.2.53 order=2 qps=10000 weight=3\n192.0.2.54:5353   # plain\n',
      'servers/@',
    );
    assert.equal(pool.policy, 'firstAvailable');
    assert.deepEqual(
      pool.servers.map((s) => [s.endpoint.address, s.endpoint.port, s.order, s.weight, s.qps]),
      [
        ['192.0.2.53', 53, 2, 3, 10000],
        ['192.0.2.54', 5353, 2, 1, null],
      ],
    );
    assert.equal(parsePoolFile('192.0.2.1\n', 'servers/@').policy, null);
  });

  it('names file, line, value and what was expected for bad policies and options', () => {
    const bad: Array<[string, string[]]> = [
      [
        'policy fastest\n192.0.2.1',
        ['servers/@ line 1', '"policy fastest"', 'leastOutstanding, firstAvailable, wrandom, roundrobin, rtt'],
      ],
      ['policy\n192.0.2.1', ['servers/@ line 1', '"policy"']],
      ['policy rtt\npolicy wrandom\n192.0.2.1', ['servers/@ line 2', 'second policy', 'line 1']],
      ['192.0.2.1 weight=0', ['servers/@ line 1', 'weight="0"', 'whole number from 1 to 1000000']],
      ['192.0.2.1 qps=ten', ['servers/@ line 1', 'qps="ten"']],
      ['192.0.2.1 order=1 order=2', ['servers/@ line 1', 'order given twice']],
      ['192.0.2.1 colour=red', ['servers/@ line 1', '"colour=red" is not an option', 'order, weight, qps']],
    ];
    for (const [text, parts] of bad) {
      assert.throws(
        () => parsePoolFile(text, 'servers/@'),
        (e: Error) => e.name === 'ConfigError' && parts.every((p) => e.message.includes(p)),
        text,
      );
    }
  });

  it('refuses policies and options when resolving iteratively, where they would mean nothing', () => {
    assert.throws(
      () => parsePoolFile('policy rtt\n198.41.0.4', 'servers/@', false),
      /servers\/@ line 1: "policy rtt": a policy applies only with FORWARDONLY/,
    );
    assert.throws(
      () => parsePoolFile('198.41.0.4 weight=2', 'servers/@', false),
      /servers\/@ line 1: "weight=2": options apply only with FORWARDONLY/,
    );
    assert.equal(parsePoolFile('198.41.0.4\n', 'servers/@', false).servers.length, 1);
  });
});
