// DNSCurve end to end (issue 15): a real dnscache process resolves the lab
// tree's uz5-delegated zones through real CurveDNS (Debian's curvedns,
// started by the lab on loopback, behind a recording relay). What reaches
// CurveDNS is checked byte by byte (no plain query name among it), what
// reaches the authoritative server behind it (the query, decrypted), and
// that the answers arrive, in both formats, over UDP and TCP. A forger
// standing in for a uz5 server shows that replies that do not open are
// dropped and count as failed tries; a plain server behind a uz5 name shows
// UZ5FALLBACK; ip/ shows FLAGEDSERVER. Without curvedns the suite skips,
// saying so.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { records } from '../lab/client';
import { CURVE_AT, Hierarchy, startFreeHierarchy } from '../lab/hierarchy';
import { curvednsMissing } from '../lab/curvedns';
import { Relayed } from '../lab/relay';
import { beforenm, boxAfternm, openAfternm } from '../../src/transport/curve/crypto';
import { Dnscache, startDnscache } from './harness';
import { rig } from './rig';
import { CurveClient } from '../../src/transport/curve/client';
import { Random } from '../../src/random/random';
import { suiteScope } from './fixtures';
import { ask, assertRcode, dataOf, hexIp, startIterative, tail } from './iterate-fixtures';

const MISSING = curvednsMissing();
const scope = suiteScope();
let h: Hierarchy;

/** The query name in wire form, as a plain query would carry it. */
function wire(name: string): Buffer {
  return Buffer.concat([
    ...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])),
    Buffer.from([0]),
  ]);
}

/** Does `bytes` contain `name`'s wire form, in any letter case? */
function carries(bytes: Buffer, name: string): boolean {
  return Buffer.from(bytes.toString('latin1').toLowerCase(), 'latin1').includes(wire(name.toLowerCase()));
}

function relayedSince(from: number): Relayed[] {
  return h.curve!.relay.received.slice(from);
}

/** Asks `dns` for www.curve.test (UDP) or big.curve.test (TXT, over TCP: 30 records), checks the answer, and returns what reached CurveDNS meanwhile. */
async function askThroughCurve(dns: Dnscache, which: 'www' | 'big'): Promise<Relayed[]> {
  const mark = h.curve!.relay.received.length;
  const reply =
    which === 'www' ? await ask(dns, 'www.curve.test') : await ask(dns, 'big.curve.test', 'TXT', { transport: 'tcp' });
  assertRcode(reply, 'NOERROR', tail(dns));
  if (which === 'www') assert.deepEqual(dataOf(reply), ['192.0.2.12']);
  else assert.equal(records(reply.packet.answers, 'TXT').length, 30);
  const sent = relayedSince(mark);
  assert.ok(sent.length >= 1, 'CurveDNS was asked');
  return sent;
}

/** The TCP bytes among `sent`, and the first message in them (after its length). */
function firstTcpMessage(sent: Relayed[]): { all: Buffer; message: Buffer } {
  const all = Buffer.concat(sent.filter((p) => p.transport === 'tcp').map((p) => p.bytes));
  assert.ok(all.length > 2, 'a TCP query reached CurveDNS');
  return { all, message: all.subarray(2, 2 + all.readUInt16BE(0)) };
}

function queriesAt(role: string, name: string): { transport: string; name: string }[] {
  return h.server(role).queries.filter((q) => q.name.toLowerCase() === name);
}

describe('DNSCurve through CurveDNS', { skip: MISSING ?? false }, () => {
  before(async () => {
    h = await startFreeHierarchy(0, { curve: true });
    scope.after(() => h.stop());
    assert.ok(h.curve, h.curveSkipped);
  });

  describe('streamlined (the default)', () => {
    let dns: Dnscache;
    before(async () => {
      dns = await startIterative(h, scope);
    });

    test('a UDP query is sealed: CurveDNS gets no plain name, the server behind it the question, we the answer', async () => {
      const sent = await askThroughCurve(dns, 'www');
      for (const p of sent) {
        assert.equal(p.transport, 'udp');
        assert.equal(p.bytes.subarray(0, 8).toString('latin1'), 'Q6fnvWj8', 'streamlined magic');
        assert.ok(
          !carries(p.bytes, 'www.curve.test') && !carries(p.bytes, 'curve.test'),
          'no plain name reaches CurveDNS',
        );
      }
      assert.ok(
        queriesAt('curve', 'www.curve.test').length >= 1,
        'the authoritative server behind CurveDNS saw the question',
      );
      const relayHex = hexIp(h.curve!.relay.address);
      assert.ok(
        dns.linesMatching(new RegExp(`^tx 0 1 www\\.curve\\.test\\. curve\\.test\\. \\+ ${relayHex}$`)).length === 1,
        tail(dns),
      );
    });

    test('a truncated answer is asked again over TCP, sealed again: 30 TXT records arrive', async () => {
      const sent = await askThroughCurve(dns, 'big');
      assert.equal(firstTcpMessage(sent).message.subarray(0, 8).toString('latin1'), 'Q6fnvWj8', 'sealed over TCP too');
      for (const p of sent) assert.ok(!carries(p.bytes, 'big.curve.test'), 'no plain name reaches CurveDNS');
      assert.ok(queriesAt('curve', 'big.curve.test').length >= 1);
    });
  });

  describe('TXT format (USETEXTFORMAT)', () => {
    let dns: Dnscache;
    before(async () => {
      dns = await startIterative(h, scope, { env: { USETEXTFORMAT: '1' } });
    });

    test('UDP: an ordinary TXT question whose name carries the box and our key; the answer arrives', async () => {
      const sent = await askThroughCurve(dns, 'www');
      for (const p of sent) {
        const q = dnsPacket.decode(p.bytes);
        assert.equal(q.questions?.length, 1);
        const qname = q.questions[0]!.name.toLowerCase();
        assert.equal(q.questions[0]!.type, 'TXT');
        assert.match(qname, /^([0-9b-df-hj-np-z]{1,50}\.)+x1a[0-9b-df-hj-np-z]{51}\.curve\.test$/);
        assert.ok(!carries(p.bytes, 'www.curve.test'), 'no plain question name reaches CurveDNS');
      }
      assert.ok(queriesAt('curve', 'www.curve.test').length >= 1);
      assert.ok(dns.linesMatching(/^tx 0 1 www\.curve\.test\. curve\.test\. \* /).length === 1, tail(dns));
    });

    test('TCP: the truncated answer comes over TCP in the TXT format', async () => {
      const { all, message } = firstTcpMessage(await askThroughCurve(dns, 'big'));
      assert.match(
        dnsPacket.decode(message).questions![0]!.name.toLowerCase(),
        /x1a[0-9b-df-hj-np-z]{51}\.curve\.test$/,
      );
      assert.ok(!carries(all, 'big.curve.test'));
    });
  });

  test('USETEXTFORMAT, a name too long for a TXT query name (255 bytes): streamlined, and tx says +', async () => {
    const dns = await startIterative(h, scope, { env: { USETEXTFORMAT: '1' } });
    const name = `${'x'.repeat(60)}.curve.test`;
    const mark = h.curve!.relay.received.length;
    const reply = await ask(dns, name);
    assertRcode(reply, 'NXDOMAIN', tail(dns));
    const sent = relayedSince(mark);
    assert.ok(sent.length >= 1 && sent.every((p) => p.bytes.subarray(0, 8).toString('latin1') === 'Q6fnvWj8'));
    assert.equal(
      dns.linesMatching(new RegExp(`^tx 0 1 ${name.replace(/\./g, '\\.')}\\. curve\\.test\\. \\+ `)).length,
      1,
      tail(dns),
    );
  });

  describe('UZ5FALLBACK: a uz5 name whose server speaks only plain DNS', () => {
    test('0 (the default): never a plain query, SERVFAIL', async () => {
      const dns = await startIterative(h, scope);
      const reply = await ask(dns, 'www.plaincurve.test');
      assertRcode(reply, 'SERVFAIL', tail(dns));
      assert.equal(
        queriesAt('plaincurve', 'www.plaincurve.test').length,
        0,
        'the server never saw the question in the clear',
      );
      assert.equal(dns.linesMatching(/^tx .* ~ /).length, 0);
    });

    test('1: after one unanswered encrypted try, a plain one, logged ~; the answer arrives', async () => {
      const dns = await startIterative(h, scope, { env: { UZ5FALLBACK: '1' } });
      const reply = await ask(dns, 'www.plaincurve.test');
      assertRcode(reply, 'NOERROR', tail(dns));
      assert.deepEqual(dataOf(reply), ['192.0.2.13']);
      const at = hexIp(h.addr('plaincurve'));
      assert.equal(
        dns.linesMatching(new RegExp(`^tx 0 1 www\\.plaincurve\\.test\\. plaincurve\\.test\\. \\+ ${at}$`)).length,
        1,
        tail(dns),
      );
      assert.equal(
        dns.linesMatching(new RegExp(`^tx 0 1 www\\.plaincurve\\.test\\. plaincurve\\.test\\. ~ ${at}$`)).length,
        1,
        tail(dns),
      );
    });
  });

  describe('FLAGEDSERVER', () => {
    test('ip/-ADDRESS: asked plainly although its name starts with uz5', async () => {
      const relay = h.curve!.relay.address;
      const dns = await startIterative(h, scope, { env: { FLAGEDSERVER: '1' } });
      dns.addIpFile(`-${relay}`);
      const mark = h.curve!.relay.received.length;
      const reply = await ask(dns, 'www.curve.test');
      assertRcode(reply, 'NOERROR', tail(dns));
      assert.ok(
        relayedSince(mark).some((p) => carries(p.bytes, 'www.curve.test')),
        'a plain query reached CurveDNS',
      );
      assert.equal(
        dns.linesMatching(new RegExp(`^tx 0 1 www\\.curve\\.test\\. curve\\.test\\. - ${hexIp(relay)}$`)).length,
        1,
        tail(dns),
      );
    });

    test('ip/%ADDRESS: never asked', async () => {
      const relay = h.curve!.relay.address;
      const dns = await startIterative(h, scope, { env: { FLAGEDSERVER: '1' } });
      dns.addIpFile(`%${relay}`);
      const mark = h.curve!.relay.received.length;
      const reply = await ask(dns, 'www.curve.test');
      assertRcode(reply, 'SERVFAIL', tail(dns));
      assert.equal(relayedSince(mark).length, 0);
    });

    test('without FLAGEDSERVER, ip/% and ip/- say nothing about servers', async () => {
      const relay = h.curve!.relay.address;
      const dns = await startIterative(h, scope);
      dns.addIpFile(`%${relay}`);
      const reply = await ask(dns, 'www.curve.test');
      assertRcode(reply, 'NOERROR', tail(dns));
      assert.equal(dns.linesMatching(/^tx 0 1 www\.curve\.test\. curve\.test\. \+ /).length, 1, tail(dns));
    });
  });

  test('in process: one Curve25519 operation for the server, however many queries; no nonce twice', async () => {
    const client = new CurveClient(new Random(null));
    const r = rig(h, { curve: { client, format: 'streamlined', fallbackAfter: 0 } });
    const mark = h.curve!.relay.received.length;
    for (const name of ['www.curve.test', 'a.curve.test', 'b.curve.test', 'c.curve.test']) {
      const answer = await r.ask(name, 1);
      assert.ok(answer.rcode === 0 || answer.rcode === 3, `${name}: rcode ${answer.rcode}`);
    }
    const big = await r.ask('big.curve.test', 16);
    assert.equal(big.answer.length, 30, 'over TCP after TC');
    assert.equal(client.keys.sharedKeysMade, 1);
    const sent = relayedSince(mark);
    // A query's nonce half follows the magic and our key (TCP: after the length).
    const nonces = sent
      .map((p) => (p.transport === 'udp' ? 0 : 2))
      .flatMap((at, i) => {
        const b = sent[i]!.bytes;
        return b.subarray(at, at + 8).toString('latin1') === 'Q6fnvWj8'
          ? [b.subarray(at + 40, at + 52).toString('hex')]
          : [];
      });
    assert.ok(nonces.length >= 6, `${nonces.length} sealed queries reached CurveDNS`);
    assert.equal(new Set(nonces).size, nonces.length, 'every query its own nonce');
  });

  test('forward-only mode is unchanged: plain queries, even to a DNSCurve server', async () => {
    const relay = h.curve!.relay;
    const dns = await startDnscache(
      { upstreams: [{ address: relay.address, port: relay.port }], forwardOnly: true },
      scope,
    );
    const mark = relay.received.length;
    const reply = await ask(dns, 'www.curve.test');
    assertRcode(reply, 'NOERROR', tail(dns));
    assert.deepEqual(dataOf(reply), ['192.0.2.12']);
    const sent = relayedSince(mark);
    assert.ok(sent.length >= 1 && sent.every((p) => carries(p.bytes, 'www.curve.test')), 'plain DNS, as before');
    assert.ok(dns.linesMatching(/^tx 0 1 www\.curve\.test\. \. - /).length === 1, tail(dns));
  });

  describe('forged and replayed replies', () => {
    let forger: Forger;
    before(async () => {
      forger = await startForger(`127.${h.net}.12.${CURVE_AT.forged}`, h.port, h.curve!.keys.hexSecret);
      scope.after(() => forger.stop());
    });

    test('wrong nonce, bad box, wrong key, replay: all dropped, the try fails, nothing is cached', async () => {
      forger.mode = 'forge';
      const dns = await startIterative(h, scope);
      // A first, genuine answer to replay later.
      forger.mode = 'honest';
      assert.deepEqual(dataOf(await ask(dns, 'one.forged.test')), ['192.0.2.14']);
      forger.mode = 'forge';
      const before = forger.forgedSent;
      const queriesBefore = forger.sealedQueries;
      const reply = await ask(dns, 'www.forged.test');
      assertRcode(reply, 'SERVFAIL', tail(dns));
      assert.ok(forger.forgedSent - before >= 4, `the forger sent ${forger.forgedSent - before} replies`);
      assert.ok(forger.replayed > 0, 'a genuine reply to another query was replayed');
      // Each try timed out (the forgeries did not end it) and the server was asked again.
      assert.ok(
        forger.sealedQueries - queriesBefore >= 2,
        `the forger got ${forger.sealedQueries - queriesBefore} sealed queries`,
      );
      // Nothing of the forgeries (A 6.6.6.6) was believed.
      forger.mode = 'honest';
      for (const name of ['www.forged.test', 'one.forged.test']) {
        const again = await ask(dns, name);
        assert.ok(!dataOf(again).includes('6.6.6.6'), name);
      }
      assert.ok(!dns.logs.some((l) => l.includes('06060606')), 'no forged record logged as learned');
    });

    test('forged replies before the genuine one do not end the try: the answer still arrives', async () => {
      forger.mode = 'forge-then-honest';
      const dns = await startIterative(h, scope);
      const reply = await ask(dns, 'two.forged.test');
      assertRcode(reply, 'NOERROR', tail(dns));
      assert.deepEqual(dataOf(reply), ['192.0.2.14']);
    });

    test('with UZ5FALLBACK=1 a try whose replies were all forged counts: the next query goes plain', async () => {
      forger.mode = 'forge';
      const dns = await startIterative(h, scope, { env: { UZ5FALLBACK: '1' } });
      const reply = await ask(dns, 'three.forged.test');
      assertRcode(reply, 'NOERROR', tail(dns));
      assert.deepEqual(dataOf(reply), ['192.0.2.14'], 'the forger answers plain queries truthfully');
      assert.equal(dns.linesMatching(/^tx 0 1 three\.forged\.test\. forged\.test\. ~ /).length, 1, tail(dns));
    });
  });
});

type ForgerMode = 'honest' | 'forge' | 'forge-then-honest';

interface Forger {
  mode: ForgerMode;
  forgedSent: number;
  replayed: number;
  sealedQueries: number;
  stop(): Promise<void>;
}

/**
 * A UDP server at forged.test's address with the lab's CurveDNS secret key:
 * it opens our streamlined queries and answers A 192.0.2.14 (honest), or
 * sends replies that must not be believed (A 6.6.6.6): another nonce echoed,
 * a damaged box, a box from another key, and the genuine reply to an
 * earlier query. Plain queries it answers truthfully.
 */
async function startForger(address: string, port: number, hexSecret: string): Promise<Forger> {
  const secret = Buffer.from(hexSecret, 'hex');
  const otherSecret = Buffer.alloc(32, 0x42);
  const socket: Socket = createSocket('udp4');
  let lastGenuine: Buffer | null = null;
  const state: Forger = {
    mode: 'honest',
    forgedSent: 0,
    replayed: 0,
    sealedQueries: 0,
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  const answer = (query: Buffer, address4: string): Buffer => {
    const q = dnsPacket.decode(query);
    return dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: q.questions,
      answers: q.questions!.map((x) => ({
        name: x.name,
        type: 'A' as const,
        class: 'IN' as const,
        ttl: 300,
        data: address4,
      })),
    });
  };
  const seal = (inner: Buffer, clientNonce: Buffer, key: Buffer): Buffer => {
    const full = Buffer.concat([clientNonce, Buffer.alloc(12, 7)]);
    const out = Buffer.alloc(32 + 16 + inner.length);
    out.write('R6fnvWJ8', 'latin1');
    full.copy(out, 8);
    boxAfternm(out.subarray(32), inner, full, key);
    return out;
  };
  socket.on('message', (msg, from) => {
    const send = (b: Buffer): void => void socket.send(b, from.port, from.address);
    if (msg.subarray(0, 8).toString('latin1') !== 'Q6fnvWj8') {
      send(answer(msg, '192.0.2.14'));
      return;
    }
    const clientKey = msg.subarray(8, 40);
    const nonce = Buffer.from(msg.subarray(40, 52));
    const key = beforenm(clientKey, secret)!;
    const inner = openAfternm(msg.subarray(52), Buffer.concat([nonce, Buffer.alloc(12)]), key);
    if (inner === null) return;
    state.sealedQueries++;
    const genuine = seal(answer(inner, '192.0.2.14'), nonce, key);
    if (state.mode !== 'honest') {
      const bad = answer(inner, '6.6.6.6');
      const otherNonce = Buffer.from(nonce);
      otherNonce[11]! ^= 1;
      const damaged = seal(bad, nonce, key);
      damaged[damaged.length - 1]! ^= 0x80;
      const forged = [seal(bad, otherNonce, key), damaged, seal(bad, nonce, beforenm(clientKey, otherSecret)!)];
      if (lastGenuine !== null) {
        forged.push(lastGenuine);
        state.replayed++;
      }
      for (const f of forged) send(f);
      state.forgedSent += forged.length;
    }
    if (state.mode !== 'forge') send(genuine);
    lastGenuine = genuine;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => resolve());
  });
  return state;
}
