// The Prometheus exposition (format 0.0.4) and the counters behind it: the
// writer's escaping and histograms, the whole rendered text parsed back
// strictly, the engine's per-RCODE reply counts and the metered RTT table.

import { packageVersion } from '../../src/platform/version';
import { RCODE_SLOTS, TYPE_SLOTS } from '../../src/stats/engine';
import { VERDICT_NAMES } from '../../src/rules/book';
import {
  coarsened,
  LATENCY_BOUNDS_S,
  sourceLatencyHistograms,
  SOURCE_CACHE,
  SOURCE_STALE,
} from '../../src/stats/latency';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cache } from '../../src/cache/cache';
import { MemorySink, Log } from '../../src/log/log';
import { realClock } from '../../src/platform/clock';
import { mergeProcessStats, mergeSnapshots, renderMetrics, rcodeLabel } from '../../src/metrics/collect';
import { escapeHelp, escapeLabelValue, Exposition, formatValue } from '../../src/metrics/exposition';
import { Histogram } from '../../src/stats/histogram';
import { MetricsSnapshot } from '../../src/stats/snapshot';
import { MeteredRttTable, RTT_BUCKETS, UpstreamMetrics } from '../../src/stats/upstream';
import { Fetched, Fetcher, Resolver } from '../../src/resolve/resolver';
import { ScrubbedReply } from '../../src/resolve/scrub';
import { Engine, Pending } from '../../src/server/engine';
import { RttTable } from '../../src/transport/rtt';
import { Endpoint } from '../../src/transport/udp';
import { ipv4, rawQuery, rr, soaRdata } from './helpers';
import { parseExposition, valueOf } from './metrics-parse';

describe('exposition writer', () => {
  it('formats values as the format spells them', () => {
    assert.equal(formatValue(0), '0');
    assert.equal(formatValue(12345678901234), '12345678901234');
    assert.equal(formatValue(0.0005), '0.0005');
    assert.equal(formatValue(NaN), 'NaN');
    assert.equal(formatValue(Infinity), '+Inf');
    assert.equal(formatValue(-Infinity), '-Inf');
  });

  it('escapes label values and HELP text', () => {
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    assert.equal(escapeHelp('a\\b\nc "quoted"'), 'a\\\\b\\nc "quoted"');
    const text = new Exposition()
      .family('x_total', 'counter', 'odd \\ help\nline')
      .sample('x_total', 1, { v: 'a"\\\n' })
      .text();
    const parsed = parseExposition(text);
    assert.equal(parsed.get('x_total')!.samples[0]!.labels.v, 'a"\\\n');
  });

  it('refuses a family written twice', () => {
    const e = new Exposition().family('x', 'gauge', 'h');
    assert.throws(() => e.family('x', 'gauge', 'h'));
  });

  it('histogram: le is inclusive, buckets cumulative, +Inf = count', () => {
    const h = new Histogram([0.001, 0.01, 0.1]);
    for (const v of [0.0005, 0.001, 0.002, 0.01, 0.05, 3, 7]) h.observe(v);
    h.observe(NaN); // ignored
    const parsed = parseExposition(
      new Exposition().family('rtt_seconds', 'histogram', 'h').histogram('rtt_seconds', h, { transport: 'udp' }).text(),
    );
    const buckets = parsed
      .get('rtt_seconds')!
      .samples.filter((s) => s.name === 'rtt_seconds_bucket')
      .map((s) => [s.labels.le, s.value]);
    assert.deepEqual(buckets, [
      ['0.001', 2],
      ['0.01', 4],
      ['0.1', 5],
      ['+Inf', 7],
    ]);
    assert.equal(valueOf(parsed, 'rtt_seconds_count', { transport: 'udp' }), 7);
    assert.ok(Math.abs(valueOf(parsed, 'rtt_seconds_sum') - 10.0635) < 1e-9);
  });

  it('the strict reader rejects broken text', () => {
    assert.throws(() => parseExposition('x 1\n'), /before its family/);
    assert.throws(() => parseExposition('# TYPE x counter\nx 1\n'), /HELP/);
    assert.throws(() => parseExposition('# HELP x h\n# TYPE x counter\nx{a="b} 1\n'), /unterminated|not a sample/);
    assert.throws(() => parseExposition('# HELP x h\n# TYPE x counter\nx one\n'), /not a float/);
    const badHistogram =
      '# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n';
    assert.throws(() => parseExposition(badHistogram), /cumulative/);
  });
});

/** 9 A, 4 AAAA and one CAA (257: the last slot) questions. */
function byType(): Float64Array {
  const t = new Float64Array(TYPE_SLOTS);
  t[1] = 9;
  t[28] = 4;
  t[TYPE_SLOTS - 1] = 1;
  return t;
}

function snapshot(over: Partial<MetricsSnapshot> = {}): MetricsSnapshot {
  const replies = new Float64Array(2 * RCODE_SLOTS);
  replies[0] = 10; // udp noerror
  replies[3] = 2; // udp nxdomain
  replies[RCODE_SLOTS + 5] = 1; // tcp refused
  replies[9] = 4; // udp rcode 9: shown because non-zero
  replies[RCODE_SLOTS - 1] = 1; // udp "other"
  const upstream = new UpstreamMetrics();
  upstream.udpQueries = 7;
  upstream.tcpQueries = 1;
  upstream.udpTimeouts = 2;
  for (const s of [0.0003, 0.002, 0.04, 9]) upstream.udpRtt.observe(s);
  return {
    engine: {
      queries: 14,
      cacheHits: 5,
      cacheMisses: 8,
      localAnswers: 1,
      resolvedReplies: 7,
      errors: 1,
      replies,
      byType: byType(),
    },
    cache: { entries: 3, bytes: 420, maxBytes: 1000000, motion: 999, memory: 1048576, inserted: 7, evicted: 2 },
    upstream,
    mergedQueries: 2,
    staleAnswers: 0,
    prefetches: 0,
    resolutionsInflight: 1,
    udpInflight: 4,
    udpDrops: 6,
    tcpConnections: 2,
    tcpInflight: 1,
    tcpEvictions: 3,
    refusedClients: 4,
    routes: [
      { source: 'routes line 1', backend: '127.0.0.1:5300', pattern: '\\.a\\.$', health: 'up', queries: 5 },
      { source: 'etcd key /dnsrouter/x', backend: '127.0.0.2:5300', pattern: '\\.b\\.$', health: 'down', queries: 2 },
    ],
    latencyBySource: sourceLatencyHistograms(),
    ruleVerdicts: new Float64Array(VERDICT_NAMES.length),
    upstreams: [],
    ...over,
  };
}

describe('renderMetrics', () => {
  it('questions by type: seen types by name, A and AAAA always, the rest as OTHER', () => {
    const p = parseExposition(renderMetrics(snapshot()));
    assert.equal(valueOf(p, 'dnscache_queries_by_type_total', { type: 'A' }), 9);
    assert.equal(valueOf(p, 'dnscache_queries_by_type_total', { type: 'AAAA' }), 4);
    assert.equal(valueOf(p, 'dnscache_queries_by_type_total', { type: 'OTHER' }), 1);
    assert.throws(() => valueOf(p, 'dnscache_queries_by_type_total', { type: 'MX' }), /0 samples/);
    const two = parseExposition(renderMetrics(mergeSnapshots([snapshot(), snapshot()])));
    assert.equal(valueOf(two, 'dnscache_queries_by_type_total', { type: 'A' }), 18);
  });

  it('answers by source: the reply cache, local names, resolution, serve-stale', () => {
    const p = parseExposition(renderMetrics(snapshot({ staleAnswers: 2 })));
    assert.deepEqual(
      ['cache', 'local', 'resolution', 'stale'].map((source) => valueOf(p, 'dnscache_answers_total', { source })),
      [5, 1, 5, 2],
    );
  });

  it('answer latency by source: one histogram each, hits and misses apart, added up over WORKERS', () => {
    const s = snapshot();
    const [cache, stale] = [s.latencyBySource[SOURCE_CACHE]!, s.latencyBySource[SOURCE_STALE]!];
    (cache as ReturnType<typeof sourceLatencyHistograms>[number]).observeMany(0.00004, 30);
    (stale as ReturnType<typeof sourceLatencyHistograms>[number]).observe(1.8);
    const p = parseExposition(renderMetrics(mergeSnapshots([s, s])));
    const count = (source: string): number => valueOf(p, 'dnscache_response_latency_seconds_count', { source });
    assert.deepEqual(['cache', 'local', 'other', 'resolution', 'stale'].map(count), [60, 0, 0, 0, 2]);
    assert.equal(valueOf(p, 'dnscache_response_latency_seconds_bucket', { source: 'cache', le: '0.00005' }), 60);
    assert.equal(valueOf(p, 'dnscache_response_latency_seconds_bucket', { source: 'stale', le: '1' }), 0);
    assert.equal(valueOf(p, 'dnscache_response_latency_seconds_bucket', { source: 'stale', le: '2.5' }), 2);
  });

  it("dnscache-ctl latency's dnsdist buckets are the per-source histograms added up and coarsened, exactly", () => {
    const [cache, resolution] = [sourceLatencyHistograms()[0]!, sourceLatencyHistograms()[3]!];
    const values = [0.00003, 0.0009, 0.001, 0.0011, 0.04, 0.05, 0.2, 0.99, 1, 2, 7];
    const direct = new Histogram(LATENCY_BOUNDS_S);
    values.forEach((v, i) => {
      (i % 2 === 0 ? cache : resolution).observe(v);
      direct.observe(v);
    });
    const made = coarsened([cache, resolution], LATENCY_BOUNDS_S);
    assert.deepEqual([...made.counts], [...direct.counts]);
    assert.deepEqual([...made.counts], [3, 1, 2, 0, 3, 2]);
    assert.equal(made.count, values.length);
    assert.ok(Math.abs(made.sum - direct.sum) < 1e-12);
    assert.throws(() => coarsened([cache], [0.003]), /bound 0\.003 is not one of the histogram's/);
  });

  it('refused clients are counted', () => {
    assert.match(renderMetrics(snapshot()), /^dnscache_refused_clients_total 4$/m);
  });

  it('routes: questions per route, and whether each backend is in rotation', () => {
    const text = renderMetrics(snapshot());
    assert.match(text, /^dnscache_route_queries_total\{backend="127\.0\.0\.1:5300",source="routes line 1"\} 5$/m);
    assert.match(
      text,
      /^dnscache_route_queries_total\{backend="127\.0\.0\.2:5300",source="etcd key \/dnsrouter\/x"\} 2$/m,
    );
    assert.match(text, /^dnscache_route_backend_up\{backend="127\.0\.0\.1:5300"\} 1$/m);
    assert.match(text, /^dnscache_route_backend_up\{backend="127\.0\.0\.2:5300"\} 0$/m);
  });

  it('every line is valid 0.0.4 text, with HELP and TYPE for each family', () => {
    const text = renderMetrics(snapshot());
    const parsed = parseExposition(text);
    for (const line of text.trimEnd().split('\n')) assert.ok(!line.startsWith(' ') && line.length > 0, line);
    const expected: Record<string, string> = {
      dnscache_queries_total: 'counter',
      dnscache_cache_hits_total: 'counter',
      dnscache_cache_misses_total: 'counter',
      dnscache_local_answers_total: 'counter',
      dnscache_cache_bytes: 'gauge',
      dnscache_cache_max_bytes: 'gauge',
      dnscache_cache_memory_bytes: 'gauge',
      dnscache_cache_entries: 'gauge',
      dnscache_cache_motion_bytes_total: 'counter',
      dnscache_upstream_queries_total: 'counter',
      dnscache_upstream_rtt_seconds: 'histogram',
      dnscache_upstream_timeouts_total: 'counter',
      dnscache_udp_drops_total: 'counter',
      dnscache_tcp_evictions_total: 'counter',
      dnscache_queries_inflight: 'gauge',
      dnscache_tcp_connections: 'gauge',
      dnscache_merged_queries_total: 'counter',
      dnscache_stale_answers_total: 'counter',
      dnscache_prefetches_total: 'counter',
      dnscache_resolutions_inflight: 'gauge',
      process_cpu_seconds_total: 'counter',
      process_start_time_seconds: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) {
      assert.equal(parsed.get(name)?.type, type, name);
      assert.ok(parsed.get(name)!.help.length > 0, name);
    }
    for (const f of parsed.values()) {
      if (f.type === 'counter') assert.match(f.name, /_total$/, `counter ${f.name} ends in _total`);
    }
  });

  it('queries by transport and RCODE name; the common RCODEs always present', () => {
    const p = parseExposition(renderMetrics(snapshot()));
    assert.equal(valueOf(p, 'dnscache_queries_total', { transport: 'udp', rcode: 'NOERROR' }), 10);
    assert.equal(valueOf(p, 'dnscache_queries_total', { transport: 'udp', rcode: 'NXDOMAIN' }), 2);
    assert.equal(valueOf(p, 'dnscache_queries_total', { transport: 'tcp', rcode: 'REFUSED' }), 1);
    assert.equal(valueOf(p, 'dnscache_queries_total', { transport: 'udp', rcode: 'NOTAUTH' }), 4);
    assert.equal(valueOf(p, 'dnscache_queries_total', { transport: 'udp', rcode: 'OTHER' }), 1);
    for (const t of ['udp', 'tcp']) {
      for (const rcode of ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'BADVERS']) {
        assert.equal(typeof valueOf(p, 'dnscache_queries_total', { transport: t, rcode }), 'number');
      }
    }
    assert.throws(() => valueOf(p, 'dnscache_queries_total', { transport: 'tcp', rcode: 'NOTAUTH' }), /0 samples/);
    assert.equal(rcodeLabel(12), 'RCODE12');
    assert.equal(rcodeLabel(31), 'OTHER');
  });

  it('cache, upstream, drops and gauges carry the snapshot', () => {
    const p = parseExposition(renderMetrics(snapshot()));
    assert.equal(valueOf(p, 'dnscache_cache_hits_total'), 5);
    assert.equal(valueOf(p, 'dnscache_cache_misses_total'), 8);
    assert.equal(valueOf(p, 'dnscache_cache_bytes'), 420);
    assert.equal(valueOf(p, 'dnscache_cache_max_bytes'), 1000000);
    assert.equal(valueOf(p, 'dnscache_cache_entries'), 3);
    assert.equal(valueOf(p, 'dnscache_cache_memory_bytes'), 1048576);
    assert.equal(valueOf(p, 'dnscache_upstream_queries_total', { transport: 'udp' }), 7);
    assert.equal(valueOf(p, 'dnscache_upstream_queries_total', { transport: 'tcp' }), 1);
    assert.equal(valueOf(p, 'dnscache_upstream_timeouts_total', { transport: 'udp' }), 2);
    assert.equal(valueOf(p, 'dnscache_upstream_rtt_seconds_count', { transport: 'udp' }), 4);
    assert.equal(valueOf(p, 'dnscache_upstream_rtt_seconds_bucket', { transport: 'udp', le: '0.0005' }), 1);
    assert.equal(valueOf(p, 'dnscache_upstream_rtt_seconds_bucket', { transport: 'udp', le: '5' }), 3);
    assert.equal(valueOf(p, 'dnscache_upstream_rtt_seconds_bucket', { transport: 'udp', le: '+Inf' }), 4);
    assert.equal(valueOf(p, 'dnscache_upstream_rtt_seconds_count', { transport: 'tcp' }), 0);
    assert.equal(valueOf(p, 'dnscache_udp_drops_total'), 6);
    assert.equal(valueOf(p, 'dnscache_tcp_evictions_total'), 3);
    assert.equal(valueOf(p, 'dnscache_queries_inflight', { transport: 'udp' }), 4);
    assert.equal(valueOf(p, 'dnscache_queries_inflight', { transport: 'tcp' }), 1);
    assert.equal(valueOf(p, 'dnscache_tcp_connections'), 2);
    assert.equal(valueOf(p, 'dnscache_merged_queries_total'), 2);
    const les = p
      .get('dnscache_upstream_rtt_seconds')!
      .samples.filter((s) => s.name.endsWith('_bucket') && s.labels.transport === 'udp')
      .map((s) => s.labels.le);
    assert.deepEqual(les, [...RTT_BUCKETS.map(String), '+Inf']);
    assert.equal(RTT_BUCKETS[0], 0.0005);
    assert.equal(RTT_BUCKETS[RTT_BUCKETS.length - 1], 5);
  });
});

describe('engine reply counters', () => {
  const A = 1;
  const SERVER = '192.0.2.53';

  /** The stub's verdicts stand alone: the resolver reads only a referral's scrubbed reply. */
  const EMPTY_REPLY: ScrubbedReply = { rcode: 0, aa: true, answer: [], authority: [], additional: [], strayNs: null };
  /** Answers www.* with an A record, everything else NXDOMAIN; counts fetches. */
  class StubFetcher implements Fetcher {
    fetches = 0;
    async fetch(name: string): Promise<Fetched> {
      this.fetches++;
      if (name.startsWith('\x03www')) {
        return {
          kind: 'verdict',
          server: SERVER,
          reply: EMPTY_REPLY,
          verdict: { kind: 'answer', records: [rr(`www.example.test`, A, ipv4('192.0.2.1'))] },
        };
      }
      const soa = rr('example.test', 6, soaRdata(), 300);
      return {
        kind: 'verdict',
        server: SERVER,
        reply: EMPTY_REPLY,
        verdict: { kind: 'nxdomain', soa, negativeTtl: 300 },
      };
    }
  }

  function setup(): { engine: Engine; fetcher: StubFetcher; sink: MemorySink } {
    const cache = new Cache(1_000_000);
    const sink = new MemorySink();
    const log = new Log(sink);
    const fetcher = new StubFetcher();
    return { engine: new Engine(cache, new Resolver(cache, fetcher, log, realClock), log, false), fetcher, sink };
  }

  const udp = { address: '127.0.0.1', port: 40000, transport: 'u' as const };
  const tcp = { address: '127.0.0.1', port: 40000, transport: 't' as const };

  async function reply(engine: Engine, packet: Buffer, client: typeof udp | typeof tcp): Promise<Buffer | null> {
    const h = engine.handle(packet, client.address, client.port, client.transport);
    if (h === null) return null;
    if (Buffer.isBuffer(h)) return h;
    const bytes = await h.reply;
    // The listener counts pending replies when it sends them.
    if (bytes) engine.countReply(client.transport, bytes[3]! & 0x0f);
    return bytes;
  }

  it('counts immediate replies by RCODE (errors, local answers, cache hits) and misses', async () => {
    const { engine, fetcher } = setup();
    const c = engine.counters;
    await reply(engine, rawQuery('localhost', A), udp); // local NOERROR
    await reply(engine, rawQuery('x.invalid', A), udp); // local NXDOMAIN
    await reply(engine, rawQuery('www.example.test', A, { flags2: 0 }), udp); // RD=0: REFUSED
    await reply(engine, rawQuery('www.example.test', A, { flags2: 0x01 | (2 << 3) }), tcp); // opcode 2: NOTIMP
    await reply(engine, rawQuery('www.example.test', A, { edns: { version: 1 } }), udp); // BADVERS (16)
    await reply(engine, rawQuery('www.example.test', A), udp); // miss, resolved NOERROR
    await reply(engine, rawQuery('www.example.test', A), udp); // reply-cache hit
    await reply(engine, rawQuery('www.example.test', A), tcp); // hit over TCP
    await reply(engine, rawQuery('nosuch.example.test', A), udp); // miss, NXDOMAIN
    await reply(engine, rawQuery('nosuch.example.test', A), udp); // hit, NXDOMAIN
    await reply(engine, Buffer.alloc(5), udp); // shorter than a header: no reply, not counted
    const r = c.replies;
    assert.equal(r[0], 3, 'udp noerror: localhost, resolved, hit');
    assert.equal(r[3], 3, 'udp nxdomain: .invalid, resolved, hit');
    assert.equal(r[5], 1, 'udp refused');
    assert.equal(r[16], 1, 'udp badvers');
    assert.equal(r[RCODE_SLOTS + 4], 1, 'tcp notimp');
    assert.equal(r[RCODE_SLOTS + 0], 1, 'tcp noerror (hit)');
    assert.equal(
      r.reduce((a, b) => a + b, 0),
      10,
    );
    assert.equal(c.cacheHits, 3);
    assert.equal(c.cacheMisses, 2);
    assert.equal(c.localAnswers, 2);
    assert.equal(fetcher.fetches, 2);
  });

  it('a waiting query calls the sender it was attached to, once, with its `to`; a sender that throws costs a warning, not the process', async () => {
    const { engine, sink } = setup();
    const calls: Array<[number, number | undefined, string]> = [];
    const h = engine.handle(rawQuery('www.example.test', A, { id: 77 }), udp.address, udp.port, 'u');
    assert.ok(h instanceof Pending);
    h.attach(
      {
        replyReady: (p: Pending, bytes: Buffer | null, to: string) =>
          void calls.push([p.n, bytes?.readUInt16BE(0), to]),
      },
      'peer-1',
    );
    const bytes = await h.reply;
    assert.deepEqual(calls, [[h.n, 77, 'peer-1']]);
    assert.equal(bytes?.readUInt16BE(0), 77);

    const bad = engine.handle(rawQuery('other.example.test', A), udp.address, udp.port, 'u');
    assert.ok(bad instanceof Pending);
    bad.attach(
      {
        replyReady: () => {
          throw new Error('sender bug');
        },
      },
      null,
    );
    assert.ok(Buffer.isBuffer(await bad.reply), 'the reply is still made');
    assert.ok(
      sink.lines.some((l) => l.includes(`query ${bad.n}`) && l.includes('sender bug')),
      sink.lines.join('\n'),
    );
  });
});

describe('MeteredRttTable', () => {
  const server: Endpoint = { address: '192.0.2.1', port: 53, family: 4 };
  const other: Endpoint = { address: '192.0.2.2', port: 53, family: 4 };

  it('feeds RTT and timeouts to the metrics, and orders servers as RttTable does', () => {
    const m = new UpstreamMetrics();
    const metered = new MeteredRttTable(m);
    const plain = new RttTable();
    for (const t of [metered, plain]) {
      t.answered(server, 12);
      t.timedOut(other, 1000);
      t.answered(server, 0.4);
    }
    assert.deepEqual(metered.order([other, server]), plain.order([other, server]));
    assert.equal(metered.timeout(server), plain.timeout(server));
    assert.equal(m.udpRtt.count, 2);
    assert.equal(m.udpRtt.counts[0], 1, '0.4 ms is in the 0.5 ms bucket');
    assert.ok(Math.abs(m.udpRtt.sum - 0.0124) < 1e-12);
    assert.equal(m.udpTimeouts, 1);
    metered.tcpOutcome(server, { kind: 'reply', bytes: Buffer.alloc(12), rttMs: 30 });
    metered.tcpOutcome(server, { kind: 'timeout' });
    metered.tcpOutcome(server, { kind: 'error', message: 'refused' });
    assert.equal(m.tcpRtt.count, 1);
    assert.equal(m.tcpTimeouts, 1);
    m.sent('udp');
    m.sent('tcp');
    m.sent('udp');
    assert.deepEqual([m.udpQueries, m.tcpQueries], [2, 1]);
  });
});

describe('rendering a live service snapshot', () => {
  it('a fresh snapshot parses', () => {
    const s = snapshot({ upstream: new UpstreamMetrics(), cache: new Cache(100).stats() });
    const p = parseExposition(renderMetrics(s));
    assert.equal(valueOf(p, 'dnscache_cache_max_bytes'), 100);
    assert.equal(valueOf(p, 'dnscache_upstream_rtt_seconds_bucket', { transport: 'udp', le: '+Inf' }), 0);
  });
});

describe('mergeSnapshots (WORKERS)', () => {
  it('adds every counter, gauge, RCODE slot and histogram bucket; the cache budgets add up to CACHESIZE', () => {
    const a = snapshot({
      cache: { entries: 3, bytes: 420, maxBytes: 500000, motion: 999, memory: 1048576, inserted: 7, evicted: 2 },
    });
    const b = snapshot({
      cache: { entries: 5, bytes: 80, maxBytes: 500000, motion: 1, memory: 2097152, inserted: 1, evicted: 0 },
      mergedQueries: 7,
    });
    b.upstream.tcpRtt.observe(0.5);
    const p = parseExposition(
      renderMetrics(mergeSnapshots([a, b]), {
        cpuSeconds: 3,
        startTime: 1000,
        residentBytes: 10,
        heapTotalBytes: 4096,
        heapUsedBytes: 2048,
        externalBytes: 512,
      }),
    );
    assert.equal(valueOf(p, 'dnscache_queries_total', { transport: 'udp', rcode: 'NOERROR' }), 20);
    assert.equal(valueOf(p, 'dnscache_queries_total', { transport: 'tcp', rcode: 'REFUSED' }), 2);
    assert.equal(valueOf(p, 'dnscache_queries_total', { transport: 'udp', rcode: 'OTHER' }), 2);
    assert.equal(valueOf(p, 'dnscache_cache_hits_total'), 10);
    assert.equal(valueOf(p, 'dnscache_cache_max_bytes'), 1000000);
    assert.equal(valueOf(p, 'dnscache_cache_entries'), 8);
    assert.equal(valueOf(p, 'dnscache_cache_memory_bytes'), 3 * 1048576);
    assert.equal(valueOf(p, 'dnscache_cache_motion_bytes_total'), 1000);
    assert.equal(valueOf(p, 'dnscache_merged_queries_total'), 9);
    assert.equal(valueOf(p, 'dnscache_upstream_queries_total', { transport: 'udp' }), 14);
    assert.equal(valueOf(p, 'dnscache_upstream_rtt_seconds_count', { transport: 'udp' }), 8);
    assert.equal(valueOf(p, 'dnscache_upstream_rtt_seconds_bucket', { transport: 'udp', le: '0.0005' }), 2);
    assert.equal(valueOf(p, 'dnscache_upstream_rtt_seconds_count', { transport: 'tcp' }), 1);
    assert.equal(valueOf(p, 'dnscache_tcp_evictions_total'), 6);
    assert.equal(valueOf(p, 'process_cpu_seconds_total'), 3);
    assert.equal(valueOf(p, 'dnscache_cache_insertions_total'), 8);
    assert.equal(valueOf(p, 'dnscache_cache_evictions_total'), 2);
    assert.equal(valueOf(p, 'nodejs_heap_size_used_bytes'), 2048);
    assert.equal(valueOf(p, 'nodejs_external_memory_bytes'), 512);
    assert.equal(valueOf(p, 'dnscache_build_info', { version: packageVersion(), node: process.version }), 1);
  });

  it('process figures: CPU and memory add up, the start is the earliest; memory unknown anywhere is left out', () => {
    assert.deepEqual(
      mergeProcessStats([
        {
          cpuSeconds: 1.5,
          startTime: 2000,
          residentBytes: 100,
          heapTotalBytes: 10,
          heapUsedBytes: 5,
          externalBytes: 1,
        },
        { cpuSeconds: 2, startTime: 1990, residentBytes: 50, heapTotalBytes: 20, heapUsedBytes: 6, externalBytes: 2 },
      ]),
      { cpuSeconds: 3.5, startTime: 1990, residentBytes: 150, heapTotalBytes: 30, heapUsedBytes: 11, externalBytes: 3 },
    );
    const unknown = mergeProcessStats([
      { cpuSeconds: 1, startTime: 5, residentBytes: 100, heapTotalBytes: 1, heapUsedBytes: 1, externalBytes: 1 },
      { cpuSeconds: 1, startTime: 5, residentBytes: null, heapTotalBytes: 1, heapUsedBytes: 1, externalBytes: 1 },
    ]);
    assert.equal(unknown.residentBytes, null);
    const text = renderMetrics(snapshot(), unknown);
    assert.ok(!text.includes('process_resident_memory_bytes'));
  });
});
