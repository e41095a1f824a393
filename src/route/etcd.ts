// Routes registered in etcd, as dnsrouter reads them: every key under the
// prefix is a route, its value `ADDRESS:PORT,REGEX`. The prefix is read
// whole, then watched from the revision read, so a put or delete takes
// effect as etcd reports it. When etcd cannot be reached the routes last
// read stay in force (a registry outage must not stop the answers) and the
// prefix is read again, whole, with a growing pause: whatever changed
// meanwhile is then in force.

import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { parseRoute, Route } from '../config/routes';
import { Router } from './router';
import type { Clock, Timer } from '../platform/clock';

/** The first pause before reading etcd again after a failure; it doubles up to MAX_RETRY_MS. */
export const FIRST_RETRY_MS = 500;
export const MAX_RETRY_MS = 30_000;
/** How long one read of the prefix may take. */
const CALL_TIMEOUT_MS = 3000;

export interface EtcdRouteDeps {
  /** host:port of each etcd endpoint. */
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly router: Router;
  /** A log line, and a warning (`dnscache: warning: ...`). */
  readonly line: (text: string) => void;
  readonly warning: (text: string) => void;
  /** The time retries wait on. */
  readonly clock: Clock;
}

/** A route from a key and value; null (said once through `warning`) when the value is not one. */
function routeOf(kv: IKeyValue, warning: (text: string) => void): { key: string; route: Route | null } {
  const key = kv.key.toString('utf8');
  const parsed = parseRoute(kv.value.toString('utf8'), `etcd key ${key}`);
  if (!parsed.ok) warning(`${parsed.reason}; ignored`);
  return { key, route: parsed.ok ? parsed.route : null };
}

export class EtcdRoutes {
  private readonly client: Etcd3;
  private watcher: Watcher | null = null;
  private retryMs = FIRST_RETRY_MS;
  private timer: Timer | null = null;
  private stopped = false;
  /** The last read failed and has been logged (one warning per outage, not per retry). */
  private failing = false;

  constructor(private readonly deps: EtcdRouteDeps) {
    // Required here, not imported: the etcd client and gRPC cost every start
    // 0.25 s of CPU and about 20 MB, which only ETCD's users should pay. The
    // service makes this object before the chroot, so the files are reachable.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Etcd3: Client } = require('etcd3') as typeof import('etcd3');
    this.client = new Client({
      hosts: deps.endpoints.map((h) => `http://${h}`),
      dialTimeout: CALL_TIMEOUT_MS,
      // gRPC takes a deadline as a wall-clock date, so this one time is not the injected clock's.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
    });
  }

  /** Reads the prefix and watches it until stop(). */
  start(): void {
    void this.sync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.watcher?.cancel().catch(() => undefined);
    this.client.close();
  }

  /** Routes taken from etcd now. */
  get size(): number {
    return this.deps.router.etcdSize;
  }

  private async sync(): Promise<void> {
    if (this.stopped) return;
    try {
      const res = await this.client.getAll().prefix(this.deps.prefix).exec();
      const routes = new Map<string, Route>();
      for (const kv of res.kvs) {
        const { key, route } = routeOf(kv, this.deps.warning);
        if (route) routes.set(key, route);
      }
      await this.watch(String(BigInt(res.header.revision) + 1n));
      this.deps.router.setEtcdRoutes(routes);
      this.deps.line(`etcd routes ${routes.size}`);
      this.failing = false;
      this.retryMs = FIRST_RETRY_MS;
    } catch (err) {
      this.retry(err);
    }
  }

  private async watch(fromRevision: string): Promise<void> {
    const watcher = await this.client.watch().prefix(this.deps.prefix).startRevision(fromRevision).create();
    if (this.stopped) {
      await watcher.cancel();
      return;
    }
    this.watcher = watcher;
    watcher.on('put', (kv) => {
      const { key, route } = routeOf(kv, this.deps.warning);
      this.deps.router.setEtcdRoute(key, route);
      this.deps.line(`etcd put ${key}`);
    });
    watcher.on('delete', (kv) => {
      const key = kv.key.toString('utf8');
      this.deps.router.setEtcdRoute(key, null);
      this.deps.line(`etcd delete ${key}`);
    });
    // The client would reconnect the watch by itself; reading the prefix whole again also catches what was compacted meanwhile.
    const lost = (err: unknown): void => {
      if (this.watcher !== watcher) return;
      this.watcher = null;
      void watcher.cancel().catch(() => undefined);
      this.retry(err);
    };
    watcher.on('disconnected', lost);
    watcher.on('error', lost);
  }

  private retry(err: unknown): void {
    if (this.stopped) return;
    if (!this.failing) {
      const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
      this.deps.warning(
        `etcd ${this.deps.endpoints.join(',')} unreachable (${why}): keeping ${this.size} routes from it, trying again`,
      );
      this.failing = true;
    }
    this.timer = this.deps.clock
      .after(this.retryMs, () => {
        this.timer = null;
        void this.sync();
      })
      .unref();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }
}
