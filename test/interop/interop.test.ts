// Interoperability with real DNS software (Debian packages nsd and unbound;
// .ci/run installs them when it can):
//
//  1. The lab's zones served by NSD on 127.B.x.y (misbehaving roles stay
//     TypeScript LabServers, see nsd.ts); the real dnscache-ts process
//     resolves iteratively through them, and every answer of the battery must
//     be what the zone data says.
//  2. Unbound, configured with the lab's root hints, resolves the same
//     battery through the same servers; its answers (rcode, TC, sorted answer
//     RRs without TTLs) must equal dnscache-ts's. Unbound queries every
//     server it learns from a delegation on port 53, so this part needs the
//     lab on port 53 (root, or CAP_NET_BIND_SERVICE).
//  3. Upstream queries caused by cold resolutions, dnscache-ts vs Unbound,
//     counted on the TypeScript lab tree on port 53 (NSD cannot count them).
//
// A missing package or an unusable port 53 skips the part that needs it,
// with the reason in the skip message; nothing is passed silently.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freeLoopback } from '../lab/addresses';
import { HIERARCHY_ANSWERS, hierarchyLayout, Hierarchy, RoleSpec, startFreeHierarchy } from '../lab/hierarchy';
import { Dnscache, startDnscache } from '../e2e/harness';
import {
  ask,
  expectedOutcome,
  finalAddresses,
  label,
  nonEmptySubset,
  Outcome,
  Question,
  sameOutcome,
  servfailNote,
  show,
} from './battery';
import { canonical, isAtOrBelow } from '../lab/zone';
import { missingPackage } from './daemon';
import { freeNsdNet, NsdLab, roleKind, startNsdLab } from './nsd';
import { rootHintsFromLayout, startUnbound } from './unbound';

const NSD_MISSING = missingPackage('nsd', ['nsd', 'nsd-checkzone']);
const UNBOUND_MISSING = missingPackage('unbound', ['unbound']);
const DNS_PORT = 53;
const UNBOUND_PORT = 5301;
/** Names counted at the same time (each with its own dnscache-ts and Unbound). */
const COUNT_PARALLEL = 4;

/** The battery, in the order it is asked (the poisoner comes before example.test is cached). */
const BATTERY: Question[] = [
  { name: 'www.poison.test', type: 'A', what: 'server injects out-of-bailiwick example.test records (LabServer)' },
  { name: 'www.example.test', type: 'A', what: 'root -> test -> example.test with glue; not poisoned' },
  { name: 'www.example.test', type: 'AAAA', what: 'AAAA' },
  { name: 'example.test', type: 'MX', what: 'MX' },
  { name: 'example.test', type: 'TXT', what: 'TXT' },
  { name: '_sip._udp.example.test', type: 'SRV', what: 'SRV' },
  { name: 'example.test', type: 'CAA', what: 'CAA' },
  { name: 'example.test', type: 'NS', what: 'NS at a zone apex' },
  { name: 'example.test', type: 'SOA', what: 'SOA' },
  { name: 'test', type: 'NS', what: 'NS of a TLD' },
  { name: 'a.root-servers.lab', type: 'A', what: 'a root server name' },
  {
    name: 'example.test',
    type: 'ANY',
    what: 'ANY',
    subset: true,
    policy: 'RFC 8482: an ANY answer may hold any of the RRsets (NSD sends one; Unbound adds what it has cached)',
  },
  { name: 'alias.example.test', type: 'A', what: 'CNAME in the zone' },
  { name: 'chain.example.test', type: 'A', what: 'two CNAMEs in the zone' },
  { name: 'www.cname.test', type: 'A', what: 'CNAME into another zone' },
  { name: 'www.cname.test', type: 'AAAA', what: 'CNAME into another zone, AAAA' },
  { name: 'anything.wild.example.test', type: 'A', what: 'wildcard' },
  { name: 'anything.wild.example.test', type: 'MX', what: 'wildcard, NODATA' },
  { name: 'www.glueless.test', type: 'A', what: 'glueless delegation' },
  { name: 'www.deep.test', type: 'A', what: 'glueless delegations 3 deep' },
  { name: 'nosuch.example.test', type: 'A', what: 'NXDOMAIN' },
  { name: 'nosuch.test', type: 'A', what: 'NXDOMAIN from a TLD' },
  { name: 'www.example.test', type: 'MX', what: 'NODATA' },
  { name: 'mail.example.test', type: 'AAAA', what: 'NODATA' },
  { name: 'big.example.test', type: 'A', transport: 'tcp', what: '60 A records, client over TCP' },
  { name: 'big.example.test', type: 'A', edns: false, truncated: true, what: '60 A records to a 512-byte client: TC' },
  { name: 'big.trunc.test', type: 'TXT', transport: 'tcp', what: '3.5 KB of TXT: upstream over TCP after TC' },
  { name: 'big.trunc.test', type: 'TXT', truncated: true, what: '3.5 KB of TXT to a 1232-byte EDNS client: TC' },
  { name: 'www.trunc.test', type: 'A', what: 'three A records' },
  { name: 'www.lame.test', type: 'A', what: 'one server REFUSED (LabServer)' },
  { name: 'www.uplame.test', type: 'A', what: 'one server refers upward to the root (LabServer)' },
  { name: 'www.dead.test', type: 'A', what: 'one server silent (LabServer)' },
  { name: 'www.slow.test', type: 'A', what: 'server answers after 400 ms (LabServer)' },
  { name: 'www.nxns.test', type: 'A', what: 'plain name in the NXNS zone' },
  { name: 'loop1.cname.test', type: 'A', what: 'CNAME loop' },
  { name: 'chain16.cname.test', type: 'A', what: '16 CNAMEs', policy: 'CNAME-chain limit (dnscache-ts 16)' },
  { name: 'chain17.cname.test', type: 'A', what: '17 CNAMEs', policy: 'CNAME-chain limit (dnscache-ts 16)' },
  { name: 'c1.cname.test', type: 'A', what: '20 CNAMEs', policy: 'CNAME-chain limit (dnscache-ts 16)' },
  {
    name: 'www.toodeep.test',
    type: 'A',
    what: 'glueless delegations 6 deep',
    policy: 'glueless-depth limit (dnscache-ts 5)',
  },
  { name: 'www.attack.nxns.test', type: 'A', what: '30 glueless NS names, all NXDOMAIN', policy: 'NXNS work limits' },
];

/** Cold resolutions whose upstream queries are counted (TypeScript lab on port 53). */
const COUNTED: Array<[string, string]> = [
  ['www.example.test', 'A'],
  ['chain.example.test', 'A'],
  ['www.cname.test', 'A'],
  ['nosuch.example.test', 'A'],
  ['www.glueless.test', 'A'],
  ['www.deep.test', 'A'],
  ['www.lame.test', 'A'],
  ['www.uplame.test', 'A'],
  ['www.dead.test', 'A'],
  ['www.trunc.test', 'A'],
  ['www.nxns.test', 'A'],
  ['www.attack.nxns.test', 'A'],
];

let lab: NsdLab | undefined;
let dnscache: Dnscache | undefined;
let setupError: Error | undefined;
/** Why the Unbound parts cannot run (missing package, port 53 unusable). */
let unboundSkip: string | undefined = UNBOUND_MISSING ?? undefined;
const dnscacheOutcomes = new Map<string, Outcome | Error>();

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

before(async () => {
  if (NSD_MISSING) return;
  try {
    let net: number | null = null;
    let port = DNS_PORT;
    if (!unboundSkip) {
      net = await freeNsdNet(DNS_PORT);
      if (net === null) {
        unboundSkip = isRoot()
          ? `Unbound queries the servers it learns on port ${DNS_PORT} only, and port ${DNS_PORT} on the lab's 127.B.x.y addresses cannot be bound (something listens on a wildcard address?)`
          : `Unbound queries the servers it learns on port ${DNS_PORT} only, and binding port ${DNS_PORT} needs root (or CAP_NET_BIND_SERVICE)`;
      }
    }
    if (net === null) port = 20000 + Math.floor(Math.random() * 12000);
    // Another process may take an address between the check and NSD's bind: then try another 127.B.
    for (let attempt = 1; !lab; attempt++) {
      net ??= await freeNsdNet(port);
      if (net === null) throw new Error(`no free 127.B.x.y for the NSD lab on port ${port}`);
      try {
        lab = await startNsdLab({ net, port });
      } catch (err) {
        if (attempt >= 3) throw err;
        net = null;
      }
    }
    dnscache = await startDnscache({
      upstreams: lab.rootAddresses.map((address) => ({ address, port: lab!.port })),
      forwardOnly: false,
      env: { SERVERPORT: String(lab.port) },
    });
  } catch (err) {
    setupError = err as Error;
  }
});

after(async () => {
  await dnscache?.stop();
  await lab?.stop();
});

/** Roles whose servers answer with their zone data (for the oracle). */
function answering(l: NsdLab): (s: RoleSpec) => boolean {
  return (s) =>
    l.running(s.role) && s.behaviour !== 'silent' && s.behaviour !== 'refused' && s.behaviour !== 'lame-referral';
}

function expected(l: NsdLab, q: Question): Outcome {
  if (q.truncated) return { rcode: 'NOERROR', tc: true, rows: [] };
  return expectedOutcome(l.layout, answering(l), q.name, q.type);
}

function ready(): NsdLab {
  if (setupError) throw setupError;
  return lab!;
}

describe('interop: the lab served by NSD, resolved by dnscache-ts', () => {
  test(
    'NSD serves every plain role: zone files pass nsd-checkzone, every server answers',
    { skip: NSD_MISSING ?? false },
    (t) => {
      const l = ready();
      t.diagnostic(`lab on 127.${l.net}.x.y port ${l.port}:`);
      for (const line of l.describe()) t.diagnostic(`  ${line}`);
      const nsdZones = l.layout.filter((s) => l.kinds.get(s.role) === 'nsd').reduce((n, s) => n + s.zones.length, 0);
      assert.equal(l.checked.length, nsdZones, 'every zone file checked');
      assert.ok(l.nsd.size >= 15, `${l.nsd.size} NSD servers`);
      assert.ok(l.nsd.has('root1') && l.nsd.has('tld1') && l.nsd.has('example1') && l.nsd.has('provider'));
    },
  );

  test('the oracle (zone data walked from the root) agrees with HIERARCHY_ANSWERS', () => {
    // Needs only the layout: the roles this lab runs, and how (see nsd.ts).
    const layout = hierarchyLayout(100);
    const runs = (s: RoleSpec): boolean => roleKind(s) !== 'omitted';
    const answers = (s: RoleSpec): boolean =>
      runs(s) && s.behaviour !== 'silent' && s.behaviour !== 'refused' && s.behaviour !== 'lame-referral';
    // Names in zones that only roles left out of this lab serve (the ::1 server) cannot resolve here.
    const omitted = layout.filter((s) => !runs(s)).flatMap((s) => s.zones.map((z) => canonical(z.origin)));
    let checked = 0;
    for (const [key, known] of Object.entries(HIERARCHY_ANSWERS)) {
      const [name, type = 'A'] = key.split('/') as [string, string?];
      if (omitted.some((o) => isAtOrBelow(canonical(name), o))) continue;
      const e = expectedOutcome(layout, answers, name, type);
      if (known === null) assert.equal(e.rcode, 'SERVFAIL', key);
      else if (known === 'NXDOMAIN') assert.equal(e.rcode, 'NXDOMAIN', key);
      else assert.deepEqual(finalAddresses(e, type), [...known].sort(), key);
      checked++;
    }
    assert.ok(checked >= 20, `${checked} names checked`);
  });

  test('dnscache-ts answers the battery as the zone data says', { skip: NSD_MISSING ?? false }, async (t) => {
    const l = ready();
    const server = { address: dnscache!.address, port: dnscache!.port };
    const wrong: string[] = [];
    for (const q of BATTERY) {
      const got = await ask(server, q);
      dnscacheOutcomes.set(label(q), got);
      const want = expected(l, q);
      const ok = q.subset ? nonEmptySubset(got, want) : sameOutcome(got, want);
      if (!ok) wrong.push(`${label(q)} (${q.what}): got ${show(got)}, expected ${show(want)}`);
      const note = servfailNote(got);
      if (note) t.diagnostic(`note: ${label(q)}: dnscache-ts sent ${note}`);
    }
    for (const w of wrong) t.diagnostic(`MISMATCH ${w}`);
    assert.deepEqual(
      wrong,
      [],
      `dnscache-ts answered ${wrong.length} of ${BATTERY.length} questions differently from the zone data`,
    );
  });
});

describe('interop: Unbound gives the same answers as dnscache-ts', () => {
  test('the battery through the NSD lab on port 53', { skip: NSD_MISSING ?? UNBOUND_MISSING ?? false }, async (t) => {
    const l = ready();
    if (unboundSkip) {
      t.skip(unboundSkip);
      return;
    }
    const unbound = await startUnbound({
      hints: rootHintsFromLayout(l.layout),
      listen: { address: await freeLoopback(UNBOUND_PORT), port: UNBOUND_PORT },
    });
    t.after(() => unbound.stop());
    const server = { address: dnscache!.address, port: dnscache!.port };
    const differ: string[] = [];
    const policy: string[] = [];
    for (const q of BATTERY) {
      const theirs = await ask(unbound.endpoint, q);
      let ours = dnscacheOutcomes.get(label(q));
      if (ours === undefined) {
        ours = await ask(server, q);
        dnscacheOutcomes.set(label(q), ours);
      }
      const note = servfailNote(theirs);
      if (note) t.diagnostic(`note: ${label(q)}: unbound sent ${note}`);
      if (q.subset && !nonEmptySubset(theirs, expected(l, q))) {
        differ.push(
          `${label(q)} (${q.what}): unbound ${show(theirs)} is not part of the zone data ${show(expected(l, q))}`,
        );
        continue;
      }
      if (sameOutcome(ours, theirs)) continue;
      const line = `${label(q)} (${q.what}): dnscache-ts ${show(ours)}; unbound ${show(theirs)}`;
      if (q.policy) policy.push(`${line} [${q.policy}]`);
      else differ.push(line);
    }
    t.diagnostic(`${BATTERY.length} questions; ${BATTERY.length - differ.length - policy.length} identical`);
    for (const p of policy) t.diagnostic(`differs by policy (not asserted): ${p}`);
    for (const d of differ) t.diagnostic(`DIFFERS: ${d}`);
    assert.deepEqual(differ, [], `Unbound and dnscache-ts disagree on ${differ.length} question(s)`);
  });

  test(
    'upstream queries of cold resolutions (TypeScript lab on port 53): dnscache-ts <= 1.5 x Unbound + 2',
    { skip: NSD_MISSING ?? UNBOUND_MISSING ?? false },
    async (t) => {
      ready();
      if (unboundSkip) {
        t.skip(unboundSkip);
        return;
      }
      let h: Hierarchy;
      try {
        h = await startFreeHierarchy(DNS_PORT, { ipv6: false });
      } catch (err) {
        t.skip(`the TypeScript lab cannot listen on port ${DNS_PORT}: ${(err as Error).message}`);
        return;
      }
      t.after(() => h.stop());
      const hints = rootHintsFromLayout(hierarchyLayout(h.net));
      // Each resolver instance sends from its own loopback address, so the
      // servers' logs tell whose queries they are and the names run in parallel.
      const sentFrom = (address: string): number =>
        [...h.servers.values()].reduce((n, s) => n + s.queries.filter((q) => q.from.address === address).length, 0);
      const countOne = async (
        i: number,
        name: string,
        type: string,
      ): Promise<[string, number, number, string, string]> => {
        const oursFrom = `127.${h.net}.200.${2 * i + 1}`;
        const theirsFrom = `127.${h.net}.200.${2 * i + 2}`;
        // Both start at once; if one fails the other must still be stopped, or its process keeps
        // this file's runner alive for ever.
        const [oursStarted, theirsStarted] = await Promise.allSettled([
          startDnscache({
            upstreams: h.rootHints.map((hp) => ({ address: hp.split(':')[0]!, port: DNS_PORT })),
            forwardOnly: false,
            env: { SERVERPORT: String(DNS_PORT), IPSEND: oursFrom },
          }),
          freeLoopback(UNBOUND_PORT).then((address) =>
            startUnbound({ hints, listen: { address, port: UNBOUND_PORT }, outgoing: theirsFrom }),
          ),
        ]);
        if (oursStarted.status === 'rejected' || theirsStarted.status === 'rejected') {
          await Promise.all([
            oursStarted.status === 'fulfilled' ? oursStarted.value.stop() : null,
            theirsStarted.status === 'fulfilled' ? theirsStarted.value.stop() : null,
          ]);
          throw oursStarted.status === 'rejected'
            ? oursStarted.reason
            : (theirsStarted as PromiseRejectedResult).reason;
        }
        const ours = oursStarted.value;
        const theirs = theirsStarted.value;
        try {
          const q: Question = { name, type, what: 'counted' };
          const [a, b] = await Promise.all([
            ask({ address: ours.address, port: ours.port }, q),
            ask(theirs.endpoint, q),
          ]);
          await new Promise((r) => setTimeout(r, 300)); // late work after the reply (Unbound fetches more NS targets)
          const rc = (o: Outcome | Error): string => (o instanceof Error ? 'no reply' : o.rcode);
          return [`${name}/${type}`, sentFrom(oursFrom), sentFrom(theirsFrom), rc(a), rc(b)];
        } finally {
          await Promise.all([ours.stop(), theirs.stop()]);
        }
      };
      const rows: Array<[string, number, number, string, string]> = new Array(COUNTED.length);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < COUNTED.length) {
          const i = next++;
          rows[i] = await countOne(i, ...COUNTED[i]!);
        }
      };
      await Promise.all(Array.from({ length: COUNT_PARALLEL }, worker));
      const w = Math.max(...rows.map((r) => r[0].length), 4);
      t.diagnostic(`${'name'.padEnd(w)}  dnscache-ts  unbound  (rcodes)`);
      for (const [n, o, u, ro, ru] of rows)
        t.diagnostic(`${n.padEnd(w)}  ${String(o).padStart(11)}  ${String(u).padStart(7)}  (${ro} / ${ru})`);
      const sum = (i: 1 | 2): number => rows.reduce((n, r) => n + r[i], 0);
      t.diagnostic(`${'total'.padEnd(w)}  ${String(sum(1)).padStart(11)}  ${String(sum(2)).padStart(7)}`);
      const over = rows
        .filter(([, o, u]) => o > 1.5 * u + 2)
        .map(([n, o, u]) => `${n}: dnscache-ts ${o}, unbound ${u}`);
      assert.deepEqual(over, [], 'dnscache-ts sent more than 1.5 x Unbound + 2 queries');
    },
  );
});
