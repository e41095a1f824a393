// `node dist/bench/route-cost.js [rounds]`: what routes add to a miss, without
// the network: the route lookup dnscache-ts makes for every name it must ask
// upstream (the name's text, then Router.route), with the 1,000 routes of the
// `routed` benchmark target, against the same lookup with no routes. Names
// are the cold workload's, never the same twice. Prints the minimum and
// median per lookup over rounds of 200,000.

import { parseRoutesFile } from '../src/config/routes';
import { BackendHealth } from '../src/route/health';
import { Router } from '../src/route/router';
import { nameFromText, nameToText } from '../src/wire/name';
import { WILD, ZONE } from './backend';
import { benchRoutes } from './routes';
import { ManualClock } from '../test/clock';

const PER_ROUND = 200_000;

function router(routes: string): Router {
  // Every backend up, never checked: only the lookup is measured.
  const health = new BackendHealth(
    async () => true,
    1000,
    () => undefined,
    new ManualClock(),
  );
  const r = new Router(health);
  r.setFileRoutes(parseRoutesFile(routes, 'routes'));
  return r;
}

function perLookup(r: Router, rounds: number, tag: string): number[] {
  const out: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const names = Array.from({ length: PER_ROUND }, (_, i) =>
      nameFromText(i % 2 === 0 ? `c${i}-${tag}${round}.${WILD}` : `x${i}-${tag}${round}.${ZONE}`),
    );
    let routed = 0;
    const t0 = process.hrtime.bigint();
    for (const n of names) if (r.size > 0 && r.route(nameToText(n)).kind === 'routed') routed++;
    out.push(Number(process.hrtime.bigint() - t0) / PER_ROUND);
    if (r.size > 0 && routed !== PER_ROUND) throw new Error(`${PER_ROUND - routed} names not routed`);
  }
  return out.sort((a, b) => a - b);
}

const rounds = Number(process.argv[2] ?? 10);
const none = perLookup(router(''), rounds, 'n');
const many = perLookup(router(benchRoutes('127.0.0.1:53')), rounds, 'r');
const show = (xs: number[]): string =>
  `min ${xs[0]!.toFixed(0)} ns, median ${xs[Math.floor(xs.length / 2)]!.toFixed(0)} ns`;
process.stdout.write(
  `route lookup per miss (JS, in process): no routes ${show(none)}; 1,000 routes ${show(many)}; over ${rounds} rounds of ${PER_ROUND.toLocaleString('en-US')}\n`,
);
