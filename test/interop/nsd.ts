// The lab DNS tree (test/lab/hierarchy.ts) served by NSD, a real
// authoritative server: one NSD process per plain authoritative role, with
// RFC 1035 zone files written from the lab's zone data, all on 127.B.x.y and
// one port. Roles whose point is a misbehaviour NSD cannot be told to show
// (REFUSED, upward referrals, silence, delays, injected records) keep running
// as TypeScript LabServers beside them, so the delegations to them still work.
// The ::1 role is left out (NSD and the resolvers are IPv4-only here).
// The truncating role is served by NSD as a plain server: NSD truncates a
// UDP reply only when it does not fit, so big answers still go over TCP.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canBind } from '../lab/addresses';
import { query } from '../lab/client';
import { hierarchyLayout, RoleSpec, startRole, V6_ADDRESS } from '../lab/hierarchy';
import { LabServer } from '../lab/server';
import { canonical, DEFAULT_TTL, LabRecord, LabZone } from '../lab/zone';
import { Daemon, findBinary, runSync, waitUntil } from './daemon';

/** How a role of the layout is run in the NSD lab. */
export type RoleKind = 'nsd' | 'lab' | 'omitted';

/** Behaviours a plain NSD has (truncation happens by itself when a reply does not fit). */
const NSD_BEHAVIOURS = new Set([undefined, 'answer', 'truncate']);

export function roleKind(spec: RoleSpec): RoleKind {
  if (spec.address === V6_ADDRESS) return 'omitted';
  if (NSD_BEHAVIOURS.has(spec.behaviour) && spec.inject === undefined) return 'nsd';
  return 'lab';
}

// --- zone files --------------------------------------------------------------

/** Absolute presentation form: 'www.example.test.', the root as '.'. */
export function fqdn(name: string): string {
  const c = canonical(name);
  return c === '' ? '.' : `${c}.`;
}

/** A <character-string> in quotes, with \" \\ and \DDD escapes (RFC 1035 §5.1). */
function quoted(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (byte < 0x20 || byte > 0x7e) out += `\\${String(byte).padStart(3, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** RDATA of a lab record in zone-file form; throws for types the writer does not know. */
export function rdataText(r: LabRecord): string {
  const d = r.data;
  switch (r.type.toUpperCase()) {
    case 'A':
    case 'AAAA':
      return String(d);
    case 'NS':
    case 'CNAME':
    case 'PTR':
    case 'DNAME':
      return fqdn(String(d));
    case 'MX':
      return `${d.preference} ${fqdn(d.exchange)}`;
    case 'SRV':
      return `${d.priority} ${d.weight} ${d.port} ${fqdn(d.target)}`;
    case 'CAA':
      return `${d.flags ?? 0} ${d.tag} ${quoted(String(d.value))}`;
    case 'TXT':
      return (Array.isArray(d) ? d : [d])
        .map((s: string | Buffer) => quoted(Buffer.isBuffer(s) ? s.toString('latin1') : String(s)))
        .join(' ');
    case 'SOA':
      return `${fqdn(d.mname)} ${fqdn(d.rname)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    default:
      throw new Error(`zone file writer: record ${r.name} ${r.type} has a type it cannot write`);
  }
}

/** An RFC 1035 master file for a lab zone: SOA first, absolute names, explicit TTLs. */
export function zoneFileText(z: LabZone): string {
  const soaFirst = [...z.records].sort(
    (x, y) => Number(y.type.toUpperCase() === 'SOA') - Number(x.type.toUpperCase() === 'SOA'),
  );
  const lines = [`; zone ${fqdn(z.origin)} written from the lab layout`, `$TTL ${DEFAULT_TTL}`];
  for (const r of soaFirst)
    lines.push(`${fqdn(r.name)}\t${r.ttl ?? DEFAULT_TTL}\tIN\t${r.type.toUpperCase()}\t${rdataText(r)}`);
  return lines.join('\n') + '\n';
}

/** File name of a zone inside a role's directory. */
function zoneFileName(z: LabZone): string {
  const c = canonical(z.origin);
  return `${c === '' ? 'root' : c}.zone`;
}

/** nsd.conf for one role: its own directory for everything NSD writes, no database, no remote control. */
export function nsdConf(dir: string, address: string, port: number, zones: LabZone[]): string {
  const q = (s: string): string => JSON.stringify(s);
  return [
    'server:',
    `  ip-address: ${address}@${port}`,
    `  port: ${port}`,
    '  do-ip4: yes',
    '  do-ip6: no',
    '  username: ""',
    '  chroot: ""',
    `  zonesdir: ${q(dir)}`,
    '  database: ""',
    `  zonelistfile: ${q(join(dir, 'zone.list'))}`,
    `  pidfile: ${q(join(dir, 'nsd.pid'))}`,
    `  xfrdfile: ${q(join(dir, 'xfrd.state'))}`,
    `  xfrdir: ${q(dir)}`,
    `  logfile: ${q(join(dir, 'nsd.log'))}`,
    '  server-count: 1',
    '  verbosity: 1',
    '  hide-version: yes',
    '  hide-identity: yes',
    '  refuse-any: no',
    '  rrl-ratelimit: 0',
    '  rrl-whitelist-ratelimit: 0',
    'remote-control:',
    '  control-enable: no',
    ...zones.flatMap((z) => ['zone:', `  name: ${q(fqdn(z.origin))}`, `  zonefile: ${q(zoneFileName(z))}`]),
    '',
  ].join('\n');
}

// --- the running lab ---------------------------------------------------------

export interface NsdLab {
  net: number;
  port: number;
  /** Temporary directory with one sub-directory per NSD role. */
  dir: string;
  layout: RoleSpec[];
  kinds: Map<string, RoleKind>;
  /** NSD processes by role. */
  nsd: Map<string, Daemon>;
  /** TypeScript LabServers by role (the misbehaving ones). */
  lab: Map<string, LabServer>;
  /** One line per nsd-checkzone run: 'role origin: ok'. */
  checked: string[];
  /** Root server addresses (for servers/@ and root hints). */
  rootAddresses: string[];
  /** True if `role` has a running server (NSD or LabServer). */
  running(role: string): boolean;
  describe(): string[];
  stop(): Promise<void>;
}

export interface NsdLabOptions {
  net: number;
  port: number;
  nsdBinary?: string;
}

/** The addresses the NSD lab for `net` binds (for choosing a free net). */
export function nsdLabAddresses(net: number): string[] {
  return hierarchyLayout(net)
    .filter((s) => roleKind(s) !== 'omitted')
    .map((s) => s.address);
}

/** A random 127.B (B 100..250) where every NSD-lab address can bind `port` now; null if none found. */
export async function freeNsdNet(port: number, attempts = 8): Promise<number | null> {
  for (let i = 0; i < attempts; i++) {
    const net = 100 + Math.floor(Math.random() * 151);
    const results = await Promise.all(nsdLabAddresses(net).map((a) => canBind(a, port)));
    if (results.every(Boolean)) return net;
  }
  return null;
}

/** Writes the zone files and configurations, checks every zone with nsd-checkzone; throws listing every failure. */
export function writeNsdRoles(dir: string, specs: RoleSpec[], port: number): string[] {
  const checkzone = findBinary('nsd-checkzone');
  const checkconf = findBinary('nsd-checkconf');
  const checked: string[] = [];
  const failures: string[] = [];
  for (const s of specs) {
    const roleDir = join(dir, s.role);
    fs.mkdirSync(roleDir, { recursive: true });
    for (const z of s.zones) {
      const file = join(roleDir, zoneFileName(z));
      fs.writeFileSync(file, zoneFileText(z));
      if (checkzone) {
        const r = runSync(checkzone, [fqdn(z.origin), file]);
        if (r.status === 0) checked.push(`${s.role} ${fqdn(z.origin)}: ${r.output || 'ok'}`);
        else failures.push(`nsd-checkzone ${fqdn(z.origin)} ${file} (role ${s.role}) failed:\n${r.output}`);
      }
    }
    const conf = join(roleDir, 'nsd.conf');
    fs.writeFileSync(conf, nsdConf(roleDir, s.address, port, s.zones));
    if (checkconf) {
      const r = runSync(checkconf, [conf]);
      if (r.status !== 0) failures.push(`nsd-checkconf ${conf} (role ${s.role}) failed:\n${r.output}`);
    }
  }
  if (failures.length > 0) throw new Error(`NSD lab: ${failures.length} check(s) failed:\n${failures.join('\n')}`);
  return checked;
}

/** Starts the lab tree with NSD for the plain roles; resolves once every server answers for its zones' SOA. */
export async function startNsdLab(opts: NsdLabOptions): Promise<NsdLab> {
  const nsdBinary = opts.nsdBinary ?? findBinary('nsd');
  if (!nsdBinary) throw new Error('NSD lab: nsd not installed (apt-get install nsd)');
  const { net, port } = opts;
  const layout = hierarchyLayout(net);
  const kinds = new Map(layout.map((s) => [s.role, roleKind(s)]));
  const nsdSpecs = layout.filter((s) => kinds.get(s.role) === 'nsd');
  const labSpecs = layout.filter((s) => kinds.get(s.role) === 'lab');
  const dir = fs.mkdtempSync(join(tmpdir(), 'dnscache-interop-nsd-'));
  const nsd = new Map<string, Daemon>();
  const lab = new Map<string, LabServer>();

  const stop = async (): Promise<void> => {
    await Promise.all([...[...nsd.values()].map((d) => d.stop()), ...[...lab.values()].map((s) => s.stop())]);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    const checked = writeNsdRoles(dir, nsdSpecs, port);
    for (const s of nsdSpecs)
      nsd.set(s.role, new Daemon(`nsd ${s.role}`, nsdBinary, ['-d', '-c', join(dir, s.role, 'nsd.conf')]));
    const labStarts = labSpecs.map(async (s) => {
      lab.set(s.role, await startRole(s, port));
    });
    const ready = nsdSpecs.map((s) => {
      const d = nsd.get(s.role)!;
      const logFile = join(dir, s.role, 'nsd.log');
      return Promise.all(
        s.zones.map((z) =>
          waitUntil(
            async () => {
              const { packet } = await query({ address: s.address, port }, fqdn(z.origin), 'SOA', {
                rd: false,
                timeoutMs: 250,
              });
              return (
                packet.rcode === 'NOERROR' && packet.flag_aa && (packet.answers ?? []).some((r) => r.type === 'SOA')
              );
            },
            {
              timeoutMs: 8000,
              alive: () => d.alive,
              describe: () => {
                const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
                return `nsd for role ${s.role} on ${s.address}@${port}, zone ${fqdn(z.origin)}; output:\n${d.output}${log}`;
              },
            },
          ),
        ),
      );
    });
    await Promise.all([...labStarts, ...ready]);
    const root = layout.filter((s) => s.role === 'root1' || s.role === 'root2').map((s) => s.address);
    return {
      net,
      port,
      dir,
      layout,
      kinds,
      nsd,
      lab,
      checked,
      rootAddresses: root,
      running: (role) => nsd.has(role) || lab.has(role),
      describe: () =>
        layout.map((s) => {
          const kind = kinds.get(s.role)!;
          const what =
            kind === 'nsd'
              ? 'NSD'
              : kind === 'lab'
                ? `LabServer (${s.behaviour ?? 'answer'}${s.inject ? ', injects' : ''})`
                : 'not run';
          const zones = s.zones.map((z) => fqdn(z.origin)).join(' ');
          return `${s.role.padEnd(12)} ${`${s.address}@${port}`.padEnd(20)} ${what.padEnd(34)} ${zones}`;
        }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
