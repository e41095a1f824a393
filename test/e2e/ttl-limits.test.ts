// MINTTL and MAXTTL end to end: a dnscache forwarding to a lab zone whose
// records have TTL 0 and a day, asked twice so the second answer comes from
// the cache. Both answers show the clamped TTL, and the repeat asks nobody.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { query, records, Reply } from '../lab/client';
import { LabServer } from '../lab/server';
import { a, ns, soa, zone } from '../lab/zone';
import { Dnscache, startDnscache } from './harness';
import { esc } from './iterate-fixtures';
import { header, queriesFor, RCODE, startLab, suiteScope } from './fixtures';

const MINTTL = 120;
const MAXTTL = 600;

const TTL_ZONE = zone(
  'ttl.test',
  soa('ttl.test', 3600, 3600),
  ns('ttl.test', 'ns.ttl.test'),
  a('ns.ttl.test', '127.0.0.1'),
  a('zero.ttl.test', '192.0.2.1', 0),
  a('day.ttl.test', '192.0.2.2', 86400),
  a('plain.ttl.test', '192.0.2.3', 300),
);

const scope = suiteScope();
let lab: LabServer;
let dns: Dnscache;

before(async () => {
  lab = await startLab(scope, { zones: [TTL_ZONE] });
  dns = await startDnscache({ upstreams: [lab], env: { MINTTL: String(MINTTL), MAXTTL: String(MAXTTL) } }, scope);
});

/** Asks twice; the second must be a hit in dnscache's reply cache (its `cached` log line) with no upstream query. */
async function freshThenCached(name: string, type = 'A'): Promise<[Reply, Reply]> {
  const fresh = await query(dns, name, type);
  const upstream = queriesFor(lab, name).length;
  const from = dns.logs.length;
  const cached = await query(dns, name, type);
  await dns.waitForLog(new RegExp(`^cached ${type === 'A' ? 1 : 255} ${esc(name)}\\.$`), 3000, from);
  assert.equal(queriesFor(lab, name).length, upstream, `${name}: the repeat asked nobody`);
  return [fresh, cached];
}

const ttlOf = (r: Reply): number => records(r.packet.answers, 'A')[0]!.ttl!;

describe(`MINTTL=${MINTTL} MAXTTL=${MAXTTL}`, () => {
  test('a TTL 0 record is served, fresh and cached, with MINTTL and kept that long', async () => {
    const [fresh, cached] = await freshThenCached('zero.ttl.test');
    assert.deepEqual(
      records(fresh.packet.answers, 'A').map((r) => r.data),
      ['192.0.2.1'],
    );
    assert.equal(ttlOf(fresh), MINTTL);
    assert.ok(ttlOf(cached) <= MINTTL && ttlOf(cached) >= MINTTL - 2, `cached TTL ${ttlOf(cached)}`);
  });

  test('a day-long TTL is served, fresh and cached, with MAXTTL; a TTL in between as it is', async () => {
    const [fresh, cached] = await freshThenCached('day.ttl.test');
    assert.equal(ttlOf(fresh), MAXTTL);
    assert.ok(ttlOf(cached) <= MAXTTL && ttlOf(cached) >= MAXTTL - 2, `cached TTL ${ttlOf(cached)}`);
    const [plain] = await freshThenCached('plain.ttl.test');
    assert.equal(ttlOf(plain), 300);
  });

  test("a negative answer's TTL is lowered to MAXTTL", async () => {
    const [fresh, cached] = await freshThenCached('gone.ttl.test');
    for (const r of [fresh, cached]) {
      assert.equal(header(r.raw).rcode, RCODE.NXDOMAIN);
      const ttl = records(r.packet.authorities, 'SOA')[0]!.ttl!;
      assert.ok(ttl <= MAXTTL && ttl >= MAXTTL - 2, `SOA TTL ${ttl}`);
    }
  });
});
