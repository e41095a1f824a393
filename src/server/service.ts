// Wires one running resolver together from a Config: cache, resolver,
// engine, listeners, the periodic cache sweep; and takes it apart again.

import { ClientAcl } from '../acl/acl';
import { Cache } from '../cache/cache';
import { Config } from '../config';
import { Log } from '../log/log';
import { Random } from '../random/random';
import { ForwardFetcher, UpstreamDeps } from '../resolve/forward';
import { IterativeFetcher } from '../resolve/iterate';
import { Fetcher, Resolver } from '../resolve/resolver';
import { RttTable } from '../transport/rtt';
import { join } from 'node:path';
import { Engine } from './engine';
import { TcpListener } from './tcp';
import { UdpListener } from './udp';

const SWEEP_MS = 60000;

export class Service {
  readonly cache: Cache;
  readonly resolver: Resolver;
  readonly engine: Engine;
  private readonly udp: UdpListener;
  private readonly tcp: TcpListener;
  private readonly acl: ClientAcl;
  private sweeper: NodeJS.Timeout | null = null;
  /** Datagrams and connections sent upstream, for tests and metrics. */
  upstreamQueries = 0;

  constructor(readonly config: Config, private readonly log: Log, random: Random) {
    this.cache = new Cache(config.cacheSize);
    this.acl = ClientAcl.load(join(config.root, 'ip'), (e) => {
      if (!e.ok) log.warning(e.message);
    });
    const upstream: UpstreamDeps = {
      servers: config.servers,
      cache: this.cache,
      log,
      random,
      rtt: new RttTable(),
      sendFrom: config.sendFrom,
      afterResponse: () => this.logStats(),
      onUpstreamQuery: () => {
        this.upstreamQueries++;
      },
    };
    // The fetcher needs the resolver for glueless sub-resolutions, and the
    // resolver needs a fetcher: the closure breaks the cycle.
    const fetcher: Fetcher = config.forwardOnly
      ? new ForwardFetcher(upstream)
      : new IterativeFetcher({ ...upstream, serverPort: config.serverPort, subResolve: (n, t, ctx) => this.resolver.resolveIn(n, t, ctx) });
    this.resolver = new Resolver(this.cache, fetcher, log);
    this.engine = new Engine(this.cache, this.resolver, log, config.hideTtl);
    const { address, port, family } = config.listen;
    this.udp = new UdpListener({ address, port, family, maxActive: config.maxUdp }, this.engine, this.acl, log);
    this.tcp = new TcpListener({ address, port, maxConnections: config.maxTcp }, this.engine, this.acl, log);
  }

  async start(): Promise<void> {
    await this.udp.start();
    await this.tcp.start();
    this.sweeper = setInterval(() => this.cache.sweep(), SWEEP_MS);
    this.sweeper.unref();
    const send = this.config.listen.family === 6 ? this.config.sendFrom.v6 : this.config.sendFrom.v4;
    this.log.starting(this.config.listen.address, send, 1232);
  }

  logStats(): void {
    this.log.stats(this.engine.counters.queries, this.cache.stats().motion, this.udp.activeCount, this.udp.ednsCount, this.tcp.connectionCount);
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.acl.close();
    await Promise.all([this.udp.close(), this.tcp.closeAll()]);
  }
}
