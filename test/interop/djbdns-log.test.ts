// LOGFORMAT=djbdns against the real thing: Debian's dnscache (djbdns 1.05)
// and dnscache-ts, both forwarding to one lab server, get the same queries -
// the same bytes, from the same source port - and must log the same lines.
// Two kinds of field are behaviour, not format, and are masked: the cache
// motion in `stats` (dnscache-ts also keeps assembled replies and SOAs),
// and the size in `sent` for an NXDOMAIN (dnscache-ts includes the SOA, as
// RFC 2308 asks; 1.05 does not). TCP source ports are masked too: a client
// cannot reuse one for the second server. Iterating from a lab root, both
// must print `stats` after the same replies: query.c calls log_stats()
// after answers, NODATA and referrals, not after CNAMEs or NXDOMAIN.

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
import { a, ns, soa, zone } from '../lab/zone';
import { suiteScope } from '../e2e/fixtures';
import { startDnscache } from '../e2e/harness';
import { statsPerQuestion } from '../e2e/iterate-fixtures';
import { Daemon, findBinary, waitUntil } from './daemon';

const DNS_PORT = 53;
const djbdns = findBinary('dnscache') === '/usr/sbin/dnscache' ? '/usr/sbin/dnscache' : null;
const skip = !djbdns
  ? "Debian's dnscache is not installed (apt-get install dnscache)"
  : process.getuid?.() !== 0
    ? 'dnscache 1.05 binds port 53 and drops privileges: needs root'
    : false;

type Query = [name: string, type: string, transport: 'udp' | 'tcp'];

/** The queries, in order. */
const QUERIES: Query[] = [
  ['www.example.test', 'A', 'udp'],
  ['www.example.test', 'A', 'udp'],
  ['example.test', 'MX', 'udp'],
  ['example.test', 'TXT', 'udp'],
  ['www.example.test', 'AAAA', 'udp'],
  ['nx.example.test', 'A', 'udp'],
  ['example.test', 'NS', 'tcp'],
];

/**
 * Iterating from a root: a referral on the way to each new zone, then an
 * answer, a CNAME (its target cached by then), an NXDOMAIN, a NODATA, and
 * the name dnscache answers itself that is not localhost.
 */
const ITERATED: Query[] = [
  ['www.example.test', 'A', 'udp'],
  ['alias.example.test', 'A', 'udp'],
  ['nx.example.test', 'A', 'udp'],
  ['www.example.test', 'TXT', 'udp'],
  ['example.test', 'MX', 'udp'],
  ['nosuch', 'A', 'udp'],
  ['1.0.0.127.in-addr.arpa', 'PTR', 'udp'],
];

/** Sends `queries` to `server`, UDP ones from `udp`'s port, each with a fixed ID; waits for every reply. */
async function ask(server: { address: string; port: number }, udp: dgram.Socket, queries: Query[]): Promise<void> {
  for (const [i, [name, type, transport]] of queries.entries()) {
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

/** Debian's dnscache on a free loopback address, asking `servers` (FORWARDONLY or iterating from them as roots). */
async function startOriginal(
  scope: ReturnType<typeof suiteScope>,
  servers: readonly string[],
  forwardOnly: boolean,
): Promise<{ daemon: Daemon; address: string }> {
  // It chroots into ROOT as nobody, so ROOT is world-readable.
  const root = fs.mkdtempSync(join(tmpdir(), 'dnscache-105-'));
  scope.after(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.chmodSync(root, 0o755);
  for (const d of ['ip', 'servers']) fs.mkdirSync(join(root, d), { mode: 0o755 });
  fs.writeFileSync(join(root, 'ip', '127.0.0.1'), '');
  fs.writeFileSync(join(root, 'servers', '@'), servers.map((s) => `${s}\n`).join(''), { mode: 0o644 });
  const address = await freeLoopback(DNS_PORT);
  const env = [
    `IP=${address}`,
    'IPSEND=0.0.0.0',
    `ROOT=${root}`,
    'CACHESIZE=1000000',
    'UID=65534',
    'GID=65534',
    ...(forwardOnly ? ['FORWARDONLY=1'] : []),
  ];
  const daemon = new Daemon('dnscache 1.05', '/usr/bin/env', ['-i', ...env, djbdns!]);
  scope.after(() => daemon.stop());
  await waitUntil(async () => daemon.output.startsWith('starting\n'), {
    timeoutMs: 5000,
    alive: () => daemon.alive,
    describe: () => daemon.output,
  });
  return { daemon, address };
}

/** A client socket on 127.0.0.1, closed after the suite. */
async function clientSocket(scope: ReturnType<typeof suiteScope>): Promise<dgram.Socket> {
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
  scope.after(() => udp.close());
  return udp;
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
    const original = await startOriginal(scope, [labAddress], true);
    const ours = await startDnscache(
      {
        upstreams: [lab],
        listen: { address: await freeLoopback(DNS_PORT), port: DNS_PORT },
        env: { LOGFORMAT: 'djbdns' },
      },
      scope,
    );

    const udp = await clientSocket(scope);
    await ask({ address: original.address, port: DNS_PORT }, udp, QUERIES);
    await ask(ours, udp, QUERIES);
    // Each writes its last line right after its last reply.
    await waitUntil(async () => /tcpclose/.test(original.daemon.output), {
      timeoutMs: 3000,
      alive: () => true,
      describe: () => original.daemon.output,
    });
    await ours.waitForLog(/^tcpclose/);

    const expected = masked(original.daemon.output.trim().split('\n'));
    const got = masked(ours.logs.filter((l) => l !== ''));
    t.diagnostic(`${expected.length} lines alike, e.g.: ${expected.slice(0, 6).join(' | ')}`);
    assert.ok(expected.length >= 25, `${expected.length} lines from dnscache 1.05`);
    assert.deepEqual(got, expected);
  });

  it('iterating: `stats` after the same replies as dnscache 1.05 - answers, NODATA and referrals', async (t) => {
    // A root that refers example.test to its own server, both on port 53 as dnscache 1.05 asks.
    const rootAddress = await freeLoopback(DNS_PORT);
    const exampleAddress = await freeLoopback(DNS_PORT);
    const rootZone = zone(
      '.',
      soa('.', 86400, 3600),
      ns('.', 'a.root-servers.lab'),
      a('a.root-servers.lab', rootAddress),
      ns('example.test', 'ns1.example.test'),
      a('ns1.example.test', exampleAddress),
    );
    for (const [address, zones] of [
      [rootAddress, [rootZone]],
      [exampleAddress, [exampleTestZone([['ns1.example.test', exampleAddress]])]],
    ] as const) {
      const server = await LabServer.start({ address, port: DNS_PORT, zones: [...zones] });
      scope.after(() => server.stop());
    }
    const original = await startOriginal(scope, [rootAddress], false);
    const ours = await startDnscache(
      {
        upstreams: `${rootAddress}\n`,
        forwardOnly: false,
        listen: { address: await freeLoopback(DNS_PORT), port: DNS_PORT },
        env: { LOGFORMAT: 'djbdns', QMIN: '0' },
      },
      scope,
    );

    const udp = await clientSocket(scope);
    await ask({ address: original.address, port: DNS_PORT }, udp, ITERATED);
    await ask(ours, udp, ITERATED);
    // Each writes a question's `sent` line right after its reply.
    const sent = (lines: readonly string[]): number => lines.filter((l) => l.startsWith('sent ')).length;
    await waitUntil(async () => sent(original.daemon.output.split('\n')) === ITERATED.length, {
      timeoutMs: 3000,
      alive: () => true,
      describe: () => original.daemon.output,
    });
    await ours.waitForLogs(/^sent /, ITERATED.length);

    const expected = statsPerQuestion(original.daemon.output.split('\n'));
    t.diagnostic(`dnscache 1.05: ${expected.join(' | ')}`);
    assert.deepEqual(statsPerQuestion(ours.logs), expected);
  });
});
