// The real process with METRICS on a loopback address: scrape GET /metrics
// over HTTP, parse it strictly, and check that the counters moved by
// exactly what a known set of queries should cause. And LOGFORMAT=json:
// every line on stderr is a JSON object.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { freeLoopback } from '../lab/addresses';
import { query, tcpSession } from '../lab/client';
import { LabServer } from '../lab/server';
import { parseExposition, Parsed, valueOf } from '../unit/metrics-parse';
import {
  clientQueries,
  freshName,
  httpGet as get,
  METRICS_PORT,
  RCODE,
  header,
  scrapeMetrics,
  startLab,
  suiteScope,
} from './fixtures';
import { Dnscache, runDnscacheExpectingFailure, startDnscache } from './harness';

describe('METRICS endpoint', () => {
  const scope = suiteScope();
  let lab: LabServer;
  let dns: Dnscache;
  let metricsAddress: string;

  async function scrape(): Promise<Parsed> {
    const r = await get(metricsAddress, METRICS_PORT, '/metrics');
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    return parseExposition(r.body);
  }

  const q = (p: Parsed, transport: string, rcode: string): number =>
    valueOf(p, 'dnscache_queries_total', { transport, rcode });
  const upstream = (p: Parsed, transport: string): number =>
    valueOf(p, 'dnscache_upstream_queries_total', { transport });

  before(async () => {
    lab = await startLab(scope);
    metricsAddress = await freeLoopback(METRICS_PORT);
    dns = await startDnscache({ upstreams: [lab], env: { METRICS: `${metricsAddress}:${METRICS_PORT}` } }, scope);
  });

  test('the first scrape: valid text, zeros, the cache budget', async () => {
    const p = await scrape();
    assert.equal(q(p, 'udp', 'NOERROR'), 0);
    assert.equal(valueOf(p, 'dnscache_cache_max_bytes'), 1000000);
    assert.equal(valueOf(p, 'dnscache_upstream_rtt_seconds_count', { transport: 'udp' }), 0);
  });

  test('hits, misses, NXDOMAIN, REFUSED, TCP and local answers move the counters by exactly what they are', async () => {
    const before = await scrape();
    const labBefore = clientQueries(lab).length;
    const names = [freshName('m1'), freshName('m2'), freshName('m3')];
    for (const name of names) assert.equal(header((await query(dns, name, 'A')).raw).rcode, RCODE.NOERROR); // 3 misses
    for (const name of names) await query(dns, name, 'A'); // 3 hits
    await query(dns, names[0]!, 'A'); // 1 more hit
    assert.equal(header((await query(dns, 'nosuch-metrics.example.test', 'A')).raw).rcode, RCODE.NXDOMAIN); // miss
    assert.equal(header((await query(dns, 'nosuch-metrics.example.test', 'A')).raw).rcode, RCODE.NXDOMAIN); // hit
    assert.equal(header((await query(dns, names[1]!, 'A', { rd: false })).raw).rcode, RCODE.REFUSED);
    assert.equal(header((await query(dns, 'localhost', 'A')).raw).rcode, RCODE.NOERROR); // local
    const tcp = await tcpSession(dns);
    try {
      assert.equal(header((await tcp.query(names[2]!, 'A')).raw).rcode, RCODE.NOERROR); // hit over TCP
    } finally {
      void tcp.close();
    }

    const after = await scrape();
    const delta = (f: (p: Parsed) => number): number => f(after) - f(before);
    assert.equal(
      delta((p) => q(p, 'udp', 'NOERROR')),
      3 + 4 + 1,
    );
    assert.equal(
      delta((p) => q(p, 'udp', 'NXDOMAIN')),
      2,
    );
    assert.equal(
      delta((p) => q(p, 'udp', 'REFUSED')),
      1,
    );
    assert.equal(
      delta((p) => q(p, 'tcp', 'NOERROR')),
      1,
    );
    assert.equal(
      delta((p) => q(p, 'udp', 'SERVFAIL')),
      0,
    );
    assert.equal(
      delta((p) => valueOf(p, 'dnscache_cache_hits_total')),
      4 + 1 + 1,
    );
    assert.equal(
      delta((p) => valueOf(p, 'dnscache_cache_misses_total')),
      3 + 1,
    );
    assert.equal(
      delta((p) => valueOf(p, 'dnscache_local_answers_total')),
      1,
    );
    // Every question here asked for A: hits, misses and the local one, by type.
    assert.equal(
      delta((p) => valueOf(p, 'dnscache_queries_by_type_total', { type: 'A' })),
      delta(
        (p) =>
          valueOf(p, 'dnscache_cache_hits_total') +
          valueOf(p, 'dnscache_cache_misses_total') +
          valueOf(p, 'dnscache_local_answers_total'),
      ),
    );
    assert.equal(
      delta((p) => valueOf(p, 'dnscache_queries_by_type_total', { type: 'AAAA' })),
      0,
    );
    const answers = (source: string) => (p: Parsed) => valueOf(p, 'dnscache_answers_total', { source });
    assert.equal(delta(answers('cache')), 4 + 1 + 1);
    assert.equal(delta(answers('local')), 1);
    assert.equal(delta(answers('stale')), 0);
    // Every miss went upstream once, over UDP, and the lab saw exactly those.
    const labQueries = clientQueries(lab).slice(labBefore);
    assert.equal(
      delta((p) => upstream(p, 'udp')),
      labQueries.filter((l) => l.transport === 'udp').length,
    );
    assert.equal(
      delta((p) => upstream(p, 'udp')),
      4,
    );
    assert.equal(
      delta((p) => upstream(p, 'tcp')),
      0,
    );
    assert.equal(
      delta((p) => valueOf(p, 'dnscache_upstream_rtt_seconds_count', { transport: 'udp' })),
      4,
    );
    assert.ok(valueOf(after, 'dnscache_upstream_rtt_seconds_sum', { transport: 'udp' }) > 0);
    assert.equal(
      delta((p) => valueOf(p, 'dnscache_upstream_timeouts_total', { transport: 'udp' })),
      0,
    );
    // The cache holds something, within its budget.
    const bytes = valueOf(after, 'dnscache_cache_bytes');
    assert.ok(bytes > 0 && bytes <= valueOf(after, 'dnscache_cache_max_bytes'), `cache bytes ${bytes}`);
    assert.ok(valueOf(after, 'dnscache_cache_entries') >= 4);
    assert.equal(valueOf(after, 'dnscache_cache_memory_bytes'), 1 << 20, 'a few entries take one chunk');
    assert.ok(delta((p) => valueOf(p, 'dnscache_cache_motion_bytes_total')) > 0);
    // Nothing in flight, nothing dropped.
    assert.equal(valueOf(after, 'dnscache_queries_inflight', { transport: 'udp' }), 0);
    assert.equal(valueOf(after, 'dnscache_udp_drops_total'), 0);
    assert.equal(valueOf(after, 'dnscache_tcp_evictions_total'), 0);
  });

  test('answer latency: hits and resolutions in their own histograms, and hits are timed, not counted as 0', async () => {
    const before = await scrape();
    const count = (p: Parsed, source: string): number =>
      valueOf(p, 'dnscache_response_latency_seconds_count', { source });
    const sum = (p: Parsed, source: string): number => valueOf(p, 'dnscache_response_latency_seconds_sum', { source });
    const names = [freshName('lat1'), freshName('lat2')];
    for (const name of names) await query(dns, name, 'A'); // 2 resolutions
    for (const name of names) await query(dns, name, 'A'); // 2 hits
    await query(dns, 'localhost', 'A'); // 1 local
    const after = await scrape();
    assert.equal(count(after, 'resolution') - count(before, 'resolution'), 2);
    assert.equal(count(after, 'cache') - count(before, 'cache'), 2);
    assert.equal(count(after, 'local') - count(before, 'local'), 1);
    assert.ok(sum(after, 'cache') > sum(before, 'cache'), 'a hit waited more than 0 s');
    assert.ok(sum(after, 'resolution') > sum(before, 'resolution'));
  });

  test('identical questions in flight are merged', async () => {
    const before = await scrape();
    const name = freshName('merge');
    await Promise.all([query(dns, name, 'A'), query(dns, name, 'A'), query(dns, name, 'A')]);
    const after = await scrape();
    const merged = valueOf(after, 'dnscache_merged_queries_total') - valueOf(before, 'dnscache_merged_queries_total');
    const hits = valueOf(after, 'dnscache_cache_hits_total') - valueOf(before, 'dnscache_cache_hits_total');
    // Each of the 3 either joined the first one's resolution or, arriving late, hit the cache.
    assert.equal(merged + hits, 2);
    assert.equal(upstream(after, 'udp') - upstream(before, 'udp'), 1);
  });

  test('promtool check metrics finds nothing to say about the exposition (every family, after traffic)', async (t) => {
    const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => fs.existsSync(p));
    if (promtool === undefined) return t.skip('promtool is not installed (Debian package prometheus)');
    // Traffic first, so labelled families (per type, per rcode, per upstream) have samples to lint.
    await query(dns, freshName('promtool'), 'A');
    await query(dns, 'nosuch-promtool.example.test', 'AAAA');
    await query(dns, 'localhost', 'A');
    const body = (await get(metricsAddress, METRICS_PORT, '/metrics')).body;
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
      child.stdin.end(body);
    });
    assert.equal(output.trim(), '', 'promtool lint findings');
    assert.equal(code, 0);
  });

  test('the Grafana dashboard (docs/grafana) asks only for series this process exposes', async () => {
    const dashboard = fs.readFileSync(join(__dirname, '..', '..', '..', 'docs', 'grafana', 'dnscache-ts.json'), 'utf8');
    const exprs = [...dashboard.matchAll(/"expr": "((?:[^"\\]|\\.)*)"/g)].map(
      (m) => JSON.parse(`"${m[1]!}"`) as string,
    );
    assert.ok(exprs.length >= 20, `${exprs.length} queries in the dashboard`);
    const p = await scrape();
    const samples = [...p.values()].flatMap((f) => f.samples);
    const exposed = new Set(samples.map((s) => s.name));
    for (const expr of exprs)
      for (const [name] of expr.matchAll(/\b(?:dnscache|nodejs|process)_[a-z_]+/g))
        assert.ok(exposed.has(name), `${name} (in ${expr}) is not exposed`);
    // Label values the dashboard filters on must exist too, or its panels are silently empty.
    for (const source of ['cache', 'resolution', 'stale'])
      assert.ok(
        samples.some((s) => s.name === 'dnscache_response_latency_seconds_bucket' && s.labels.source === source),
        `a latency histogram for source="${source}"`,
      );
  });

  test('only GET /metrics: 404 elsewhere, and it keeps serving after garbage', async () => {
    assert.equal((await get(metricsAddress, METRICS_PORT, '/')).status, 404);
    assert.equal((await get(metricsAddress, METRICS_PORT, '/metrics/x')).status, 404);
    await new Promise<void>((resolve) => {
      const sock = net.connect({ host: metricsAddress, port: METRICS_PORT }, () =>
        sock.end('\x00\x01 garbage \r\n\r\n'),
      );
      sock.on('error', () => {});
      sock.on('close', () => resolve());
      sock.resume();
    });
    await scrape();
    assert.ok(dns.alive);
  });
});

describe('METRICS start-up errors', () => {
  test('a bad METRICS value stops start-up naming it', async () => {
    const r = await runDnscacheExpectingFailure({ METRICS: 'localhost:9153' });
    assert.equal(r.code, 111);
    assert.match(
      r.stderr,
      /^dnscache: fatal: METRICS: "localhost:9153" has "localhost", which is not an IP address \(expected host:port/m,
    );
  });

  test('a bad LOGFORMAT value stops start-up naming it and the accepted values', async () => {
    const r = await runDnscacheExpectingFailure({ LOGFORMAT: 'xml' });
    assert.equal(r.code, 111);
    assert.match(
      r.stderr,
      /^dnscache: fatal: LOGFORMAT: "xml" is not a log format \(expected one of "dnscache", "djbdns", "json"\)$/m,
    );
  });

  test('an address in use for METRICS is fatal at bind time, before serving', async () => {
    const address = await freeLoopback(0);
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: address, port: 0 }, () => resolve()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runDnscacheExpectingFailure({ METRICS: `${address}:${port}` });
      assert.equal(r.code, 111);
      assert.match(
        r.stderr,
        new RegExp(
          `^dnscache: fatal: unable to listen for METRICS ${address.replace(/\./g, '\\.')}:${port}: .*EADDRINUSE`,
          'm',
        ),
      );
      assert.doesNotMatch(r.stderr, /^starting/m);
    } finally {
      blocker.close();
    }
  });
});

describe('LOGFORMAT=json', () => {
  const scope = suiteScope();
  let lab: LabServer;

  before(async () => {
    lab = await startLab(scope);
  });

  /** startDnscache waits for dnscache's `starting` line; in JSON it is {"time":...,"event":"starting",...}. */
  async function startJson(): Promise<Dnscache> {
    return startDnscache(
      {
        upstreams: [lab],
        env: { LOGFORMAT: 'json' },
        started: { line: /^\{"time":"[^"]+","event":"starting",/, count: 1 },
      },
      scope,
    );
  }

  test('every stderr line is one JSON object, for every kind of event', async () => {
    const dns = await startJson();
    const name = freshName('json');
    await query(dns, name, 'A');
    await query(dns, name, 'A'); // cache hit
    await query(dns, 'nosuch-json.example.test', 'A');
    await query(dns, 'www.example.test', 'MX'); // NODATA
    await query(dns, 'localhost', 'A', { edns: 1232 });
    await query(dns, name, 'A', { transport: 'tcp' });
    await dns.waitForLog(/"event":"tcpclose"/, 3000);
    const status = await dns.stop();
    assert.equal(status, 0);
    assert.ok(dns.logs.length > 10);
    const events = new Set<string>();
    for (const line of dns.logs) {
      let o: unknown;
      assert.doesNotThrow(() => (o = JSON.parse(line)), `not JSON: ${line}`);
      assert.ok(o !== null && typeof o === 'object' && !Array.isArray(o), line);
      const event = (o as { event?: unknown }).event;
      assert.equal(typeof event, 'string', line);
      events.add(event as string);
    }
    for (const e of [
      'starting',
      'query',
      'tx',
      'rr',
      'stats',
      'sent',
      'cached',
      'nxdomain',
      'nodata',
      'tcpopen',
      'tcpclose',
    ]) {
      assert.ok(events.has(e), `no ${e} event in:\n${dns.logs.join('\n')}`);
    }
    const q = dns.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((o) => o.event === 'query' && o.name === `${name}.`)!;
    assert.deepEqual(Object.keys(q), ['time', 'event', 'n', 'transport', 'edns', 'ip', 'port', 'id', 'type', 'name']);
    assert.ok(Math.abs(Date.parse(q.time as string) - Date.now()) < 60_000, `an ISO time of now: ${String(q.time)}`);
    assert.equal(q.transport, 'u');
    assert.equal(q.ip, '127.0.0.1');
    assert.equal(q.type, 'A');
    const nx = dns.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((o) => o.event === 'sent')
      .map((o) => o.rcode);
    assert.ok(nx.includes('NXDOMAIN') && nx.includes('NOERROR'), `sent events carry the RCODE: ${nx.join(' ')}`);
    const waits = dns.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((o) => o.event === 'sent')
      .map((o) => o.ms);
    assert.ok(
      waits.every((ms) => typeof ms === 'number' && ms >= 0 && ms < 60_000),
      `sent events carry the client's wait in ms: ${waits.join(' ')}`,
    );
  });
});

describe("METRICS with WORKERS=2: the primary serves every worker's counters added up", () => {
  const scope = suiteScope();
  let lab: LabServer;
  let dns: Dnscache;
  let metricsAddress: string;

  before(async () => {
    lab = await startLab(scope);
    metricsAddress = await freeLoopback(METRICS_PORT);
    dns = await startDnscache(
      { upstreams: [lab], env: { WORKERS: '2', METRICS: `${metricsAddress}:${METRICS_PORT}` } },
      scope,
    );
    await dns.waitForLogs(/^starting/, 2, 10000);
  });

  const scrape = (): Promise<Parsed> => scrapeMetrics(metricsAddress);

  test('sums queries, cache and upstream counters over both workers; the budget is all of CACHESIZE', async () => {
    const first = await scrape();
    assert.equal(valueOf(first, 'dnscache_cache_max_bytes'), 1000000);
    assert.equal(valueOf(first, 'dnscache_queries_total', { transport: 'udp', rcode: 'NOERROR' }), 0);
    const labBefore = clientQueries(lab).length;
    const names = Array.from({ length: 60 }, () => freshName('mw'));
    for (const round of [1, 2]) {
      const replies = await Promise.all(names.map((n) => query(dns, n, 'A')));
      for (const r of replies) assert.equal(header(r.raw).rcode, RCODE.NOERROR, `round ${round}`);
    }
    const p = await scrape();
    assert.equal(valueOf(p, 'dnscache_queries_total', { transport: 'udp', rcode: 'NOERROR' }), 120);
    const hits = valueOf(p, 'dnscache_cache_hits_total');
    const misses = valueOf(p, 'dnscache_cache_misses_total');
    assert.equal(hits + misses, 120);
    assert.ok(misses >= 60, `every name is a miss once: ${misses}`);
    assert.equal(
      valueOf(p, 'dnscache_upstream_queries_total', { transport: 'udp' }),
      clientQueries(lab).length - labBefore,
    );
    // Every try is answered or times out (on a loaded machine a late answer is a timeout, and the name is asked again).
    const answered = valueOf(p, 'dnscache_upstream_rtt_seconds_count', { transport: 'udp' });
    assert.equal(
      answered + valueOf(p, 'dnscache_upstream_timeouts_total', { transport: 'udp' }),
      clientQueries(lab).length - labBefore,
    );
    assert.ok(valueOf(p, 'dnscache_cache_entries') >= 120, 'an RRset and a reply per name, in one worker or both');
    const memory = valueOf(p, 'dnscache_cache_memory_bytes');
    assert.ok(memory === 1 << 20 || memory === 2 << 20, `a chunk per worker that cached something: ${memory}`);
    assert.ok(valueOf(p, 'process_resident_memory_bytes') > 0);
  });
});
