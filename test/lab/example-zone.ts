// The example.test zone shared by the lab hierarchy (npm start, iterative
// tests) and the forward-only end-to-end tests: answers, CNAME chains, MX,
// TXT, SRV, CAA and a 60-record answer for truncation.

import { a, aaaa, caa, cname, LabRecord, LabZone, mx, ns, soa, srv, txt, zone } from './zone';

/** The zone's data, without its SOA, NS and glue. */
export function exampleTestContent(): LabRecord[] {
  const big: LabRecord[] = [];
  for (let i = 1; i <= 60; i++) big.push(a('big.example.test', `192.0.2.${i}`));
  return [
    a('example.test', '192.0.2.1'),
    aaaa('example.test', '2001:db8::1'),
    a('www.example.test', '192.0.2.80'),
    aaaa('www.example.test', '2001:db8::80'),
    cname('alias.example.test', 'www.example.test'),
    cname('chain.example.test', 'alias.example.test'),
    mx('example.test', 10, 'mail.example.test'),
    a('mail.example.test', '192.0.2.25'),
    txt('example.test', 'v=spf1 -all'),
    srv('_sip._udp.example.test', 10, 5, 5060, 'sip.example.test'),
    a('sip.example.test', '192.0.2.50'),
    caa('example.test', 'issue', 'ca.example.test'),
    ...big,
  ];
}

/** example.test served by the given name servers (name → address, with glue). */
export function exampleTestZone(
  nameServers: ReadonlyArray<readonly [string, string]>,
  ...extra: Array<LabRecord | LabRecord[]>
): LabZone {
  return zone(
    'example.test',
    soa('example.test', 3600, 300),
    nameServers.map(([name]) => ns('example.test', name)),
    nameServers.map(([name, address]) => a(name, address)),
    exampleTestContent(),
    ...extra,
  );
}
