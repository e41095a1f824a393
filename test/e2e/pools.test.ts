// Forwarding pools against real upstream processes (test/lab/responder.ts)
// and the real dnscache: how each policy shares client queries out, the
// options of a servers/ line, a pool per suffix, and reload.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { query } from '../lab/client';
import { Responder } from '../lab/responders';
import { runDnscacheExpectingFailure, startDnscache, writeRoot } from './harness';
import { askMany, responders } from './upstreams';

const shares = (list: Responder[]): Promise<number[]> => Promise.all(list.map((r) => r.queries()));

// One test at a time: each starts up to four processes, and a 2-core machine shared with
// other suites starts them slowly enough when they come one test at a time.
describe('forwarding pools', () => {
  test('roundrobin: each upstream in turn', async (t) => {
    const ups = await responders(t, [0, 0, 0]);
    const dns = await startDnscache(
      { upstreams: ['policy roundrobin', ...ups.map((u) => u.serverLine)].join('\n') + '\n' },
      t,
    );
    await askMany(dns, 30);
    // A try that times out on a loaded machine is asked again of the next server: `extra` such.
    const got = await shares(ups);
    const extra = got.reduce((a, b) => a + b, 0) - 30;
    assert.ok(
      got.every((c) => c >= 10 && c <= 10 + extra),
      `shares ${got}`,
    );
  });

  test('wrandom: shares follow weight=', async (t) => {
    const ups = await responders(t, [0, 0]);
    const dns = await startDnscache(
      { upstreams: `policy wrandom\n${ups[0]!.serverLine} weight=1\n${ups[1]!.serverLine} weight=4\n` },
      t,
    );
    await askMany(dns, 200, 4);
    const [light, heavy] = await shares(ups);
    assert.ok(light! + heavy! >= 200);
    assert.ok(heavy! > 2 * light! && light! > 10, `light ${light}, heavy ${heavy} (expected about 40 and 160)`);
  });

  test('firstAvailable: order= first, the next once the first is over its qps=', async (t) => {
    const ups = await responders(t, [0, 0, 0]);
    const dns = await startDnscache(
      {
        upstreams: `policy firstAvailable\n${ups[0]!.serverLine} order=3\n${ups[1]!.serverLine} order=1 qps=5\n${ups[2]!.serverLine} order=2\n`,
      },
      t,
    );
    await askMany(dns, 60, 2);
    const [third, first, second] = await shares(ups);
    // 60 questions take well under 12 s: the first server cannot take them all at 5 a second.
    assert.ok(first! >= 5 && first! < 60, `order=1 qps=5 got ${first}`);
    assert.ok(second! >= 60 - first!, 'the rest went to order=2');
    assert.equal(third, 0, 'order=3 was never needed');
  });

  test('leastOutstanding: a slow upstream (200 ms) gets few of the queries', async (t) => {
    const ups = await responders(t, [200, 0]);
    const dns = await startDnscache(
      { upstreams: `policy leastOutstanding\n${ups[0]!.serverLine}\n${ups[1]!.serverLine}\n` },
      t,
    );
    await askMany(dns, 80, 4);
    const [slow, fast] = await shares(ups);
    assert.ok(slow! + fast! >= 80);
    assert.ok(slow! > 0 && slow! < 20, `slow ${slow}, fast ${fast}`);
  });

  test('without a policy line (rtt), a servers/<suffix> file is its own pool; reload swaps policies', async (t) => {
    const ups = await responders(t, [0, 0, 0]);
    const dns = await startDnscache(
      {
        upstreams: ups[0]!.serverLine + '\n',
        extraServers: { 'abuse.pool.test': `${ups[1]!.serverLine}\n${ups[2]!.serverLine}\n` },
      },
      t,
    );
    await askMany(dns, 5, 1, 'main');
    const prefix = `s${process.pid}`;
    for (let i = 0; i < 6; i++)
      assert.equal((await query(dns, `n${i}.${prefix}.abuse.pool.test`, 'A')).packet.rcode, 'NOERROR');
    const [main, a, b] = await shares(ups);
    assert.ok(main! >= 5);
    assert.ok(a! + b! >= 6, 'the suffix went to its own pool');

    fs.writeFileSync(
      join(dns.root, 'servers', 'abuse.pool.test'),
      `policy roundrobin\n${ups[1]!.serverLine}\n${ups[2]!.serverLine}\n`,
    );
    const from = dns.logs.length;
    dns.process.kill('SIGHUP');
    await dns.waitForLog(/^reload servers 2 ip 1 routes 0$/, 3000, from);
    for (let i = 0; i < 10; i++)
      assert.equal((await query(dns, `r${i}.${prefix}.abuse.pool.test`, 'A')).packet.rcode, 'NOERROR');
    const [main2, a2, b2] = await shares(ups);
    assert.equal(main2, main, 'servers/@ got none of them');
    const extra = a2! - a! + (b2! - b!) - 10;
    assert.ok(
      [a2! - a!, b2! - b!].every((c) => c >= 5 && c <= 5 + extra),
      `roundrobin after reload: ${a2! - a!}, ${b2! - b!}`,
    );
  });

  test('a policy in an iterative servers/@, or a bad option, stops start-up naming file and line', async () => {
    const iterative = await runDnscacheExpectingFailure({ FORWARDONLY: undefined }, (root) =>
      writeRoot(root, { upstreams: 'policy rtt\n127.0.0.1\n' }),
    );
    assert.notEqual(iterative.code, 0);
    assert.match(iterative.stderr, /servers\/@ line 1: "policy rtt": a policy applies only with FORWARDONLY/);
    const option = await runDnscacheExpectingFailure({}, (root) => writeRoot(root, { upstreams: '127.0.0.1 qps=0\n' }));
    assert.match(
      option.stderr,
      /servers\/@ line 1: "127\.0\.0\.1 qps=0": qps="0" \(expected a whole number from 1 to 10000000\)/,
    );
  });
});
