// Routes first (the routes file and etcd, dnsrouter's): a name a route
// matches is asked of that route's backends, in turn, whatever the mode and
// whatever servers/ says; any other name is resolved as before, or, with
// ROUTEONLY, fails as dnsrouter's do.

import { Router } from '../route/router';
import { AS_GIVEN, UpstreamOptions, askServers } from '../transport/upstream';
import { Name, nameToText } from '../wire/name';
import { WorkContext } from './budget';
import { accepted, upstreamOptions, UpstreamDeps, verdictJudge } from './forward';
import { Fetched, Fetcher } from './resolver';

/** Rounds over a routed name's backends: a backend that times out is followed by the next, and each is asked twice at most. */
const ROUTED_ROUNDS = 2;

export class RoutingFetcher implements Fetcher {
  private readonly options: UpstreamOptions;

  constructor(
    private readonly deps: UpstreamDeps,
    private readonly router: Router,
    /** How names no route matches are resolved; null: they fail (ROUTEONLY). */
    private readonly otherwise: Fetcher | null,
  ) {
    this.options = upstreamOptions(deps);
  }

  fetch(name: Name, type: number, ctx: WorkContext): Promise<Fetched> {
    // Without routes (nearly always) a miss pays one size check: no name text, no routing object.
    if (this.router.size === 0) return this.unrouted(name, type, ctx);
    const routing = this.router.route(nameToText(name));
    switch (routing.kind) {
      case 'none':
        return this.unrouted(name, type, ctx);
      case 'down':
        return Promise.resolve({
          kind: 'failed',
          reason: `every backend of its ${routing.routes.length} routes is down`,
        });
      case 'routed':
        this.deps.log.tx(
          0,
          type,
          name,
          name,
          routing.backends.map((b) => b.address),
        );
        // The backend's answer is relayed as a forwarder's is; what it says of names not at or below the routed one is not kept.
        // The router's turn decides who is asked first (AS_GIVEN), not the RTT table.
        return askServers(
          routing.backends,
          { name, type, rd: true },
          this.options,
          ctx.budget,
          verdictJudge(this.deps, name, type, name, true),
          ROUTED_ROUNDS,
          { order: AS_GIVEN },
        ).then((result) =>
          result.kind === 'failed' ? result : accepted(this.deps, result.value, result.server, name, type),
        );
    }
  }

  private unrouted(name: Name, type: number, ctx: WorkContext): Promise<Fetched> {
    return this.otherwise
      ? this.otherwise.fetch(name, type, ctx)
      : Promise.resolve({ kind: 'failed', reason: 'no route matches (ROUTEONLY)' });
  }
}
