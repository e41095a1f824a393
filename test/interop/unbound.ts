// Unbound, a real iterative resolver, for comparison with dnscache-ts. It
// can only reach the lab: its root hints list the lab's root servers (port 53
// implied: Unbound queries every server it learns on port 53), it sends only
// from a loopback address, validates nothing (iterator module only, no trust
// anchor, nothing fetched) and has no remote control.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertLoopback } from '../lab/addresses';
import { query } from '../lab/client';
import { RoleSpec } from '../lab/hierarchy';
import { canonical } from '../lab/zone';
import { Daemon, findBinary, runSync, waitUntil } from './daemon';
import { fqdn } from './nsd';

export interface RootHint {
  name: string;
  address: string;
}

/** The root zone's NS names and their addresses, from the lab layout. */
export function rootHintsFromLayout(layout: RoleSpec[]): RootHint[] {
  const rootZone = layout.find((s) => s.role === 'root1')!.zones.find((z) => canonical(z.origin) === '')!;
  const names = rootZone.records
    .filter((r) => r.type === 'NS' && canonical(r.name) === '')
    .map((r) => canonical(String(r.data)));
  return names.map((name) => {
    const a = rootZone.records.find((r) => r.type === 'A' && canonical(r.name) === name);
    if (!a) throw new Error(`root hints: no address for ${name} in the lab root zone`);
    return { name, address: String(a.data) };
  });
}

export function rootHintsText(hints: RootHint[]): string {
  return [
    '; the lab root servers (port 53)',
    ...hints.map((h) => `.\t3600000\tIN\tNS\t${fqdn(h.name)}`),
    ...hints.map((h) => `${fqdn(h.name)}\t3600000\tIN\tA\t${h.address}`),
    '',
  ].join('\n');
}

export interface UnboundOptions {
  hints: RootHint[];
  listen: { address: string; port: number };
  /** Source address of its upstream queries (a loopback address), default 127.0.0.1. */
  outgoing?: string;
  binary?: string;
  /** Unbound's log verbosity (0..5), default 1; the log is in `daemon.output`. */
  verbosity?: number;
}

export function unboundConf(dir: string, opts: UnboundOptions): string {
  const q = (s: string): string => JSON.stringify(s);
  return [
    'server:',
    `  verbosity: ${opts.verbosity ?? 1}`,
    '  num-threads: 1',
    `  interface: ${opts.listen.address}@${opts.listen.port}`,
    `  port: ${opts.listen.port}`,
    `  outgoing-interface: ${opts.outgoing ?? '127.0.0.1'}`,
    '  do-ip4: yes',
    '  do-ip6: no',
    '  do-udp: yes',
    '  do-tcp: yes',
    '  do-daemonize: no',
    '  use-syslog: no',
    '  logfile: ""',
    '  chroot: ""',
    '  username: ""',
    `  directory: ${q(dir)}`,
    `  pidfile: ${q(join(dir, 'unbound.pid'))}`,
    `  root-hints: ${q(join(dir, 'root.hints'))}`,
    '  access-control: 127.0.0.0/8 allow',
    '  do-not-query-localhost: no',
    '  module-config: "iterator"',
    '  qname-minimisation: no',
    '  harden-glue: yes',
    '  prefetch: no',
    '  so-reuseport: no',
    '  hide-identity: yes',
    '  hide-version: yes',
    '  msg-cache-size: 4m',
    '  rrset-cache-size: 4m',
    // test. is one of Unbound's default local zones (RFC 6761); the lab lives there.
    '  local-zone: "test." nodefault',
    'remote-control:',
    '  control-enable: no',
    '',
  ].join('\n');
}

export interface Unbound {
  endpoint: { address: string; port: number };
  daemon: Daemon;
  conf: string;
  stop(): Promise<void>;
}

/** Starts `unbound -d -c <conf>` in a temporary directory and waits until it answers (a local name, no upstream traffic). */
export async function startUnbound(opts: UnboundOptions): Promise<Unbound> {
  const binary = opts.binary ?? findBinary('unbound');
  if (!binary) throw new Error('unbound not installed (apt-get install unbound)');
  assertLoopback(opts.listen.address, 'unbound listen address');
  assertLoopback(opts.outgoing ?? '127.0.0.1', 'unbound outgoing address');
  for (const h of opts.hints) assertLoopback(h.address, `root hint ${h.name}`);
  const dir = fs.mkdtempSync(join(tmpdir(), 'dnscache-interop-unbound-'));
  const conf = join(dir, 'unbound.conf');
  fs.writeFileSync(join(dir, 'root.hints'), rootHintsText(opts.hints));
  const text = unboundConf(dir, opts);
  fs.writeFileSync(conf, text);
  const checkconf = findBinary('unbound-checkconf');
  if (checkconf) {
    const r = runSync(checkconf, [conf]);
    if (r.status !== 0) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`unbound-checkconf ${conf} failed:\n${r.output}\n--- conf ---\n${text}`);
    }
  }
  const daemon = new Daemon('unbound', binary, ['-d', '-c', conf]);
  const stop = async (): Promise<void> => {
    await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      async () => (await query(opts.listen, 'localhost', 'A', { timeoutMs: 250 })).packet.rcode === 'NOERROR',
      {
        timeoutMs: 8000,
        alive: () => daemon.alive,
        describe: () => `unbound on ${opts.listen.address}@${opts.listen.port}; output:\n${daemon.output}`,
      },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint: opts.listen, daemon, conf: text, stop };
}
