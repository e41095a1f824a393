// The zones the offline demo (`npm start`) serves: a few names under the
// reserved .test TLD (RFC 6761), enough to watch answers, CNAME chains,
// NXDOMAIN and large answers without any internet.

import { a, aaaa, caa, cname, LabZone, mx, ns, soa, srv, txt, zone } from './zone';

export const DEMO_UPSTREAM = { address: '127.53.0.1', port: 5053 } as const;

export function demoZones(): LabZone[] {
  const big: ReturnType<typeof a>[] = [];
  for (let i = 1; i <= 60; i++) big.push(a('big.example.test', `192.0.2.${i}`));
  return [
    zone(
      'example.test',
      soa('example.test', 3600, 300),
      ns('example.test', 'ns1.example.test'),
      a('ns1.example.test', DEMO_UPSTREAM.address),
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
      big,
    ),
  ];
}
