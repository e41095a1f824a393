// The authoritative backend: a generated zone served by NSD on loopback.
//
// bench.test holds NAMES names h0..h(NAMES-1): every tenth is a CNAME to its
// predecessor (an in-zone chain answered in one reply), the rest A records;
// *.w.bench.test is a wildcard, so unique names that exist can be made up for
// the cold workload; every other name is NXDOMAIN. TTLs are a day, so nothing
// expires during a run. With a DNSCurve key, NSD also serves CURVE_ZONE, whose
// only server is uz5<key>.ns.CURVE_ZONE: CurveDNS in front of this NSD.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Endpoint, Running, spawnDaemon, waitReady } from './resolvers';

export const ZONE = 'bench.test';
export const NAMES = 100_000;
/** Names below this exist through the wildcard *.WILD. */
export const WILD = `w.${ZONE}`;

/** The zone the DNSCurve comparison asks (the lab's `test` delegates it), and its wildcard. */
export const CURVE_ZONE = 'curve-bench.test';
export const CURVE_WILD = `w.${CURVE_ZONE}`;

/** The DNSCurve zone: NS uz5<key>.ns (at `curvedns`, the address CurveDNS listens on), a wildcard, nothing else. */
function curveZoneText(nsName: string, curvedns: string): string {
  return [
    `$ORIGIN ${CURVE_ZONE}.`,
    '$TTL 86400',
    `@ IN SOA ${nsName}. hostmaster.${CURVE_ZONE}. 1 3600 600 86400 3600`,
    `@ IN NS ${nsName}.`,
    `${nsName}. IN A ${curvedns}`,
    `*.w IN A 10.254.0.1`,
    '',
  ].join('\n');
}

/** The i-th name of the zone. */
export const zoneName = (i: number): string => `h${i}.${ZONE}`;
const isCname = (i: number): boolean => i % 10 === 9;

function zoneText(): string {
  const lines = [
    `$ORIGIN ${ZONE}.`,
    '$TTL 86400',
    `@ IN SOA ns.${ZONE}. hostmaster.${ZONE}. 1 3600 600 86400 3600`,
    `@ IN NS ns.${ZONE}.`,
    'ns IN A 127.0.0.1',
    `*.w IN A 10.255.0.1`,
  ];
  for (let i = 0; i < NAMES; i++) {
    lines.push(
      isCname(i) ? `h${i} IN CNAME h${i - 1}` : `h${i} IN A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * Writes the zone and an NSD configuration into `dir` and starts NSD in the
 * foreground on `listen` only. One server process, no privilege drop or
 * chroot, no database, no remote control, and no response rate limiting
 * (RRL would otherwise throttle the benchmark as an attack).
 */
export async function startNsd(
  dir: string,
  listen: Endpoint,
  curve?: { nsName: string; address: string },
): Promise<Running> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${ZONE}.zone`), zoneText());
  if (curve) writeFileSync(join(dir, `${CURVE_ZONE}.zone`), curveZoneText(curve.nsName, curve.address));
  const conf = join(dir, 'nsd.conf');
  writeFileSync(
    conf,
    [
      'server:',
      `  ip-address: ${listen.address}@${listen.port}`,
      '  do-ip6: no',
      '  server-count: 1',
      '  reuseport: no',
      '  username: ""',
      '  chroot: ""',
      `  zonesdir: "${dir}"`,
      '  database: ""',
      `  zonelistfile: "${join(dir, 'zone.list')}"`,
      `  xfrdfile: "${join(dir, 'xfrd.state')}"`,
      `  pidfile: "${join(dir, 'nsd.pid')}"`,
      `  logfile: "${join(dir, 'nsd.log')}"`,
      '  zonefiles-write: 0',
      '  verbosity: 0',
      '  rrl-ratelimit: 0',
      '  rrl-whitelist-ratelimit: 0',
      'remote-control:',
      '  control-enable: no',
      'zone:',
      `  name: ${ZONE}`,
      `  zonefile: ${ZONE}.zone`,
      ...(curve ? ['zone:', `  name: ${CURVE_ZONE}`, `  zonefile: ${CURVE_ZONE}.zone`] : []),
      '',
    ].join('\n'),
  );
  const d = spawnDaemon('nsd', 'nsd', ['-d', '-c', conf]);
  const log = (): string => {
    try {
      return readFileSync(join(dir, 'nsd.log'), 'utf8');
    } catch {
      return '';
    }
  };
  await waitReady({ ...d, output: () => d.output() + log() }, listen.address, listen.port, 30000);
  return { ...listen, daemon: d };
}
