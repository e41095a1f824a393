// The real resolver and iterative fetcher in this process, against the lab
// hierarchy over real sockets: for tests that must move the clock (a child
// process keeps wall-clock time) or count exactly what one resolution sends.

import { Cache } from '../../src/cache/cache';
import { Log, MemorySink } from '../../src/log/log';
import { Clock, realClock } from '../../src/platform/clock';
import { Random } from '../../src/random/random';
import { rootContext, WorkBudget } from '../../src/resolve/budget';
import { IterativeFetcher } from '../../src/resolve/iterate';
import { Resolver } from '../../src/resolve/resolver';
import { RttTable } from '../../src/transport/rtt';
import { TimeoutWheel } from '../../src/transport/timeouts';
import { CurveOptions } from '../../src/transport/upstream';
import { Endpoint } from '../../src/transport/udp';
import { Answer } from '../../src/wire/answer';
import { nameFromText, ROOT } from '../../src/wire/name';
import { Hierarchy } from '../lab/hierarchy';

export interface Rig {
  resolver: Resolver;
  cache: Cache;
  sink: MemorySink;
  /** Upstream queries the rig has sent. */
  sent: () => number;
  /** Resolves `name`/`type` as a client question with a fresh default budget. */
  ask: (name: string, type: number) => Promise<Answer>;
}

export interface RigOptions {
  /** Everything's clock (test/clock.ts's ManualClock, say); the real one when omitted. */
  clock?: Clock;
  /** QNAME minimisation; off unless asked for (most tests count queries). */
  qmin?: boolean;
  /** QUERY_LOCALHOST; allowed unless told (the lab is all loopback). */
  queryLocalhost?: boolean;
  /** STALE seconds (serve-stale); 0 unless told. */
  stale?: number;
  /** DNSCurve towards uz5 servers; none unless told. */
  curve?: CurveOptions;
}

/** A fresh resolver (empty cache) iterating from the lab's roots, counting what it sends. */
export function rig(h: Hierarchy, opts: RigOptions = {}): Rig {
  let sent = 0;
  const roots: Endpoint[] = h.rootHints.map((hint) => {
    const [address, port] = hint.split(':') as [string, string];
    return { address, port: Number(port), family: 4 };
  });
  const clock = opts.clock ?? realClock;
  const cache = new Cache(10_000_000, () => clock.epochSeconds(), undefined, opts.stale ?? 0);
  const sink = new MemorySink();
  const log = new Log(sink);
  // The fetcher's subResolve needs the resolver the fetcher is handed to: a box breaks the knot.
  const box: { resolver?: Resolver } = {};
  const fetcher = new IterativeFetcher({
    servers: new Map([[ROOT, roots]]),
    cache,
    log,
    random: new Random(null),
    rtt: new RttTable(() => clock.now()),
    sendFrom: { v4: '127.0.0.1', v6: '::1' },
    timeouts: new TimeoutWheel(clock),
    afterResponse: () => {},
    qmin: opts.qmin ?? false,
    queryLocalhost: opts.queryLocalhost ?? true,
    onUpstreamQuery: () => {
      sent++;
    },
    serverPort: h.port,
    subResolve: (n, t, ctx) => box.resolver!.resolveIn(n, t, ctx),
    curve: opts.curve ?? null,
  });
  const resolver = (box.resolver = new Resolver(cache, fetcher, log, clock));
  const ask = (text: string, type: number): Promise<Answer> => {
    const name = nameFromText(text);
    return resolver.resolveIn(name, type, rootContext(type + '/' + name, WorkBudget.start(clock)));
  };
  return { resolver, cache, sink, sent: () => sent, ask };
}
