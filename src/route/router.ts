// The routes in force - the routes file's and etcd's - and which backends a
// name goes to: those of every matching route whose backend is up, taken in
// turn (round robin), as dnsrouter does.

import { Route } from '../config/routes';
import { Endpoint } from '../transport/udp';
import { serverId } from '../transport/rtt';
import { BackendHealth } from './health';
import { RouteTable } from './table';

/** Routes taken from etcd at most: a registry gone wild must not take the memory. */
export const MAX_ETCD_ROUTES = 100_000;

export type Routing =
  | { readonly kind: 'none' }
  /** Routes match, but none of their backends is up. */
  | { readonly kind: 'down'; readonly routes: readonly Route[] }
  /** The backends to ask, in this order. */
  | { readonly kind: 'routed'; readonly routes: readonly Route[]; readonly backends: readonly Endpoint[] };

export interface RouteReport {
  readonly source: string;
  readonly backend: string;
  readonly pattern: string;
  readonly health: 'up' | 'down' | 'unchecked';
  readonly queries: number;
}

export class Router {
  private fileRoutes: readonly Route[] = [];
  private readonly etcdRoutes = new Map<string, Route>();
  private table = new RouteTable([]);
  private turn = 0;
  /** Questions each route was first for (counted per route object: a changed route starts again). */
  private readonly counts = new Map<Route, number>();

  constructor(private readonly health: BackendHealth) {}

  get size(): number {
    return this.table.size;
  }

  /** Routes taken from etcd now. */
  get etcdSize(): number {
    return this.etcdRoutes.size;
  }

  /** The routes file's routes (at start and on reload). */
  setFileRoutes(routes: readonly Route[]): void {
    this.fileRoutes = routes;
    this.rebuild();
  }

  /** All of etcd's routes, by key (after reading the prefix whole). */
  setEtcdRoutes(routes: ReadonlyMap<string, Route>): void {
    this.etcdRoutes.clear();
    for (const [k, r] of routes) if (this.etcdRoutes.size < MAX_ETCD_ROUTES) this.etcdRoutes.set(k, r);
    this.rebuild();
  }

  /** One etcd key put (a route) or deleted (null). */
  setEtcdRoute(key: string, route: Route | null): void {
    if (route === null) this.etcdRoutes.delete(key);
    else if (this.etcdRoutes.has(key) || this.etcdRoutes.size < MAX_ETCD_ROUTES) this.etcdRoutes.set(key, route);
    this.rebuild();
  }

  /** Where `text` (a lower-cased name with its trailing dot) goes. */
  route(text: string): Routing {
    if (this.table.size === 0) return { kind: 'none' };
    const routes = this.table.match(text);
    if (routes.length === 0) return { kind: 'none' };
    const up = routes.filter((r) => this.health.isUp(r.backend));
    if (up.length === 0) return { kind: 'down', routes };
    const first = this.turn++ % up.length;
    const turned = [...up.slice(first), ...up.slice(0, first)];
    // Counted on the route whose turn it is (its backend is asked first).
    this.counts.set(turned[0]!, (this.counts.get(turned[0]!) ?? 0) + 1);
    // Two routes may name one backend: it is asked once.
    const seen = new Set<string>();
    const backends: Endpoint[] = [];
    for (const r of turned) {
      const id = serverId(r.backend);
      if (seen.has(id)) continue;
      seen.add(id);
      backends.push(r.backend);
    }
    return { kind: 'routed', routes: turned, backends };
  }

  report(): RouteReport[] {
    return this.table.routes.map((r) => ({
      source: r.source,
      backend: serverId(r.backend),
      pattern: r.pattern.source,
      health: this.health.state(r.backend),
      queries: this.counts.get(r) ?? 0,
    }));
  }

  private rebuild(): void {
    const routes = [...this.fileRoutes, ...this.etcdRoutes.values()];
    this.table = new RouteTable(routes);
    const live = new Set(routes);
    for (const r of this.counts.keys()) if (!live.has(r)) this.counts.delete(r);
    this.health.track(routes.map((r) => r.backend));
  }
}

/** Several processes' route lists (WORKERS) as one: queries add up; a backend is down if any process found it down. */
export function mergeRouteReports(lists: readonly (readonly RouteReport[])[]): RouteReport[] {
  const key = (r: RouteReport): string => `${r.source} ${r.backend} ${r.pattern}`;
  const merged = new Map<string, RouteReport>();
  for (const list of lists) {
    for (const r of list) {
      const m = merged.get(key(r));
      const health =
        m === undefined
          ? r.health
          : m.health === 'down' || r.health === 'down'
            ? 'down'
            : m.health === 'up' || r.health === 'up'
              ? 'up'
              : 'unchecked';
      merged.set(key(r), { ...r, health, queries: (m?.queries ?? 0) + r.queries });
    }
  }
  return [...merged.values()];
}
