// dnscache rules the rest of the suite left unpinned (docs/spec-map.md listed them): HIDETTL
// on the wire, the client source-port rule (only 53 or 1024 and up are answered), and a
// forwarder's referral passed over for the next upstream.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, Socket } from 'node:dgram';
import { freeLoopback } from '../lab/addresses';
import { query, records } from '../lab/client';
import { hexIp } from '../../src/log/log';
import { Dnscache } from './harness';
import {
  answersUdpFrom,
  freshName,
  header,
  queriesFor,
  queryBytes,
  RCODE,
  startSetup,
  suiteScope,
  waitFor,
  WILDCARD_ADDRESS,
} from './fixtures';
import { LabServer } from '../lab/server';

describe('HIDETTL', () => {
  const scope = suiteScope();
  let dns: Dnscache;
  before(async () => {
    ({ dns } = await startSetup(scope, ['answer'], { env: { HIDETTL: '1' } }));
  });

  test('every record of a reply has TTL 0, resolved and from the cache', async () => {
    const name = freshName('hidettl');
    for (const how of ['resolved', 'cached']) {
      const reply = await query(dns, name, 'A');
      assert.equal(header(reply.raw).rcode, RCODE.NOERROR);
      const all = [...records(reply.packet.answers), ...records(reply.packet.authorities)];
      assert.ok(all.length > 0, `${how}: records`);
      for (const r of all) assert.equal(r.ttl, 0, `${how}: ${r.name} ${r.type} TTL`);
    }
    const nx = await query(dns, `nx-${process.pid}.example.test`, 'A');
    assert.equal(header(nx.raw).rcode, RCODE.NXDOMAIN);
    const soa = records(nx.packet.authorities, 'SOA');
    assert.equal(soa.length, 1, 'the SOA of the NXDOMAIN');
    assert.equal(soa[0]!.ttl, 0, 'NXDOMAIN SOA TTL');
  });
});

describe('client source ports', () => {
  const scope = suiteScope();
  let dns: Dnscache;
  const sockets: Socket[] = [];
  before(async () => {
    ({ dns } = await startSetup(scope));
    // Every 127/8 client is admitted, so only the port decides.
    dns.addIpFile('127');
    scope.after(() => sockets.forEach((s) => s.close()));
  });

  /** A loopback address port 53 is free on, admitted by ip/ (a refusal is logged once a minute per address). */
  async function freshClient(): Promise<string> {
    const client = await freeLoopback(53);
    await waitFor('ip/127 admits the client', async () => ((await answersUdpFrom(dns, client)) ? true : undefined));
    return client;
  }

  /** The reply dnscache sends to `client:port`, or 'refused' once its `refused` line says it sent none. */
  async function askFrom(client: string, port: number, name: string): Promise<Buffer | 'refused'> {
    const sock = createSocket('udp4');
    sockets.push(sock);
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, client, () => resolve());
    });
    const from = dns.logs.length;
    const reply = new Promise<Buffer>((resolve) => sock.once('message', resolve));
    sock.send(queryBytes(name, 'A'), dns.port, dns.address);
    const refused = dns.waitForLog(new RegExp(`^refused ${hexIp(client)} u source port$`), 5000, from);
    return Promise.race([reply, refused.then(() => 'refused' as const)]);
  }

  test('a query from a port below 1024 other than 53 is refused, with a log line; 53 and 1024 are answered', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('binding ports below 1024 needs root');
    assert.equal(await askFrom(await freshClient(), 1023, 'localhost'), 'refused');
    assert.equal(await askFrom(await freshClient(), 1, 'localhost'), 'refused');
    const client = await freshClient();
    for (const port of [53, 1024]) {
      const reply = await askFrom(client, port, 'localhost');
      assert.ok(Buffer.isBuffer(reply), `port ${port}: answered`);
      assert.equal(header(reply).rcode, RCODE.NOERROR);
    }
  });
});

describe('FORWARDONLY: an upstream that answers with a referral', () => {
  const scope = suiteScope();
  let dns: Dnscache;
  let lame: LabServer;
  let good: LabServer;
  before(async () => {
    // servers/@ lists the lame one first: untried upstreams are asked in file order.
    const setup = await startSetup(scope, ['lame-referral', 'answer']);
    dns = setup.dns;
    [lame, good] = setup.labs as [LabServer, LabServer];
  });

  test('is passed over for the next upstream, logged as `ignored referral`, and nothing of it is cached', async () => {
    const name = freshName('referral');
    const from = dns.logs.length;
    const reply = await query(dns, name, 'A');
    assert.equal(header(reply.raw).rcode, RCODE.NOERROR);
    assert.deepEqual(
      records(reply.packet.answers, 'A').map((r) => r.data as string),
      [WILDCARD_ADDRESS],
    );
    assert.equal(queriesFor(lame, name).length, 1, 'the lame upstream was asked first');
    assert.equal(queriesFor(good, name).length, 1, 'then the next one');
    assert.ok(dns.linesMatching(new RegExp(`^ignored referral ${hexIp(lame.address)} `), from).length >= 1);
    // The referral's root NS set was not learnt: the next name goes the same way and is answered.
    const again = await query(dns, freshName('referral'), 'A');
    assert.equal(header(again.raw).rcode, RCODE.NOERROR);
  });
});
