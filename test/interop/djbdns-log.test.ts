// LOGFORMAT=djbdns against the real thing: Debian's dnscache (djbdns 1.05)
// and dnscache-ts, both forwarding to one lab server, get the same queries -
// the same bytes, from the same source port - and must log the same lines.
// Two kinds of field are behaviour, not format, and are masked: the cache
// motion in `stats` (dnscache-ts also keeps assembled replies and SOAs),
// and the size in `sent` for an NXDOMAIN (dnscache-ts includes the SOA, as
// RFC 2308 asks; 1.05 does not). TCP source ports are masked too: a client
// cannot reuse one for the second server.

import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeQuery, query } from '../lab/client';
import { freeLoopback } from '../lab/addresses';
import { exampleTestZone } from '../lab/example-zone';
import { LabServer } from '../lab/server';
import { suiteScope } from '../e2e/fixtures';
import { startDnscache } from '../e2e/harness';
import { Daemon, findBinary, waitUntil } from './daemon';

const DNS_PORT = 53;
const djbdns = findBinary('dnscache') === '/usr/sbin/dnscache' ? '/usr/sbin/dnscache' : null;
const skip = !djbdns
  ? "Debian's dnscache is not installed (apt-get install dnscache)"
  : process.getuid?.() !== 0
    ? 'dnscache 1.05 binds port 53 and drops privileges: needs root'
    : false;

/** The queries, in order: [name, type, transport]. */
const QUERIES: Array<[string, string, 'udp' | 'tcp']> = [
  ['www.example.test', 'A', 'udp'],
  ['www.example.test', 'A', 'udp'],
  ['example.test', 'MX', 'udp'],
  ['example.test', 'TXT', 'udp'],
  ['www.example.test', 'AAAA', 'udp'],
  ['nx.example.test', 'A', 'udp'],
  ['example.test', 'NS', 'tcp'],
];

/** Sends QUERIES to `server`, UDP ones from `udp`'s port, each with a fixed ID; waits for every reply. */
async function ask(server: { address: string; port: number }, udp: dgram.Socket): Promise<void> {
  for (const [i, [name, type, transport]] of QUERIES.entries()) {
    if (transport === 'tcp') {
      await query(server, name, type, { transport: 'tcp', id: 0x1000 + i });
      continue;
    }
    const { bytes } = encodeQuery(name, type, { id: 0x1000 + i });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${name}/${type} from ${server.address}`)), 3000);
      udp.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      udp.send(bytes, server.port, server.address);
    });
  }
}

function masked(lines: readonly string[]): string[] {
  let nx = false;
  return lines.map((l) => {
    if (/^query \d+ .* 1 nx\.example\.test\.$/.test(l)) nx = true;
    if (/^sent /.test(l) && nx) {
      nx = false;
      return l.replace(/ \d+$/, ' <size>');
    }
    return l
      .replace(/^stats (\d+) \d+ /, 'stats $1 <motion> ')
      .replace(/^(tcpopen|tcpclose) (\w+):\w{4}/, '$1 $2:<port>')
      .replace(/^(query \d+ \w+):\w{4}(:1006 )/, '$1:<port>$2');
  });
}

describe("LOGFORMAT=djbdns: dnscache 1.05's lines, line for line", { skip }, () => {
  const scope = suiteScope();

  it("the same queries give the same lines as Debian's dnscache", async (t) => {
    const labAddress = await freeLoopback(DNS_PORT);
    const lab = await LabServer.start({
      address: labAddress,
      port: DNS_PORT,
      zones: [exampleTestZone([['ns1.example.test', labAddress]])],
      recursionAvailable: true,
    });
    scope.after(() => lab.stop());

    // Debian's dnscache: chroots into ROOT as nobody, so ROOT is world-readable.
    const root = fs.mkdtempSync(join(tmpdir(), 'dnscache-105-'));
    scope.after(() => fs.rmSync(root, { recursive: true, force: true }));
    fs.chmodSync(root, 0o755);
    for (const d of ['ip', 'servers']) fs.mkdirSync(join(root, d), { mode: 0o755 });
    fs.writeFileSync(join(root, 'ip', '127.0.0.1'), '');
    fs.writeFileSync(join(root, 'servers', '@'), `${labAddress}\n`, { mode: 0o644 });
    const theirs = await freeLoopback(DNS_PORT);
    const env = [
      'env',
      '-i',
      `IP=${theirs}`,
      'IPSEND=0.0.0.0',
      `ROOT=${root}`,
      'CACHESIZE=1000000',
      'UID=65534',
      'GID=65534',
      'FORWARDONLY=1',
    ];
    const original = new Daemon('dnscache 1.05', '/usr/bin/env', [...env.slice(1), djbdns!]);
    scope.after(() => original.stop());
    await waitUntil(async () => original.output.startsWith('starting\n'), {
      timeoutMs: 5000,
      alive: () => original.alive,
      describe: () => original.output,
    });

    const ours = await startDnscache(
      {
        upstreams: [lab],
        listen: { address: await freeLoopback(DNS_PORT), port: DNS_PORT },
        env: { LOGFORMAT: 'djbdns' },
      },
      scope,
    );

    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
    scope.after(() => udp.close());
    await ask({ address: theirs, port: DNS_PORT }, udp);
    await ask(ours, udp);
    // Each writes its last line right after its last reply.
    await waitUntil(async () => /tcpclose/.test(original.output), {
      timeoutMs: 3000,
      alive: () => true,
      describe: () => original.output,
    });
    await ours.waitForLog(/^tcpclose/);

    const expected = masked(original.output.trim().split('\n'));
    const got = masked(ours.logs.filter((l) => l !== ''));
    t.diagnostic(`${expected.length} lines alike, e.g.: ${expected.slice(0, 6).join(' | ')}`);
    assert.ok(expected.length >= 25, `${expected.length} lines from dnscache 1.05`);
    assert.deepEqual(got, expected);
  });
});
