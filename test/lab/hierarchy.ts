// A whole DNS tree of real authoritative LabServers on loopback, for
// iterative-resolution tests and the offline demo.
//
// Every server listens on 127.B.x.y (B = `net`), all on the same port, so a
// resolver whose outgoing queries go to that port can walk the tree exactly
// as on the Internet: root -> TLD -> zone, with glue, glueless delegations,
// lame, dead, slow, truncating and poisoning servers along the way. Names
// live under the reserved-looking TLDs `test`, `example` and `lab`.
//
//   .                root1 127.B.0.1, root2 127.B.0.2 (also serve `lab`:
//                    a/b.root-servers.lab)
//   test             tld1 127.B.1.1 (ns1.nic.test), tld2 127.B.1.2 (ns2.nic.test)
//   example          example-tld 127.B.2.1 (a.nic.example)
//   example.test     example1 127.B.3.1, example2 127.B.3.2 (demo content)
//   lame.test        lame1 127.B.4.1 REFUSED, lame2 127.B.4.2
//   uplame.test      uplame1 127.B.4.3 upward referral, uplame2 127.B.4.4
//   dead.test        dead1 127.B.5.1 silent, dead2 127.B.5.2
//   alldead.test     alldead1 127.B.5.3, alldead2 127.B.5.4, both silent
//   slow.test        slow 127.B.5.5 (400 ms)
//   provider.example provider 127.B.6.1 (also glueless.test, v6host.example)
//   trunc.test       trunc 127.B.7.1 (UDP always TC)
//   poison.test      poison 127.B.8.1 (injects), evil 127.B.66.6 (fake example.test)
//   cname.test       cname 127.B.9.1
//   nxns.test        nxns 127.B.10.1; victim.example: victim 127.B.10.2
//   deep.test        deep 127.B.11.1 (glueless depth 3 via deep1..3.example)
//   toodeep.test     toodeep 127.B.11.2 (glueless depth 6 via td1..6.example)
//   v6only.test      v6 [::1] (AAAA-only glue; also v6glueless.test)
//
// With `curve` (and Debian's curvedns installed), zones delegated to uz5
// name servers, all named uz5<K>.ns.<zone> with K the key curvedns-keygen
// made at start:
//   curve.test       127.B.12.1: a recording relay (relay.ts) in front of
//                    CurveDNS at 127.B.12.5, which forwards to the zone's
//                    authoritative server curve 127.B.12.2
//   plaincurve.test  plaincurve 127.B.12.3: a plain server behind a uz5 name
//                    (UZ5FALLBACK's case)
//   forged.test      127.B.12.4: nothing; a test binds its own forger there
//
// `HIERARCHY_ANSWERS` lists what a correct resolver returns for each test name.

import { CurveDnsProcess, CurveKeyPair, curvednsKeygen, curvednsMissing, startCurveDns } from './curvedns';
import { exampleTestZone } from './example-zone';
import { Relay, startRelay } from './relay';
import { Behaviour, Injection, LabServer } from './server';
import { a, aaaa, cname, LabRecord, LabZone, ns, soa, txt, zone } from './zone';

/** One server of the tree, before it is started. */
/** The lab server a role describes, on `port`. */
export function startRole(s: RoleSpec, port: number): Promise<LabServer> {
  return LabServer.start({
    address: s.address,
    port,
    zones: s.zones,
    behaviour: s.behaviour,
    delayMs: s.delayMs,
    inject: s.inject,
  });
}

export interface RoleSpec {
  role: string;
  address: string;
  zones: LabZone[];
  behaviour?: Behaviour;
  delayMs?: number;
  inject?: Injection;
  /** What the server is for, shown by `describe()`. */
  note: string;
}

export interface HierarchyOptions {
  /** Second octet B: all IPv4 servers listen on 127.B.x.y. */
  net: number;
  /** The port every server listens on (UDP and TCP). */
  port: number;
  /** Also start the ::1 server (role 'v6'); default true. If ::1 cannot be bound it is skipped. */
  ipv6?: boolean;
  /** Also the DNSCurve zones (CurveDNS and its relay); default false. Skipped, saying why, without curvedns. */
  curve?: boolean;
}

/** The DNSCurve part of a running hierarchy. */
export interface CurveLab {
  /** curvedns-keygen's key pair: every uz5 name in the lab carries it. */
  readonly keys: CurveKeyPair;
  /** The relay at 127.B.12.1 (curve.test's server address), recording what CurveDNS is sent. */
  readonly relay: Relay;
  readonly curvedns: CurveDnsProcess;
  /** The name of curve.test's server (uz5<K>.ns.curve.test), and of the other zones' alike. */
  nsName(zone: string): string;
}

export interface Hierarchy {
  net: number;
  port: number;
  /** Running servers by role name (no 'v6' entry when the ::1 server was skipped). */
  servers: Map<string, LabServer>;
  /** Lines for servers/@: '127.B.0.1:PORT', '127.B.0.2:PORT'. */
  rootHints: string[];
  /** True if the ::1 server (role 'v6') is running. */
  ipv6: boolean;
  /** Why the ::1 server is not running (not asked for, or the bind error). */
  ipv6Skipped?: string;
  /** CurveDNS and the DNSCurve zones, when asked for and possible. */
  curve: CurveLab | null;
  /** Why there is no `curve` (not asked for, or curvedns missing). */
  curveSkipped?: string;
  /** The IP address of a role (also for a role whose server was skipped); throws for unknown roles. */
  addr(role: string): string;
  /** address + port of a running role, for the lab client; throws if it is not running. */
  endpoint(role: string): { address: string; port: number };
  /** The running server of a role; throws if it is not running. */
  server(role: string): LabServer;
  /** Clears every server's `queries` log. */
  resetQueries(): void;
  /** Human-readable lines (role, address, zones, behaviour) for a banner. */
  describe(): string[];
  /** Stops every server; safe to call twice. */
  stop(): Promise<void>;
}

/** Address of the ::1 server. */
export const V6_ADDRESS = '::1';

/** Number of CNAMEs in the long cname.test chain starting at c1.cname.test. */
export const LONG_CHAIN = 20;
/** Glueless NS names in the nxns.test attack delegation. */
export const NXNS_FANOUT = 30;

/**
 * What a correct iterative resolver answers for the hierarchy's names (type A
 * unless '/TYPE' is appended), assuming a glueless-depth limit of 5 and a
 * CNAME-chain limit of 16. Addresses are the final A records (after any
 * CNAMEs); `null` means resolution must fail (SERVFAIL); 'NXDOMAIN' a name error.
 */
export const HIERARCHY_ANSWERS: Readonly<Record<string, readonly string[] | null | 'NXDOMAIN'>> = {
  'www.example.test': ['192.0.2.80'],
  'www.example.test/AAAA': ['2001:db8::80'],
  'alias.example.test': ['192.0.2.80'], // CNAME www
  'chain.example.test': ['192.0.2.80'], // CNAME alias -> CNAME www
  'mail.example.test': ['192.0.2.25'],
  'anything.wild.example.test': ['192.0.2.99'], // wildcard
  'nosuch.example.test': 'NXDOMAIN',
  'nosuch.test': 'NXDOMAIN',
  'www.glueless.test': ['192.0.2.10'],
  'www.lame.test': ['192.0.2.20'],
  'www.uplame.test': ['192.0.2.21'],
  'www.dead.test': ['192.0.2.30'],
  'www.alldead.test': null,
  'www.slow.test': ['192.0.2.40'],
  'www.trunc.test': ['192.0.2.51', '192.0.2.52', '192.0.2.53'],
  'www.v6only.test': ['192.0.2.60'], // needs IPv6 (::1)
  'www.v6glueless.test': ['192.0.2.61'], // needs IPv6 and an AAAA lookup of the NS name
  'www.poison.test': ['192.0.2.66'],
  'www.deep.test': ['192.0.2.70'], // glueless depth 3
  'www.toodeep.test': null, // glueless depth 6: beyond a limit of 5 (the data says 192.0.2.71)
  'www.cname.test': ['192.0.2.80'], // CNAME www.example.test
  'loop1.cname.test': null, // loop1 <-> loop2
  'c1.cname.test': null, // 20 CNAMEs (c1 -> ... -> c20 -> c21 A 192.0.2.90): beyond a limit of 16
  'chain16.cname.test': ['192.0.2.91'], // after exactly 16 CNAMEs
  'chain17.cname.test': null, // exactly 17 CNAMEs (then A 192.0.2.92): beyond a limit of 16
  'www.nxns.test': ['192.0.2.95'],
  'www.attack.nxns.test': null, // every NS name is NXDOMAIN
};

/** The same for the DNSCurve zones (`curve` hierarchies only). */
export const CURVE_ANSWERS: Readonly<Record<string, readonly string[]>> = {
  'www.curve.test': ['192.0.2.12'],
  'www.plaincurve.test': ['192.0.2.13'],
};

/** Addresses of the DNSCurve part (octet x = 12): the relay curve.test's NS name points at, and what stands behind. */
export const CURVE_AT = { relay: 1, auth: 2, plain: 3, forged: 4, curvedns: 5 } as const;

// --- zone data --------------------------------------------------------------

/** One CNAME per name, each to the next, the last to `end`, which has `A address`. */
function cnameChain(names: string[], end: string, address: string): LabRecord[] {
  const out: LabRecord[] = [];
  for (let i = 0; i < names.length; i++) out.push(cname(names[i]!, names[i + 1] ?? end));
  out.push(a(end, address));
  return out;
}

/**
 * The servers of the tree for second octet `net` (not started); with
 * `curveKey` (51 base32 characters) also the DNSCurve zones' servers.
 */
export function hierarchyLayout(net: number, curveKey?: string): RoleSpec[] {
  if (!Number.isInteger(net) || net < 1 || net > 254) throw new Error(`lab hierarchy: net ${net} is not 1..254`);
  const ip = (x: number, y: number): string => `127.${net}.${x}.${y}`;
  const at = {
    root1: ip(0, 1),
    root2: ip(0, 2),
    tld1: ip(1, 1),
    tld2: ip(1, 2),
    exampleTld: ip(2, 1),
    example1: ip(3, 1),
    example2: ip(3, 2),
    lame1: ip(4, 1),
    lame2: ip(4, 2),
    uplame1: ip(4, 3),
    uplame2: ip(4, 4),
    dead1: ip(5, 1),
    dead2: ip(5, 2),
    alldead1: ip(5, 3),
    alldead2: ip(5, 4),
    slow: ip(5, 5),
    provider: ip(6, 1),
    trunc: ip(7, 1),
    poison: ip(8, 1),
    evil: ip(66, 6),
    cname: ip(9, 1),
    nxns: ip(10, 1),
    victim: ip(10, 2),
    deep: ip(11, 1),
    toodeep: ip(11, 2),
  };

  // The root, and `lab` for the root servers' own names.
  const rootNs = [ns('.', 'a.root-servers.lab'), ns('.', 'b.root-servers.lab')];
  const rootServerAddrs = [a('a.root-servers.lab', at.root1), a('b.root-servers.lab', at.root2)];
  const root = zone(
    '.',
    soa('.', 86400, 3600),
    rootNs,
    ns('lab', 'a.root-servers.lab'),
    ns('lab', 'b.root-servers.lab'),
    rootServerAddrs,
    ns('test', 'ns1.nic.test'),
    ns('test', 'ns2.nic.test'),
    a('ns1.nic.test', at.tld1),
    a('ns2.nic.test', at.tld2),
    ns('example', 'a.nic.example'),
    a('a.nic.example', at.exampleTld),
  );
  const lab = zone(
    'lab',
    soa('lab'),
    ns('lab', 'a.root-servers.lab'),
    ns('lab', 'b.root-servers.lab'),
    rootServerAddrs,
  );

  // `test`: one delegation per scenario.
  const test = zone(
    'test',
    soa('test', 86400, 3600),
    ns('test', 'ns1.nic.test'),
    ns('test', 'ns2.nic.test'),
    a('ns1.nic.test', at.tld1),
    a('ns2.nic.test', at.tld2),
    ns('example.test', 'ns1.example.test'),
    ns('example.test', 'ns2.example.test'),
    a('ns1.example.test', at.example1),
    a('ns2.example.test', at.example2),
    ns('glueless.test', 'ns.provider.example'),
    ns('deep.test', 'ns.deep1.example'),
    ns('toodeep.test', 'ns.td1.example'),
    ns('lame.test', 'ns1.lame.test'),
    ns('lame.test', 'ns2.lame.test'),
    a('ns1.lame.test', at.lame1),
    a('ns2.lame.test', at.lame2),
    ns('uplame.test', 'ns1.uplame.test'),
    ns('uplame.test', 'ns2.uplame.test'),
    a('ns1.uplame.test', at.uplame1),
    a('ns2.uplame.test', at.uplame2),
    ns('dead.test', 'ns1.dead.test'),
    ns('dead.test', 'ns2.dead.test'),
    a('ns1.dead.test', at.dead1),
    a('ns2.dead.test', at.dead2),
    ns('alldead.test', 'ns1.alldead.test'),
    ns('alldead.test', 'ns2.alldead.test'),
    a('ns1.alldead.test', at.alldead1),
    a('ns2.alldead.test', at.alldead2),
    ns('slow.test', 'ns.slow.test'),
    a('ns.slow.test', at.slow),
    ns('trunc.test', 'ns.trunc.test'),
    a('ns.trunc.test', at.trunc),
    ns('v6only.test', 'ns.v6only.test'),
    aaaa('ns.v6only.test', V6_ADDRESS), // AAAA glue only
    ns('v6glueless.test', 'ns.v6host.example'),
    ns('poison.test', 'ns.poison.test'),
    a('ns.poison.test', at.poison),
    ns('cname.test', 'ns.cname.test'),
    a('ns.cname.test', at.cname),
    ns('nxns.test', 'ns.nxns.test'),
    a('ns.nxns.test', at.nxns),
    curveKey === undefined ? [] : curveDelegations(curveKey, ip),
  );

  // `example`: hosts the NS names of the glueless delegations. No record in
  // this zone may sit at a glueless NS name, or the referral would carry it
  // as (sibling) glue; hence the `ns0.` names for the ends of the deep chains.
  const deepChain = (prefix: string, levels: number, server: string): { tld: LabRecord[]; zones: LabZone[] } => {
    const tld: LabRecord[] = [];
    const zones: LabZone[] = [];
    for (let i = 1; i <= levels; i++) {
      const origin = `${prefix}${i}.example`;
      const target = i < levels ? `ns.${prefix}${i + 1}.example` : `ns0.${origin}`;
      tld.push(ns(origin, target));
      if (i === levels) tld.push(a(target, server));
      const own = [a(`ns.${origin}`, server)];
      if (i === levels) own.push(a(target, server));
      zones.push(zone(origin, soa(origin), ns(origin, target), own));
    }
    return { tld, zones };
  };
  const deep = deepChain('deep', 3, at.deep);
  const toodeep = deepChain('td', 6, at.toodeep);
  const victims = Array.from({ length: NXNS_FANOUT }, (_, i) => `ns${i + 1}.victim.example`);

  const example = zone(
    'example',
    soa('example', 86400, 3600),
    ns('example', 'a.nic.example'),
    a('a.nic.example', at.exampleTld),
    ns('provider.example', 'ns1.provider.example'),
    a('ns1.provider.example', at.provider),
    ns('v6host.example', 'ns1.provider.example'),
    ns('victim.example', 'ns.victim.example'),
    a('ns.victim.example', at.victim),
    deep.tld,
    toodeep.tld,
  );

  const exampleTest = exampleTestZone(
    [
      ['ns1.example.test', at.example1],
      ['ns2.example.test', at.example2],
    ],
    a('*.wild.example.test', '192.0.2.99'),
  );

  const simple = (origin: string, nsRecords: LabRecord[], ...rest: Array<LabRecord | LabRecord[]>): LabZone =>
    zone(
      origin,
      soa(origin),
      nsRecords.filter((r) => r.type === 'NS'),
      nsRecords.filter((r) => r.type !== 'NS'),
      ...rest,
    );
  const pair = (origin: string, a1: string, a2: string): LabRecord[] => [
    ns(origin, `ns1.${origin}`),
    ns(origin, `ns2.${origin}`),
    a(`ns1.${origin}`, a1),
    a(`ns2.${origin}`, a2),
  ];
  const single = (origin: string, address: string, host = `ns.${origin}`): LabRecord[] => [
    ns(origin, host),
    a(host, address),
  ];

  const lame = simple('lame.test', pair('lame.test', at.lame1, at.lame2), a('www.lame.test', '192.0.2.20'));
  const uplame = simple('uplame.test', pair('uplame.test', at.uplame1, at.uplame2), a('www.uplame.test', '192.0.2.21'));
  const dead = simple('dead.test', pair('dead.test', at.dead1, at.dead2), a('www.dead.test', '192.0.2.30'));
  const alldead = simple(
    'alldead.test',
    pair('alldead.test', at.alldead1, at.alldead2),
    a('www.alldead.test', '192.0.2.31'),
  );
  const slow = simple('slow.test', single('slow.test', at.slow), a('www.slow.test', '192.0.2.40'));

  const chunk = 'x'.repeat(100);
  const trunc = simple(
    'trunc.test',
    single('trunc.test', at.trunc),
    a('www.trunc.test', '192.0.2.51'),
    a('www.trunc.test', '192.0.2.52'),
    a('www.trunc.test', '192.0.2.53'),
    Array.from({ length: 30 }, (_, i) => txt('big.trunc.test', `${i}-${chunk}`)),
  );

  const provider = simple(
    'provider.example',
    single('provider.example', at.provider, 'ns1.provider.example'),
    a('ns.provider.example', at.provider),
  );
  const glueless = zone(
    'glueless.test',
    soa('glueless.test'),
    ns('glueless.test', 'ns.provider.example'),
    a('www.glueless.test', '192.0.2.10'),
  );
  const v6host = zone(
    'v6host.example',
    soa('v6host.example'),
    ns('v6host.example', 'ns1.provider.example'),
    aaaa('ns.v6host.example', V6_ADDRESS),
  );

  const v6only = simple(
    'v6only.test',
    [ns('v6only.test', 'ns.v6only.test'), aaaa('ns.v6only.test', V6_ADDRESS)],
    a('www.v6only.test', '192.0.2.60'),
  );
  const v6glueless = zone(
    'v6glueless.test',
    soa('v6glueless.test'),
    ns('v6glueless.test', 'ns.v6host.example'),
    a('www.v6glueless.test', '192.0.2.61'),
  );

  const deepTest = zone(
    'deep.test',
    soa('deep.test'),
    ns('deep.test', 'ns.deep1.example'),
    a('www.deep.test', '192.0.2.70'),
  );
  const toodeepTest = zone(
    'toodeep.test',
    soa('toodeep.test'),
    ns('toodeep.test', 'ns.td1.example'),
    a('www.toodeep.test', '192.0.2.71'),
  );

  // The poisoner answers its own names but slips example.test data in. Its
  // fake addresses are loopback (the `evil` server) so a resolver that
  // believes them sends its queries nowhere but 127.B.66.6.
  const poison = simple(
    'poison.test',
    single('poison.test', at.poison),
    a('www.poison.test', '192.0.2.66'),
    a('ns.evil.poison.test', at.evil),
  );
  const poisonInject: Injection = {
    answer: [a('www.example.test', '6.6.6.6')],
    authority: [ns('example.test', 'ns.evil.poison.test')],
    additional: [a('ns1.example.test', at.evil), a('www.example.test', '6.6.6.6')],
  };
  const evilExample = zone(
    'example.test',
    soa('example.test'),
    ns('example.test', 'ns.evil.poison.test'),
    a('ns1.example.test', at.evil),
    a('www.example.test', '6.6.6.6'),
    a('*.example.test', '6.6.6.6'),
  );

  const cnameZone = simple(
    'cname.test',
    single('cname.test', at.cname),
    cname('www.cname.test', 'www.example.test'),
    cname('loop1.cname.test', 'loop2.cname.test'),
    cname('loop2.cname.test', 'loop1.cname.test'),
    cnameChain(
      Array.from({ length: LONG_CHAIN }, (_, i) => `c${i + 1}.cname.test`),
      `c${LONG_CHAIN + 1}.cname.test`,
      '192.0.2.90',
    ),
    cnameChain(
      ['chain16.cname.test', ...Array.from({ length: 15 }, (_, i) => `chain16-${i + 1}.cname.test`)],
      'chain16-end.cname.test',
      '192.0.2.91',
    ),
    cnameChain(
      ['chain17.cname.test', ...Array.from({ length: 16 }, (_, i) => `chain17-${i + 1}.cname.test`)],
      'chain17-end.cname.test',
      '192.0.2.92',
    ),
  );

  const nxns = simple(
    'nxns.test',
    single('nxns.test', at.nxns),
    a('www.nxns.test', '192.0.2.95'),
    victims.map((v) => ns('attack.nxns.test', v)),
  );
  const victim = simple('victim.example', single('victim.example', at.victim));

  return [
    { role: 'root1', address: at.root1, zones: [root, lab], note: 'root server a.root-servers.lab' },
    { role: 'root2', address: at.root2, zones: [root, lab], note: 'root server b.root-servers.lab' },
    { role: 'tld1', address: at.tld1, zones: [test], note: 'ns1.nic.test' },
    { role: 'tld2', address: at.tld2, zones: [test], note: 'ns2.nic.test' },
    { role: 'example-tld', address: at.exampleTld, zones: [example], note: 'a.nic.example' },
    { role: 'example1', address: at.example1, zones: [exampleTest], note: 'ns1.example.test' },
    { role: 'example2', address: at.example2, zones: [exampleTest], note: 'ns2.example.test' },
    { role: 'lame1', address: at.lame1, zones: [lame], behaviour: 'refused', note: 'ns1.lame.test, lame: REFUSED' },
    { role: 'lame2', address: at.lame2, zones: [lame], note: 'ns2.lame.test' },
    {
      role: 'uplame1',
      address: at.uplame1,
      zones: [uplame],
      behaviour: 'lame-referral',
      note: 'ns1.uplame.test, upward referral to the root',
    },
    { role: 'uplame2', address: at.uplame2, zones: [uplame], note: 'ns2.uplame.test' },
    { role: 'dead1', address: at.dead1, zones: [dead], behaviour: 'silent', note: 'ns1.dead.test, never answers' },
    { role: 'dead2', address: at.dead2, zones: [dead], note: 'ns2.dead.test' },
    {
      role: 'alldead1',
      address: at.alldead1,
      zones: [alldead],
      behaviour: 'silent',
      note: 'ns1.alldead.test, never answers',
    },
    {
      role: 'alldead2',
      address: at.alldead2,
      zones: [alldead],
      behaviour: 'silent',
      note: 'ns2.alldead.test, never answers',
    },
    {
      role: 'slow',
      address: at.slow,
      zones: [slow],
      behaviour: 'slow',
      delayMs: 400,
      note: 'ns.slow.test, answers after 400 ms',
    },
    {
      role: 'provider',
      address: at.provider,
      zones: [provider, glueless, v6host],
      note: 'ns1/ns.provider.example, serves glueless delegations',
    },
    { role: 'trunc', address: at.trunc, zones: [trunc], behaviour: 'truncate', note: 'ns.trunc.test, UDP always TC' },
    {
      role: 'poison',
      address: at.poison,
      zones: [poison],
      inject: poisonInject,
      note: 'ns.poison.test, injects example.test records',
    },
    { role: 'evil', address: at.evil, zones: [evilExample], note: "the poisoner's fake example.test, answers 6.6.6.6" },
    { role: 'cname', address: at.cname, zones: [cnameZone], note: 'ns.cname.test, CNAME loops and long chains' },
    {
      role: 'nxns',
      address: at.nxns,
      zones: [nxns],
      note: `ns.nxns.test, attack.nxns.test has ${NXNS_FANOUT} glueless NS`,
    },
    {
      role: 'victim',
      address: at.victim,
      zones: [victim],
      note: 'ns.victim.example, NXDOMAIN for the attack NS names',
    },
    { role: 'deep', address: at.deep, zones: [deepTest, ...deep.zones], note: 'glueless depth 3' },
    { role: 'toodeep', address: at.toodeep, zones: [toodeepTest, ...toodeep.zones], note: 'glueless depth 6' },
    {
      role: 'v6',
      address: V6_ADDRESS,
      zones: [v6only, v6glueless],
      note: 'ns.v6only.test / ns.v6host.example, IPv6 only',
    },
    ...(curveKey === undefined ? [] : curveServers(curveKey, ip)),
  ];
}

/** The name of a DNSCurve zone's server: the key in its first label. */
export function curveNsName(key: string, zoneName: string): string {
  return `uz5${key}.ns.${zoneName}`;
}

const CURVE_ZONES = ['curve.test', 'plaincurve.test', 'forged.test'] as const;

/** `test`'s delegations of the DNSCurve zones, with glue. */
function curveDelegations(key: string, ip: (x: number, y: number) => string): LabRecord[] {
  const at = [CURVE_AT.relay, CURVE_AT.plain, CURVE_AT.forged];
  return CURVE_ZONES.flatMap((z, i) => [ns(z, curveNsName(key, z)), a(curveNsName(key, z), ip(12, at[i]!))]);
}

/** The authoritative servers of curve.test (behind CurveDNS) and plaincurve.test (plain, behind a uz5 name). */
function curveServers(key: string, ip: (x: number, y: number) => string): RoleSpec[] {
  const own = (z: string, y: number): LabRecord[] => [ns(z, curveNsName(key, z)), a(curveNsName(key, z), ip(12, y))];
  const curve = zone(
    'curve.test',
    soa('curve.test'),
    own('curve.test', CURVE_AT.relay),
    a('www.curve.test', '192.0.2.12'),
    // Too big for UDP with our EDNS size: the same question again over TCP, through CurveDNS.
    Array.from({ length: 30 }, (_, i) => txt('big.curve.test', `${i}-${'c'.repeat(100)}`)),
  );
  const plain = zone(
    'plaincurve.test',
    soa('plaincurve.test'),
    own('plaincurve.test', CURVE_AT.plain),
    a('www.plaincurve.test', '192.0.2.13'),
  );
  return [
    {
      role: 'curve',
      address: ip(12, CURVE_AT.auth),
      zones: [curve],
      note: 'curve.test behind CurveDNS (127.B.12.5) and its relay (127.B.12.1)',
    },
    {
      role: 'plaincurve',
      address: ip(12, CURVE_AT.plain),
      zones: [plain],
      note: 'plaincurve.test: a uz5 name, a plain server',
    },
  ];
}

// --- starting and stopping ---------------------------------------------------

function describeLines(
  specs: RoleSpec[],
  servers: Map<string, LabServer>,
  port: number,
  skipped: string | undefined,
): string[] {
  const rows = specs.map((s) => {
    const running = servers.get(s.role);
    const where = s.address.includes(':') ? `[${s.address}]:${port}` : `${s.address}:${port}`;
    const behaviour = !running
      ? 'NOT RUNNING'
      : running.behaviour +
        (running.behaviour === 'slow' ? ` ${running.delayMs}ms` : '') +
        (running.inject ? ' +inject' : '');
    const zones = s.zones.map((z) => (z.origin === '.' || z.origin === '' ? '.' : z.origin)).join(' ');
    const note = running ? s.note : `${s.note}; ${skipped ?? 'skipped'}`;
    return [s.role, where, behaviour, `${zones}  (${note})`];
  });
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(w[i]!) : cell)).join('  '));
}

/** Starts every server of the tree on 127.`net`.x.y:`port` (and [::1]:`port`). */
export async function startHierarchy(opts: HierarchyOptions): Promise<Hierarchy> {
  const { net, port } = opts;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`lab hierarchy: port ${port} is not 1..65535`);
  const curveSkipped: string | undefined = opts.curve ? (curvednsMissing() ?? undefined) : 'not asked for';
  const curveKeys = curveSkipped === undefined ? curvednsKeygen() : null;
  const specs = hierarchyLayout(net, curveKeys?.dnsPublic);
  const wantV6 = opts.ipv6 ?? true;
  const v4 = specs.filter((s) => s.address !== V6_ADDRESS);
  const v6 = specs.find((s) => s.address === V6_ADDRESS)!;

  const start = (s: RoleSpec): Promise<LabServer> => startRole(s, port);
  const settled = await Promise.allSettled([
    ...v4.map(start),
    wantV6 ? start(v6) : Promise.reject(new Error('not asked for')),
  ]);

  const servers = new Map<string, LabServer>();
  const failures: string[] = [];
  let ipv6Skipped: string | undefined;
  settled.forEach((r, i) => {
    const spec = i < v4.length ? v4[i]! : v6;
    if (r.status === 'fulfilled') servers.set(spec.role, r.value);
    else if (spec === v6)
      ipv6Skipped = wantV6 ? `cannot bind [${V6_ADDRESS}]:${port}: ${(r.reason as Error).message}` : 'not asked for';
    else failures.push(`${spec.role} ${spec.address}:${port}: ${(r.reason as Error).message}`);
  });
  let curve: CurveLab | null = null;
  const stopAll = async (): Promise<void> => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    await curve?.relay.stop();
    await curve?.curvedns.stop();
  };
  if (curveKeys !== null && failures.length === 0) {
    const ip = (y: number): string => `127.${net}.12.${y}`;
    let curvedns: CurveDnsProcess | null = null;
    try {
      curvedns = await startCurveDns(ip(CURVE_AT.curvedns), port, ip(CURVE_AT.auth), port, curveKeys);
      const relay = await startRelay(ip(CURVE_AT.relay), port, ip(CURVE_AT.curvedns), port);
      curve = { keys: curveKeys, relay, curvedns, nsName: (z) => curveNsName(curveKeys.dnsPublic, z) };
    } catch (err) {
      await curvedns?.stop();
      failures.push(`CurveDNS or its relay on 127.${net}.12.x:${port}: ${(err as Error).message}`);
    }
  }
  if (failures.length > 0) {
    await stopAll();
    const firstCode = settled.find(
      (r): r is PromiseRejectedResult =>
        r.status === 'rejected' && (r.reason as NodeJS.ErrnoException)?.code !== undefined,
    );
    const err = new Error(
      `lab hierarchy on 127.${net}.x.y port ${port}: ${failures.length} server(s) failed to start: ${failures[0]}`,
    ) as NodeJS.ErrnoException;
    const code = (firstCode?.reason as NodeJS.ErrnoException | undefined)?.code;
    if (code !== undefined) err.code = code;
    throw err;
  }

  const byRole = new Map(specs.map((s) => [s.role, s]));
  const server = (role: string): LabServer => {
    const s = servers.get(role);
    if (!s)
      throw new Error(
        `lab hierarchy: no running server for role ${role}${byRole.has(role) ? ` (${ipv6Skipped})` : ''}`,
      );
    return s;
  };
  return {
    net,
    port,
    servers,
    rootHints: [servers.get('root1')!, servers.get('root2')!].map((s) => `${s.address}:${port}`),
    ipv6: servers.has('v6'),
    ...(ipv6Skipped === undefined ? {} : { ipv6Skipped }),
    curve,
    ...(curveSkipped === undefined ? {} : { curveSkipped }),
    addr(role: string): string {
      const s = byRole.get(role);
      if (!s) throw new Error(`lab hierarchy: unknown role ${role}`);
      return s.address;
    },
    endpoint(role: string) {
      const s = server(role);
      return { address: s.address, port: s.port };
    },
    server,
    resetQueries(): void {
      for (const s of servers.values()) s.resetQueries();
    },
    describe: () => [
      ...describeLines(specs, servers, port, ipv6Skipped),
      ...(curve === null
        ? []
        : [
            `curvedns  ${curve.curvedns.address}:${port}  CurveDNS (key ${curve.keys.dnsPublic}) -> ${servers.get('curve')?.address}:${port}`,
            `relay     ${curve.relay.address}:${port}  records what CurveDNS is sent: curve.test's server ${curveNsName(curve.keys.dnsPublic, 'curve.test')}`,
          ]),
    ],
    stop: stopAll,
  };
}

const NET_MIN = 100;
const NET_MAX = 250;
/** Random ports (port 0) come from below Linux's ephemeral range, so client sockets never hold them. */
const PORT_MIN = 20000;
const PORT_MAX = 32000;
const FREE_ATTEMPTS = 8;

function randomInt(lo: number, hi: number): number {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

/**
 * Starts a hierarchy on a random free 127.B (B in 100..250), so test files
 * running in parallel each get their own tree. `port` 0 also picks a random
 * port (20000..32000), which matters for IPv6: only one hierarchy per port
 * can hold [::1]:port (check `ipv6`).
 */
export async function startFreeHierarchy(
  port = 5053,
  opts: { ipv6?: boolean; curve?: boolean } = {},
): Promise<Hierarchy> {
  const tried = new Set<string>();
  let last: unknown;
  for (let attempt = 0; attempt < FREE_ATTEMPTS; attempt++) {
    const net = randomInt(NET_MIN, NET_MAX);
    const p = port === 0 ? randomInt(PORT_MIN, PORT_MAX) : port;
    if (tried.has(`${net}:${p}`)) continue;
    tried.add(`${net}:${p}`);
    try {
      return await startHierarchy({ net, port: p, ipv6: opts.ipv6 ?? true, curve: opts.curve ?? false });
    } catch (err) {
      last = err;
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw new Error(
    `lab hierarchy: no free 127.B (B ${NET_MIN}..${NET_MAX}) on port ${port} after ${FREE_ATTEMPTS} attempts: ${(last as Error)?.message}`,
  );
}
