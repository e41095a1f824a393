// What a metrics scrape reads: the server gathers a snapshot, metrics/
// renders it, and under WORKERS each worker sends its own to the primary,
// which adds them up. The shapes live here, below all three.

import type { CacheStats } from '../cache/cache';
import type { RouteReport } from '../route/router';
import type { ServerRow } from '../transport/pools';
import { EngineCounters } from './engine';
import { HistogramData } from './histogram';
import { UpstreamMetrics } from './upstream';

/** Everything a scrape reads, gathered by the service when asked. */
export interface MetricsSnapshot {
  readonly engine: EngineCounters;
  readonly cache: CacheStats;
  readonly upstream: UpstreamMetrics;
  /** Questions that joined an identical resolution in flight. */
  readonly mergedQueries: number;
  /** Questions answered with stale data because resolution failed (serve-stale). */
  readonly staleAnswers: number;
  /** Cached answers refreshed in the background before they expired. */
  readonly prefetches: number;
  readonly resolutionsInflight: number;
  readonly udpInflight: number;
  readonly udpDrops: number;
  readonly tcpConnections: number;
  readonly tcpInflight: number;
  readonly tcpEvictions: number;
  /** The routes in force, their backends' health and their queries. */
  readonly routes: readonly RouteReport[];
  /** UDP queries and TCP connections refused (no ip/ entry, or a source port dnscache never answers). */
  readonly refusedClients: number;
  /** How long clients waited for answers, by where the answer came from, in ANSWER_SOURCES order (Engine.latencyBySource). */
  readonly latencyBySource: readonly HistogramData[];
  /** Questions each rule verdict was given (RuleBook.counters, by VERDICT_NAMES). */
  readonly ruleVerdicts: Float64Array;
  /** FORWARDONLY's upstreams, pool by pool (none when iterating). */
  readonly upstreams: readonly ServerRow[];
}

/** The process_* metrics: of this process, or summed over the processes of WORKERS. */
export interface ProcessStats {
  readonly cpuSeconds: number;
  /** Since the Unix epoch, seconds. */
  readonly startTime: number;
  readonly residentBytes: number | null;
  readonly heapTotalBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
}
