// The metrics dnscache-ts exports, rendered from a snapshot of the
// service's counters at scrape time. Names, types and labels are listed in
// README.md ("Metrics: `METRICS`"); the serving path only increments
// the integers this reads.

import { getHeapStatistics } from 'node:v8';
import { packageVersion } from '../platform/version';
import { rcodeName, typeName } from '../wire/mnemonics';
import { mergeRouteReports } from '../route/router';
import { RCODE_SLOTS, TYPE_SLOTS } from '../stats/engine';
import { Histogram, HistogramData } from '../stats/histogram';
import { ANSWER_SOURCES, sourceLatencyHistograms } from '../stats/latency';
import { MetricsSnapshot, ProcessStats } from '../stats/snapshot';
import { UpstreamMetrics } from '../stats/upstream';
import { Exposition } from './exposition';
import { mergeServerRows, ServerRow } from '../transport/pools';
import { VERDICT_NAMES } from '../rules/book';

/** Always present (0 until seen), so rates work from the first scrape. */
const ALWAYS_SHOWN = [0, 1, 2, 3, 4, 5, 16];

/** An RCODE slot's label value: the RCODE's name; the last slot (31 and above) is OTHER. */
export function rcodeLabel(slot: number): string {
  return slot === RCODE_SLOTS - 1 ? 'OTHER' : rcodeName(slot);
}

const PROCESS_START = Date.now() / 1000 - process.uptime();

/** Resident memory, if it can be read (it cannot after a chroot without /proc). */
function residentMemory(): number | null {
  try {
    return process.memoryUsage.rss();
  } catch {
    return null;
  }
}

export function ownProcessStats(): ProcessStats {
  const cpu = process.cpuUsage();
  const heap = getHeapStatistics();
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    startTime: Math.round(PROCESS_START),
    residentBytes: residentMemory(),
    heapTotalBytes: heap.total_heap_size,
    heapUsedBytes: heap.used_heap_size,
    externalBytes: heap.external_memory,
  };
}

/** CPU and memory add up; the service started when its first process did. */
export function mergeProcessStats(list: readonly ProcessStats[]): ProcessStats {
  let cpuSeconds = 0;
  let startTime = Infinity;
  let residentBytes: number | null = 0;
  let heapTotalBytes = 0;
  let heapUsedBytes = 0;
  let externalBytes = 0;
  for (const p of list) {
    cpuSeconds += p.cpuSeconds;
    startTime = Math.min(startTime, p.startTime);
    residentBytes = residentBytes === null || p.residentBytes === null ? null : residentBytes + p.residentBytes;
    heapTotalBytes += p.heapTotalBytes;
    heapUsedBytes += p.heapUsedBytes;
    externalBytes += p.externalBytes;
  }
  return { cpuSeconds, startTime, residentBytes, heapTotalBytes, heapUsedBytes, externalBytes };
}

function addInto(sum: Float64Array, part: Float64Array): void {
  for (let i = 0; i < sum.length; i++) sum[i]! += part[i] ?? 0;
}

function addHistogram(into: Histogram, part: HistogramData): void {
  addInto(into.counts, part.counts);
  into.sum += part.sum;
  into.count += part.count;
}

/**
 * The snapshots of WORKERS processes as one: every counter and gauge is a
 * sum (the cache's bytes and budget too: each worker holds its share of
 * CACHESIZE), histograms add bucket by bucket.
 */
export function mergeSnapshots(list: readonly MetricsSnapshot[]): MetricsSnapshot {
  const total = (f: (s: MetricsSnapshot) => number): number => list.reduce((n, s) => n + f(s), 0);
  const replies = new Float64Array(2 * RCODE_SLOTS);
  for (const s of list) addInto(replies, s.engine.replies);
  const byType = new Float64Array(TYPE_SLOTS);
  for (const s of list) addInto(byType, s.engine.byType);
  const upstream = new UpstreamMetrics();
  upstream.udpQueries = total((s) => s.upstream.udpQueries);
  upstream.tcpQueries = total((s) => s.upstream.tcpQueries);
  upstream.udpTimeouts = total((s) => s.upstream.udpTimeouts);
  upstream.tcpTimeouts = total((s) => s.upstream.tcpTimeouts);
  for (const s of list) {
    addHistogram(upstream.udpRtt, s.upstream.udpRtt);
    addHistogram(upstream.tcpRtt, s.upstream.tcpRtt);
  }
  const latencyBySource = sourceLatencyHistograms();
  for (const s of list) s.latencyBySource.forEach((h, i) => addHistogram(latencyBySource[i]!, h));
  const ruleVerdicts = new Float64Array(VERDICT_NAMES.length);
  for (const s of list) addInto(ruleVerdicts, s.ruleVerdicts);
  return {
    latencyBySource,
    ruleVerdicts,
    upstreams:
      list.length === 0 || list[0]!.upstreams.length === 0 ? [] : mergeServerRows(list.map((s) => s.upstreams)),
    engine: {
      queries: total((s) => s.engine.queries),
      cacheHits: total((s) => s.engine.cacheHits),
      cacheMisses: total((s) => s.engine.cacheMisses),
      localAnswers: total((s) => s.engine.localAnswers),
      resolvedReplies: total((s) => s.engine.resolvedReplies),
      errors: total((s) => s.engine.errors),
      replies,
      byType,
    },
    cache: {
      entries: total((s) => s.cache.entries),
      bytes: total((s) => s.cache.bytes),
      maxBytes: total((s) => s.cache.maxBytes),
      motion: total((s) => s.cache.motion),
      memory: total((s) => s.cache.memory),
      inserted: total((s) => s.cache.inserted),
      evicted: total((s) => s.cache.evicted),
    },
    upstream,
    mergedQueries: total((s) => s.mergedQueries),
    staleAnswers: total((s) => s.staleAnswers),
    prefetches: total((s) => s.prefetches),
    resolutionsInflight: total((s) => s.resolutionsInflight),
    udpInflight: total((s) => s.udpInflight),
    udpDrops: total((s) => s.udpDrops),
    tcpConnections: total((s) => s.tcpConnections),
    tcpInflight: total((s) => s.tcpInflight),
    tcpEvictions: total((s) => s.tcpEvictions),
    routes: mergeRouteReports(list.map((s) => s.routes)),
    refusedClients: total((s) => s.refusedClients),
  };
}

export function renderMetrics(s: MetricsSnapshot, proc: ProcessStats = ownProcessStats()): string {
  const e = new Exposition();
  const { engine, cache, upstream } = s;

  e.family('dnscache_queries_total', 'counter', 'Client queries answered, by transport and the RCODE of the reply.');
  for (const [t, transport] of [
    [0, 'udp'],
    [1, 'tcp'],
  ] as const) {
    for (let rcode = 0; rcode < RCODE_SLOTS; rcode++) {
      const v = engine.replies[t * RCODE_SLOTS + rcode]!;
      if (v !== 0 || ALWAYS_SHOWN.includes(rcode))
        e.sample('dnscache_queries_total', v, { transport, rcode: rcodeLabel(rcode) });
    }
  }
  e.family(
    'dnscache_answers_total',
    'counter',
    'Replies by where their answer came from: the reply cache, internal names, a resolution (the cache or upstream), or expired data served because resolution failed (serve-stale).',
  );
  e.sample('dnscache_answers_total', engine.cacheHits, { source: 'cache' });
  e.sample('dnscache_answers_total', engine.localAnswers, { source: 'local' });
  e.sample('dnscache_answers_total', Math.max(0, engine.resolvedReplies - s.staleAnswers), { source: 'resolution' });
  e.sample('dnscache_answers_total', s.staleAnswers, { source: 'stale' });
  e.family(
    'dnscache_queries_by_type_total',
    'counter',
    'Client questions by QTYPE (types seen only; OTHER: types above 255).',
  );
  for (let t = 0; t < TYPE_SLOTS; t++) {
    const v = engine.byType[t]!;
    if (v !== 0 || t === 1 || t === 28)
      e.sample('dnscache_queries_by_type_total', v, { type: t === TYPE_SLOTS - 1 ? 'OTHER' : typeName(t) });
  }
  e.single('dnscache_cache_hits_total', 'counter', 'Client questions answered from the reply cache.', engine.cacheHits);
  e.single(
    'dnscache_cache_misses_total',
    'counter',
    'Client questions not in the reply cache, handed to resolution (which may still find cached records).',
    engine.cacheMisses,
  );
  e.single(
    'dnscache_local_answers_total',
    'counter',
    'Client questions answered internally (localhost, dotted-decimal names, ...).',
    engine.localAnswers,
  );
  e.single(
    'dnscache_merged_queries_total',
    'counter',
    'Questions that joined an identical resolution already in flight.',
    s.mergedQueries,
  );
  e.single(
    'dnscache_prefetches_total',
    'counter',
    'Cached answers asked for in the last tenth of their life and refreshed in the background (prefetch).',
    s.prefetches,
  );
  e.single(
    'dnscache_stale_answers_total',
    'counter',
    'Questions answered with expired data because resolution failed (serve-stale, STALE).',
    s.staleAnswers,
  );
  e.single('dnscache_resolutions_inflight', 'gauge', 'Resolutions in progress.', s.resolutionsInflight);

  e.single('dnscache_cache_bytes', 'gauge', "Bytes the cache holds, charged by dnscache's rule.", cache.bytes);
  e.single('dnscache_cache_max_bytes', 'gauge', 'The cache budget (CACHESIZE), bytes.', cache.maxBytes);
  e.single(
    'dnscache_cache_memory_bytes',
    'gauge',
    'Memory the cache entries take (1 MB chunks outside the JavaScript heap), bytes.',
    cache.memory,
  );
  e.single(
    'dnscache_cache_entries',
    'gauge',
    'Entries in the cache (RRsets, negative answers, replies).',
    cache.entries,
  );
  e.single(
    'dnscache_cache_insertions_total',
    'counter',
    'Entries stored in the cache since start (replacements included).',
    cache.inserted,
  );
  e.single(
    'dnscache_cache_evictions_total',
    'counter',
    'Entries the LRU pushed out of the cache to make room (expired and flushed ones are not counted).',
    cache.evicted,
  );
  e.single(
    'dnscache_cache_motion_bytes_total',
    'counter',
    "Bytes stored in the cache since start (dnscache's cache motion).",
    cache.motion,
  );

  e.family('dnscache_upstream_queries_total', 'counter', 'Queries sent to upstream servers, by transport.');
  e.sample('dnscache_upstream_queries_total', upstream.udpQueries, { transport: 'udp' });
  e.sample('dnscache_upstream_queries_total', upstream.tcpQueries, { transport: 'tcp' });
  e.family('dnscache_upstream_timeouts_total', 'counter', 'Upstream queries that got no answer in time, by transport.');
  e.sample('dnscache_upstream_timeouts_total', upstream.udpTimeouts, { transport: 'udp' });
  e.sample('dnscache_upstream_timeouts_total', upstream.tcpTimeouts, { transport: 'tcp' });
  e.family(
    'dnscache_upstream_rtt_seconds',
    'histogram',
    'Round-trip time of answered upstream queries, by transport (TCP includes the handshake).',
  );
  e.histogram('dnscache_upstream_rtt_seconds', upstream.udpRtt, { transport: 'udp' });
  e.histogram('dnscache_upstream_rtt_seconds', upstream.tcpRtt, { transport: 'tcp' });

  e.family('dnscache_queries_inflight', 'gauge', 'Client queries waiting for a resolution, by transport.');
  e.sample('dnscache_queries_inflight', s.udpInflight, { transport: 'udp' });
  e.sample('dnscache_queries_inflight', s.tcpInflight, { transport: 'tcp' });
  e.single('dnscache_tcp_connections', 'gauge', 'Open client TCP connections.', s.tcpConnections);
  e.single(
    'dnscache_udp_drops_total',
    'counter',
    'UDP queries in progress dropped because MAXUDP were in progress.',
    s.udpDrops,
  );
  e.single(
    'dnscache_tcp_evictions_total',
    'counter',
    'TCP connections closed because MAXTCP were open.',
    s.tcpEvictions,
  );
  e.single(
    'dnscache_refused_clients_total',
    'counter',
    'UDP queries and TCP connections refused: no ip/ entry admits the client, or its source port is one dnscache never answers.',
    s.refusedClients,
  );

  e.family(
    'dnscache_route_queries_total',
    'counter',
    'Questions sent first to the backend of a route (the routes file or etcd), by backend and where the route came from.',
  );
  for (const r of s.routes)
    e.sample('dnscache_route_queries_total', r.queries, { backend: r.backend, source: r.source });
  e.family(
    'dnscache_route_backend_up',
    'gauge',
    'Whether a route backend is in rotation: 1 up (or not checked yet), 0 down at its last check.',
  );
  const backends = new Map<string, number>();
  for (const r of s.routes)
    backends.set(r.backend, Math.min(backends.get(r.backend) ?? 1, r.health === 'down' ? 0 : 1));
  for (const [backend, up] of backends) e.sample('dnscache_route_backend_up', up, { backend });

  e.family(
    'dnscache_response_latency_seconds',
    'histogram',
    'How long clients waited for answers, from the turn that read the question to the reply handed to the socket, by where the answer came from (cache, local, other: rule and error replies, resolution, stale).',
  );
  ANSWER_SOURCES.forEach((source, i) =>
    e.histogram('dnscache_response_latency_seconds', s.latencyBySource[i]!, { source }),
  );
  e.family(
    'dnscache_rule_verdicts_total',
    'counter',
    'Client questions an abuse rule (rules/, ip/ actions, dnscache-ctl block/limit) decided, by verdict; pass: within a qps limit.',
  );
  VERDICT_NAMES.forEach((verdict, i) => e.sample('dnscache_rule_verdicts_total', s.ruleVerdicts[i]!, { verdict }));
  if (s.upstreams.length > 0) {
    const each = (name: string, type: 'counter' | 'gauge', help: string, value: (r: ServerRow) => number): void => {
      e.family(name, type, help);
      for (const r of s.upstreams) e.sample(name, value(r), { server: r.address, pool: r.pool });
    };
    each(
      'dnscache_upstream_server_queries_total',
      'counter',
      'Queries sent to each forwarding upstream (UDP and TCP tries), by server and pool.',
      (r) => r.queries,
    );
    each(
      'dnscache_upstream_server_drops_total',
      'counter',
      'Queries to each forwarding upstream that timed out or failed.',
      (r) => r.drops,
    );
    each(
      'dnscache_upstream_server_inflight',
      'gauge',
      'Queries in flight to each forwarding upstream.',
      (r) => r.outstanding,
    );
    each(
      'dnscache_upstream_server_qps',
      'gauge',
      'Queries sent to each forwarding upstream in the last second.',
      (r) => r.qps,
    );
    each(
      'dnscache_upstream_server_latency_seconds',
      'gauge',
      'Smoothed answer time of each forwarding upstream (0 before its first answer).',
      (r) => r.latencyMs / 1000,
    );
    each(
      'dnscache_upstream_server_up',
      'gauge',
      'Whether each forwarding upstream gets client queries (1) or is down (0), checked or forced.',
      (r) => (r.state === 'up' ? 1 : 0),
    );
  }

  e.family('dnscache_build_info', 'gauge', 'Always 1: the dnscache-ts version and the Node.js it runs on, as labels.');
  e.sample('dnscache_build_info', 1, { version: packageVersion(), node: process.version });
  // V8's own figures: read without /proc, so they are there in the chroot too (process_resident_memory_bytes is not).
  e.single(
    'nodejs_heap_size_total_bytes',
    'gauge',
    'V8 heap reserved, bytes (summed over the processes of WORKERS).',
    proc.heapTotalBytes,
  );
  e.single(
    'nodejs_heap_size_used_bytes',
    'gauge',
    'V8 heap in use, bytes (summed over the processes of WORKERS).',
    proc.heapUsedBytes,
  );
  e.single(
    'nodejs_external_memory_bytes',
    'gauge',
    'Memory outside the V8 heap that JavaScript objects hold (buffers; the cache chunks are among them), bytes.',
    proc.externalBytes,
  );
  e.single('process_cpu_seconds_total', 'counter', 'User and system CPU time spent, seconds.', proc.cpuSeconds);
  e.single(
    'process_start_time_seconds',
    'gauge',
    'Start time of the process since the Unix epoch, seconds.',
    proc.startTime,
  );
  if (proc.residentBytes !== null)
    e.single('process_resident_memory_bytes', 'gauge', 'Resident memory size, bytes.', proc.residentBytes);
  return e.text();
}
