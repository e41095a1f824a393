// Wires one running resolver together from a Config: cache, resolver,
// engine, listeners, the periodic cache sweep; and takes it apart again.

import { ClientAcl } from '../acl/acl';
import { Cache } from '../cache/cache';
import { Config, ServerTable } from '../config';
import { readReloadable, ReloadOutcome, SwappableServerTable } from '../config/reload';
import { Log } from '../log/log';
import type { Clock, Timer } from '../platform/clock';
import { Random } from '../random/random';
import { ForwardFetcher, UpstreamDeps } from '../resolve/forward';
import { HealthChecker } from '../transport/health-check';
import { HealthTable } from '../transport/health';
import { UpstreamLoad } from '../transport/load';
import { UpstreamPools } from '../transport/pools';
import { IterativeFetcher } from '../resolve/iterate';
import { CurveClient } from '../transport/curve/client';
import { Fetcher, Resolver } from '../resolve/resolver';
import { RoutingFetcher } from '../resolve/routed';
import { EtcdRoutes } from '../route/etcd';
import { BackendHealth, tcpChecker } from '../route/health';
import { serverId } from '../transport/rtt';
import { TimeoutWheel } from '../transport/timeouts';
import { Router } from '../route/router';
import { MetricsSnapshot } from '../stats/snapshot';
import { MeteredRttTable, UpstreamMetrics } from '../stats/upstream';
import { join } from 'node:path';
import { RuleBook } from '../rules/book';
import { Engine } from './engine';
import { RefusedClients } from './refused';
import { TcpListener } from './tcp';
import { UdpListener } from './udp';

const SWEEP_MS = 60000;
/** How long a route backend's health check waits for its answer. */
const ROUTE_CHECK_TIMEOUT_MS = 1000;

export class Service {
  readonly cache: Cache;
  readonly resolver: Resolver;
  readonly engine: Engine;
  private readonly udp: UdpListener;
  private readonly tcp: TcpListener;
  private readonly acl: ClientAcl;
  private sweeper: Timer | null = null;
  private rootDir: string;
  /** servers/ as in force now: replaced as a whole by reload(). */
  private readonly serverTable: SwappableServerTable;
  /** Datagrams and connections sent upstream, for `dnscache-ctl stats` and tests (metrics read upstreamMetrics). */
  upstreamQueries = 0;
  /** Upstream queries, RTTs and timeouts, for METRICS (kept whether or not it is set: a few increments per upstream try). */
  readonly upstreamMetrics = new UpstreamMetrics();
  /** Clients refused by ip/ or for their source port: counted and logged (rate-limited). */
  private readonly refused: RefusedClients;
  /** Routes to backends (the routes file, etcd) and their health. */
  readonly router: Router;
  private readonly health: BackendHealth;
  /** The etcd routes, when ETCD is set. */
  private readonly etcd: EtcdRoutes | null;
  /** FORWARDONLY's pools (servers/ files with their policies); null when resolving iteratively. */
  readonly pools: UpstreamPools | null;
  /** The background checks of the pools' upstreams; null when iterating or HEALTHINTERVAL=0. */
  private readonly healthChecker: HealthChecker | null;

  /**
   * `worker` is this process's index among config.workers processes
   * (WORKERS): each keeps an equal share of CACHESIZE, so all caches
   * together stay within it, and numbers its queries apart from the others.
   * `clock` is the time everything in it reads: realClock but in tests.
   */
  constructor(
    readonly config: Config,
    private readonly log: Log,
    random: Random,
    readonly clock: Clock,
    worker = 0,
  ) {
    this.rootDir = config.root;
    const now = (): number => clock.now();
    const timeouts = new TimeoutWheel(clock);
    this.cache = new Cache(
      Math.floor(config.cacheSize / config.workers),
      () => clock.epochSeconds(),
      { min: config.minTtl, max: config.maxTtl },
      config.stale,
    );
    this.serverTable = new SwappableServerTable(config.servers);
    const rules = new RuleBook(now);
    rules.swapFiles(config.rules);
    this.acl = ClientAcl.load(
      join(config.root, 'ip'),
      (e) => {
        if (!e.ok) log.warning(e.message);
      },
      { overrides: rules, clock },
    );
    const rtt = new MeteredRttTable(this.upstreamMetrics, now);
    const health =
      config.forwardOnly && config.health
        ? new HealthTable(config.health.intervalMs, now, (server, state, why) =>
            log.line(`health ${server} ${state} ${why}`),
          )
        : null;
    this.pools = config.forwardOnly
      ? new UpstreamPools(config.pools, new UpstreamLoad(now), rtt, random, health)
      : null;
    const pools = this.pools;
    this.healthChecker =
      health && pools && config.health
        ? new HealthChecker(health, () => pools.upstreams(), {
            name: config.health.name,
            type: config.health.type,
            sendFrom: config.sendFrom,
            random,
            timeouts,
          })
        : null;
    const upstream: UpstreamDeps = {
      servers: this.serverTable,
      cache: this.cache,
      log,
      random,
      rtt,
      sendFrom: config.sendFrom,
      timeouts,
      afterResponse: () => this.logStats(),
      onUpstreamQuery: (_server, transport) => {
        this.upstreamQueries++;
        this.upstreamMetrics.sent(transport);
      },
    };
    // The fetcher needs the resolver for glueless sub-resolutions, and the
    // resolver needs a fetcher: the closure breaks the cycle.
    const resolving: Fetcher = config.forwardOnly
      ? new ForwardFetcher({ ...upstream, pools: this.pools ?? undefined })
      : new IterativeFetcher({
          ...upstream,
          serverPort: config.serverPort,
          qmin: config.qmin,
          queryLocalhost: config.queryLocalhost,
          subResolve: (n, t, ctx) => this.resolver.resolveIn(n, t, ctx),
          // DNSCurve is between us and authoritative servers: forwarding (above) never uses it.
          // The key pair is made here, at start, from the seeded CSPRNG (random/random.ts).
          curve: {
            client: new CurveClient(random),
            format: config.curve.txtFormat ? 'txt' : 'streamlined',
            fallbackAfter: config.curve.uz5Fallback,
          },
          serverFlag: config.curve.flaggedServers ? (address) => this.acl.serverFlag(address) : null,
        });
    const routing = config.routing;
    this.health = new BackendHealth(
      tcpChecker(config.sendFrom, random, ROUTE_CHECK_TIMEOUT_MS, clock),
      routing.checkSeconds * 1000,
      (b, up) => log.line(`route backend ${serverId(b)} ${up ? 'up' : 'down'}`),
      clock,
    );
    this.router = new Router(this.health);
    this.router.setFileRoutes(config.routes);
    this.etcd =
      routing.etcd.length === 0
        ? null
        : new EtcdRoutes({
            endpoints: routing.etcd,
            prefix: routing.etcdPrefix,
            router: this.router,
            line: (t) => log.line(t),
            warning: (t) => log.warning(t),
            clock,
          });
    const fetcher = new RoutingFetcher(upstream, this.router, routing.routeOnly ? null : resolving);
    this.resolver = new Resolver(this.cache, fetcher, log, clock);
    this.refused = new RefusedClients(log, now);
    this.engine = new Engine(
      this.cache,
      this.resolver,
      log,
      config.hideTtl,
      { first: worker + 1, step: config.workers },
      rules,
      () => this.logStats(),
      () => this.clock.now(),
    );
    const { address, port, family } = config.listen;
    this.udp = new UdpListener(
      { address, port, family, maxActive: config.maxUdp, reusePort: config.workers > 1 },
      this.engine,
      this.acl,
      log,
      this.refused,
    );
    this.tcp = new TcpListener(
      { address, port, maxConnections: config.maxTcp },
      this.engine,
      this.acl,
      log,
      this.refused,
      clock,
    );
  }

  /** The counters a metrics scrape reads, gathered now (METRICS is served by cli/dnscache.ts). */
  metricsSnapshot(): MetricsSnapshot {
    return {
      engine: this.engine.counters,
      cache: this.cache.stats(),
      upstream: this.upstreamMetrics,
      mergedQueries: this.resolver.counters.merged,
      staleAnswers: this.resolver.counters.stale,
      prefetches: this.resolver.counters.prefetches,
      resolutionsInflight: this.resolver.inflightCount,
      udpInflight: this.udp.activeCount,
      udpDrops: this.udp.droppedCount,
      tcpConnections: this.tcp.connectionCount,
      tcpInflight: this.tcp.pendingCount,
      tcpEvictions: this.tcp.evictedCount,
      routes: this.router.report(),
      refusedClients: this.refused.count,
      latencyBySource: this.engine.latencyBySource,
      ruleVerdicts: this.engine.rules.counters,
      upstreams: this.pools?.rows() ?? [],
    };
  }

  /** Binds both listeners and serves; the same as bind() then serve(). */
  async start(): Promise<void> {
    await this.bind();
    this.serve();
  }

  /**
   * Binds the UDP and TCP listeners (which may need root, e.g. port 53).
   * Nobody is answered until serve(): the process may still have
   * privileges to drop in between.
   */
  async bind(): Promise<void> {
    this.acl.suspend();
    await this.udp.start();
    await this.tcp.start();
  }

  /**
   * The process has chrooted into ROOT, whose files are now reached under
   * `root` ('/'): ip/ is re-read from there from now on. Throws if ip/
   * cannot be read there.
   */
  rootMoved(root: string): void {
    this.acl.relocate(join(root, 'ip'));
    this.rootDir = root;
  }

  /** Where ROOT's files are reached now: config.root, or '/' after a chroot. */
  get root(): string {
    return this.rootDir;
  }

  /** servers/ as in force now (config.servers until the first successful reload()). */
  get servers(): ServerTable {
    return this.serverTable.current;
  }

  /** Client queries in progress: UDP (of which EDNS) and open TCP connections. */
  get activity(): { udp: number; edns: number; tcp: number } {
    return { udp: this.udp.activeCount, edns: this.udp.ednsCount, tcp: this.tcp.connectionCount };
  }

  /**
   * SIGHUP: re-reads servers/, routes, rules/ and ip/ from the current root
   * (ROOT, or '/' after the chroot) and swaps them in; the cache is kept. If
   * any of them cannot be read or holds a bad file or line, nothing changes
   * and a warning names the problem (`reload failed: ...`).
   */
  reload(): ReloadOutcome {
    let next;
    try {
      next = readReloadable(this.rootDir, this.config.forwardOnly);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.log.warning(`reload failed: ${error}`);
      return { ok: false, error };
    }
    this.serverTable.swap(next.servers);
    this.pools?.swap(next.pools);
    this.engine.rules.swapFiles(next.rules);
    this.acl.reload();
    this.router.setFileRoutes(next.routes);
    // " rules N" only with a rules/ directory: the line stays as it was for roots without one.
    this.log.line(
      `reload servers ${next.servers.size} ip ${next.ipEntries} routes ${next.routes.length}${next.rules.size > 0 ? ` rules ${next.rules.size}` : ''}`,
    );
    return {
      ok: true,
      servers: next.servers.size,
      ip: next.ipEntries,
      routes: next.routes.length,
      rules: next.rules.size,
    };
  }

  /** Starts answering (after bind()). */
  serve(): void {
    this.acl.resume();
    this.etcd?.start();
    this.sweeper = this.clock.every(SWEEP_MS, () => this.cache.sweep()).unref();
    this.healthChecker?.start();
    const send = this.config.listen.family === 6 ? this.config.sendFrom.v6 : this.config.sendFrom.v4;
    this.log.starting(this.config.listen.address, send, 1232);
    const rules = this.acl.rules;
    this.log.running({
      mode: this.config.forwardOnly ? 'forward-only' : 'iterative',
      cacheSize: this.cache.maxBytes,
      servers: this.servers.size,
      ip: rules.accept.size + rules.reject.size,
      routes: this.config.routes.length,
      etcd: this.etcd !== null,
    });
  }

  logStats(): void {
    this.log.stats(
      this.engine.counters.queries,
      this.cache.stats().motion,
      this.udp.activeCount,
      this.udp.ednsCount,
      this.tcp.connectionCount,
    );
  }

  async stop(): Promise<void> {
    this.sweeper?.cancel();
    this.healthChecker?.stop();
    this.acl.close();
    this.health.stop();
    await Promise.all([this.udp.close(), this.tcp.closeAll(), this.etcd?.stop()]);
  }
}
