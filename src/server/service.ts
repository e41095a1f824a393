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
  private rootDir: string;
  /** Datagrams and connections sent upstream, for tests and metrics. */
  upstreamQueries = 0;

  constructor(readonly config: Config, private readonly log: Log, random: Random) {
    this.rootDir = config.root;
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

  /** Starts answering (after bind()). */
  serve(): void {
    this.acl.resume();
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
