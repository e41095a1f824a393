// Live inspection and control through dnscache-ctl, against the real
// dnscache and real upstream processes: top queries (grouped by their last
// labels), top clients, top rcodes, the latency histogram, blocks and limits
// on suffixes and client prefixes (with expiry), the rules list, and the
// same counters in /metrics.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { freeLoopback } from '../lab/addresses';
import { query, Reply } from '../lab/client';
import { valueOf } from '../unit/metrics-parse';
import { ctl, ok, Run, socketDir } from './ctl';
import { METRICS_PORT, scrapeMetrics, waitFor } from './fixtures';
import { Dnscache, startDnscache } from './harness';
import { responders } from './upstreams';

const CLIENTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

async function start(
  t: Parameters<typeof responders>[0],
  delayMs = 0,
  metrics?: string,
): Promise<{ dns: Dnscache; socket: string; run: (...args: string[]) => Promise<Run> }> {
  const [up] = await responders(t, [delayMs]);
  const socket = join(socketDir(t), 'control');
  const env: Record<string, string> = {
    CONTROL: socket,
    ...(metrics ? { METRICS: `${metrics}:${METRICS_PORT}` } : {}),
  };
  const dns = await startDnscache({ upstreams: up!.serverLine + '\n', ipFiles: CLIENTS, env }, t);
  return { dns, socket, run: (...args) => ctl(['--socket', socket, ...args]) };
}

async function ask(dns: Dnscache, name: string, source = CLIENTS[0]!): Promise<Reply | null> {
  try {
    return await query(dns, name, 'A', { source, timeoutMs: 600 });
  } catch (err) {
    if (/timeout/.test((err as Error).message)) return null;
    throw err;
  }
}

// One test at a time: each starts two processes (see pools.test.ts).
describe('dnscache-ctl inspection and control', () => {
  test('top queries [N] [labels K], top clients, top rcodes RCODE', async (t) => {
    const { dns, run } = await start(t);
    for (let i = 0; i < 6; i++) await ask(dns, `r${i}x.attack.example`);
    for (let i = 0; i < 2; i++) await ask(dns, 'www.other.example', CLIENTS[1]);
    await run('block', 'bad.example');
    await ask(dns, 'x.bad.example', CLIENTS[2]);
    await run('unblock', 'bad.example');

    const byParent = await run('top', 'queries', '2', 'labels', '2');
    assert.equal(byParent.status, 0, byParent.stderr);
    assert.match(
      byParent.stdout,
      /^top names \(last 2 labels\)\n {2}6 {2}attack\.example\.\n {2}2 {2}other\.example\.\n$/m,
    );
    const names = await run('top', 'queries');
    assert.match(names.stdout, /^ {2}2 {2}www\.other\.example\.$/m);
    assert.match(names.stdout, /^ {2}1 {2}r0x\.attack\.example\.$/m);
    const clients = await run('top', 'clients', '2');
    assert.match(clients.stdout, /^top clients\n {2}6 {2}127\.0\.0\.1\n {2}2 {2}127\.0\.0\.2\n$/m);
    const noerror = await run('top', 'rcodes', 'NOERROR', 'labels', '2');
    assert.match(
      noerror.stdout,
      /^top names answered NOERROR \(last 2 labels\)\n {2}6 {2}attack\.example\.\n {2}2 {2}other\.example\.\n$/m,
    );
    const dropped = await run('top', 'rcodes', 'REFUSED');
    assert.match(dropped.stdout, /^top names answered REFUSED\n {2}\(none\)\n$/m, 'a dropped question has no RCODE');
    const json = await run('--json', 'top', 'clients');
    assert.deepEqual(JSON.parse(json.stdout).rows[2], { key: '127.0.0.3', count: 1 });

    const bad = await run('top', 'rcodes', 'BOGUS');
    assert.equal(bad.status, 100);
    assert.match(bad.stderr, /"BOGUS" is not an RCODE/);
  });

  test('top rcodes for rule replies; latency: every answer, resolutions as long as the upstream takes', async (t) => {
    const { dns, run, socket } = await start(t, 60);
    for (let i = 0; i < 4; i++) assert.equal((await ask(dns, `n${i}.slow.example`))!.packet.rcode, 'NOERROR');
    for (let i = 0; i < 4; i++) await ask(dns, `n${i}.slow.example`); // hits
    await ok(socket, { cmd: 'block', target: '127.0.0.2' }); // a prefix: a client rule
    assert.equal(await ask(dns, 'n0.slow.example', CLIENTS[1]), null);
    const latency = await ok(socket, { cmd: 'latency' });
    assert.deepEqual(latency.boundsMs, [1, 10, 50, 100, 1000]);
    const counts = latency.counts as number[];
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      8,
      'the 4 misses and the 4 hits (the dropped question got no answer)',
    );
    // The upstream answers 60 ms late: the misses can take no less than that (hits are timed
    // too now, and take what the machine gives them, so only the total pins them).
    assert.ok(counts[3]! + counts[4]! + counts[5]! >= 4, `the misses at 50 ms or more: ${counts.join(' ')}`);
    const shown = await run('latency');
    assert.match(shown.stdout, /^8 answers, average \d+\.\d\d ms\n/);
    assert.match(shown.stdout, /^<1 ms +\d+ +\d+\.\d%$/m);
  });

  test('block and limit a suffix or a client prefix, for SECONDS or until unblock; rules lists them', async (t) => {
    const { dns, run } = await start(t);
    assert.equal(
      (await run('block', 'blocked.example', '300')).stdout,
      'blocked blocked.example. (suffix: drop) for 300 s\n',
    );
    assert.equal(await ask(dns, 'www.blocked.example'), null);
    assert.equal((await run('block', '127.0.0.2')).stdout, 'blocked 127.0.0.2 (prefix: drop) until unblocked\n');
    assert.equal(await ask(dns, 'www.fine.example', CLIENTS[1]), null);
    assert.notEqual(await ask(dns, 'www.fine.example', CLIENTS[0]), null);
    assert.equal(
      (await run('limit', '127.0.0.3', '2', '60')).stdout,
      'limited 127.0.0.3 (prefix) to 2 queries/s for 60 s\n',
    );
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => ask(dns, `b${i}.limit.example`, CLIENTS[2])));
    const passed = burst.filter((r) => r !== null).length;
    assert.ok(passed >= 2 && passed <= 6, `${passed} of 10 at 2 a second`);

    const list = await run('rules');
    assert.match(list.stdout, /^127\.0\.0\.2 +prefix +drop +control +-$/m);
    assert.match(list.stdout, /^127\.0\.0\.3 +prefix +qps 2 +control +(60|59)$/m);
    assert.match(list.stdout, /^blocked\.example\. +suffix +drop +control +(300|29\d)$/m);

    assert.equal((await run('unblock', '127.0.0.2')).stdout, 'unblocked 127.0.0.2\n');
    assert.notEqual(await ask(dns, 'www.fine.example', CLIENTS[1]), null);
    assert.equal((await run('unblock', 'blocked.example')).stdout, 'unblocked blocked.example.\n');
    assert.notEqual(await ask(dns, 'www.blocked.example'), null);
    // A block for 1 s ends by itself.
    await run('block', 'brief.example', '1');
    assert.equal(await ask(dns, 'www.brief.example'), null);
    await waitFor('the block to expire', () => ask(dns, 'www.brief.example'), 5000, 250);
    assert.doesNotMatch((await run('rules')).stdout, /brief\.example/);

    const again = await run('unblock', '127.0.0.2');
    assert.equal(again.status, 1);
    assert.match(again.stderr, /no block or limit for "127\.0\.0\.2"/);
    const badPrefix = await run('block', '999.1');
    assert.equal(badPrefix.status, 1);
    assert.match(badPrefix.stderr, /"999\.1" is not an IPv4 prefix/);
    const badQps = await run('limit', 'x.example', '0');
    assert.equal(badQps.status, 100);
    assert.equal(dns.linesMatching(/^control (block|limit|unblock) /).length, 6);
  });

  test('/metrics: per-upstream series, rule verdicts, the latency histogram', async (t) => {
    const metrics = await freeLoopback(METRICS_PORT);
    const { dns, run } = await start(t, 0, metrics);
    await ask(dns, 'one.metrics.example');
    await ask(dns, 'one.metrics.example');
    await run('block', 'blocked.metrics.example');
    await ask(dns, 'blocked.metrics.example');
    const m = await scrapeMetrics(metrics);
    const server = (await run('--json', 'servers')).stdout;
    const address = JSON.parse(server).servers[0].address as string;
    assert.ok(valueOf(m, 'dnscache_upstream_server_queries_total', { server: address, pool: '@' }) >= 1);
    assert.equal(valueOf(m, 'dnscache_upstream_server_up', { server: address, pool: '@' }), 1);
    assert.equal(valueOf(m, 'dnscache_rule_verdicts_total', { verdict: 'drop' }), 1);
    // One miss and one hit; the dropped question has no answer to time.
    assert.equal(valueOf(m, 'dnscache_response_latency_seconds_count', { source: 'resolution' }), 1);
    assert.equal(valueOf(m, 'dnscache_response_latency_seconds_count', { source: 'cache' }), 1);
    assert.equal(valueOf(m, 'dnscache_response_latency_seconds_count', { source: 'other' }), 0);
  });
});
