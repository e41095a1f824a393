import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { base32Decode, base32Encode, base32Key } from '../../src/transport/curve/base32';
import { beforenm, boxAfternm, openAfternm, publicKeyOf } from '../../src/transport/curve/crypto';
import { ClientKeys } from '../../src/transport/curve/keys';
import { NonceCounter } from '../../src/transport/curve/nonce';
import { CurveClient, formatFor } from '../../src/transport/curve/client';
import { openStreamlined } from '../../src/transport/curve/streamlined';
import { txtFits, txtNameLength } from '../../src/transport/curve/txt';
import { Random } from '../../src/random/random';
import { buildQuery } from '../../src/transport/upstream';
import { nameFromText, readName } from '../../src/wire/name';

// A key pair printed by Debian's curvedns-keygen (0.87).
const KEYGEN = {
  dns: 'uz543mbkcztutvh92yh84nvqvnz39gqk5xr3zy4txwh7wlj87khgtt',
  pub: '644c15d7cf3aef97847f88d06d37fd23391b4bbfe37b923b7f874b884e7c2e67',
  sec: '0068cf7aaab024ba46d91d7b84ce7a4fd30abf27efa8dbcfa2a79009ad38b40c',
};

// eslint-disable-next-line @typescript-eslint/no-require-imports
const sodium = require('sodium-native') as {
  crypto_box_easy(c: Buffer, m: Buffer, n: Buffer, pk: Buffer, sk: Buffer): void;
};

describe('DNSCurve base32', () => {
  it("decodes and encodes curvedns-keygen's uz5 key as its hex key", () => {
    const key = base32Decode(KEYGEN.dns.slice(3), true);
    assert.equal(key?.toString('hex'), KEYGEN.pub);
    assert.equal('uz5' + base32Key(Buffer.from(KEYGEN.pub, 'hex')), KEYGEN.dns);
  });
  it('round-trips any bytes, low bits first, and refuses letters outside the alphabet', () => {
    for (let n = 0; n < 40; n++) {
      const data = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
      assert.deepEqual(base32Decode(base32Encode(data)), data);
    }
    assert.equal(base32Encode(Buffer.from([0x01])), '10'); // 00001 then 000
    assert.equal(base32Encode(Buffer.from([0x1f])), 'z0');
    assert.equal(base32Decode('a0'), null);
    assert.equal(base32Decode('Z0')?.[0], 0x1f);
    assert.equal(base32Decode('zz'), null, 'leftover bits must be zero');
  });
});

describe('DNSCurve crypto', () => {
  it("makes curvedns-keygen's public key from its secret key", () => {
    assert.equal(publicKeyOf(Buffer.from(KEYGEN.sec, 'hex')).toString('hex'), KEYGEN.pub);
  });
  it("beforenm + afternm is libsodium's crypto_box (authenticator first)", () => {
    const random = new Random(null);
    const sk = random.bytes(32);
    const pk = Buffer.from(KEYGEN.pub, 'hex');
    const nonce = random.bytes(24);
    const msg = Buffer.from('a DNS message, more or less');
    const expected = Buffer.alloc(msg.length + 16);
    sodium.crypto_box_easy(expected, msg, nonce, pk, sk);
    const key = beforenm(pk, sk)!;
    const out = Buffer.alloc(msg.length + 16);
    boxAfternm(out, msg, nonce, key);
    assert.deepEqual(out, expected);
    assert.deepEqual(openAfternm(out, nonce, key), msg);
    out[20]! ^= 1;
    assert.equal(openAfternm(out, nonce, key), null);
  });
  it('a low-order public key gives no shared key, and is not tried again', () => {
    assert.equal(beforenm(Buffer.alloc(32), new Random(null).bytes(32)), null);
    const keys = new ClientKeys(new Random(null));
    assert.equal(keys.sharedWith(Buffer.alloc(32)), null);
    assert.equal(keys.sharedWith(Buffer.alloc(32)), null);
    assert.equal(keys.sharedKeysMade, 1);
  });
});

describe('DNSCurve keys and nonces', () => {
  it('keeps at most its bound of shared keys, and makes each once while kept', () => {
    const random = new Random(null);
    const keys = new ClientKeys(random, 3);
    const servers = Array.from({ length: 4 }, () => publicKeyOf(random.bytes(32)));
    const first = keys.sharedWith(servers[0]!);
    assert.equal(keys.sharedWith(servers[0]!), first);
    assert.equal(keys.sharedKeysMade, 1);
    for (const s of servers) keys.sharedWith(s);
    assert.equal(keys.sharedKeysKept, 3);
    assert.equal(keys.sharedKeysMade, 4);
  });
  it('client nonces are 12 bytes and never repeat: a counter, then random bytes', () => {
    const nonces = new NonceCounter(new Random(null));
    const seen = new Set<string>();
    let last = -1n;
    for (let i = 0; i < 20000; i++) {
      const n = nonces.next();
      assert.equal(n.length, 12);
      const counter = n.readBigUInt64BE(0);
      assert.ok(counter > last);
      last = counter;
      seen.add(n.toString('hex'));
    }
    assert.equal(seen.size, 20000);
  });
  it('two clients (two starts) have different key pairs', () => {
    assert.notDeepEqual(new ClientKeys(new Random(null)).publicKey, new ClientKeys(new Random(null)).publicKey);
  });
});

describe('DNSCurve formats', () => {
  const random = new Random(null);
  const serverSecret = Buffer.from(KEYGEN.sec, 'hex');
  const serverKey = Buffer.from(KEYGEN.pub, 'hex');
  const zone = nameFromText('curve.test');
  const query = buildQuery({ name: nameFromText('www.curve.test'), type: 1, rd: false }, 0x4242);

  /** The server's side: open a streamlined query, box a reply with nonce client|server. */
  function serverReply(client: CurveClient, packet: Buffer, reply: Buffer, tamper?: (full: Buffer) => void): Buffer {
    assert.equal(packet.subarray(0, 8).toString('latin1'), 'Q6fnvWj8');
    const clientKey = packet.subarray(8, 40);
    assert.deepEqual(clientKey, client.keys.publicKey);
    const key = beforenm(clientKey, serverSecret)!;
    const full = Buffer.alloc(24);
    packet.copy(full, 0, 40, 52);
    assert.deepEqual(openAfternm(packet.subarray(52), full, key), query);
    random.bytes(12).copy(full, 12);
    tamper?.(full);
    const out = Buffer.alloc(32 + 16 + reply.length);
    out.write('R6fnvWJ8', 'latin1');
    full.copy(out, 8);
    boxAfternm(out.subarray(32), reply, full, key);
    return out;
  }

  it('streamlined: the reply opens; another nonce, a flipped bit or another key does not', () => {
    const client = new CurveClient(random);
    const sealed = client.seal(query, serverKey, 'streamlined', zone)!;
    assert.equal(sealed.format, 'streamlined');
    assert.ok(!sealed.packet.includes(Buffer.from('curve', 'latin1')), 'the name is not in the clear');
    const reply = Buffer.from('the reply');
    assert.deepEqual(client.open(sealed, serverReply(client, sealed.packet, reply)), reply);
    const replayed = serverReply(client, sealed.packet, reply, (full) => (full[0]! ^= 1));
    assert.equal(client.open(sealed, replayed), null, 'not our nonce');
    const flipped = serverReply(client, sealed.packet, reply);
    flipped[flipped.length - 1]! ^= 1;
    assert.equal(client.open(sealed, flipped), null, 'bad box');
    const other = new CurveClient(random).keys.sharedWith(serverKey)!;
    assert.equal(openStreamlined(serverReply(client, sealed.packet, reply), sealed.nonce, other), null, 'wrong key');
    assert.equal(client.open(sealed, Buffer.alloc(10)), null);
  });

  it('TXT: the query name carries the box and our key; the TXT reply opens, a tampered one does not', () => {
    const client = new CurveClient(random);
    const sealed = client.seal(query, serverKey, 'txt', zone)!;
    assert.equal(sealed.format, 'txt');
    const { name, end } = readName(sealed.packet, 12);
    assert.equal(sealed.packet.length, end + 4);
    assert.equal(sealed.packet.readUInt16BE(end), 16);
    assert.equal(name.length, txtNameLength(query.length, zone));
    const labels: string[] = [];
    for (let i = 0; name.charCodeAt(i) !== 0; i += name.charCodeAt(i) + 1)
      labels.push(name.slice(i + 1, i + 1 + name.charCodeAt(i)));
    assert.deepEqual(labels.slice(-2), ['curve', 'test']);
    const keyLabel = labels[labels.length - 3]!;
    assert.equal(keyLabel, 'x1a' + base32Key(client.keys.publicKey));
    const boxed = base32Decode(labels.slice(0, -3).join(''))!;
    for (const l of labels.slice(0, -3)) assert.ok(l.length <= 50);
    const key = beforenm(client.keys.publicKey, serverSecret)!;
    const full = Buffer.alloc(24);
    boxed.copy(full, 0, 0, 12);
    assert.deepEqual(openAfternm(boxed.subarray(12), full, key), query);
    // The response as CurveDNS builds it (dnscurve_reply_txt_query).
    const reply = Buffer.alloc(300, 7);
    const txtReply = (mutate?: (b: Buffer) => void): Buffer => {
      random.bytes(12).copy(full, 12);
      const data = Buffer.alloc(12 + 16 + reply.length);
      full.copy(data, 0, 12, 24);
      boxAfternm(data.subarray(12), reply, full, key);
      const strings: Buffer[] = [];
      for (let i = 0; i < data.length; i += 255) {
        const part = data.subarray(i, i + 255);
        strings.push(Buffer.from([part.length]), part);
      }
      const rdata = Buffer.concat(strings);
      const qname = sealed.packet.subarray(12, end);
      const head = Buffer.from([sealed.packet[0]!, sealed.packet[1]!, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0]);
      const rr = Buffer.from([
        0,
        16,
        0,
        1,
        0xc0,
        0x0c,
        0,
        16,
        0,
        1,
        0,
        0,
        0,
        0,
        rdata.length >> 8,
        rdata.length & 0xff,
      ]);
      const out = Buffer.concat([head, qname, rr, rdata]);
      mutate?.(out);
      return out;
    };
    assert.deepEqual(client.open(sealed, txtReply()), reply);
    assert.equal(
      client.open(
        sealed,
        txtReply((b) => (b[0]! ^= 1)),
      ),
      null,
      'another ID',
    );
    assert.equal(
      client.open(
        sealed,
        txtReply((b) => (b[20]! ^= 0x10)),
      ),
      null,
      'another question',
    );
    assert.equal(
      client.open(
        sealed,
        txtReply((b) => (b[b.length - 1]! ^= 1)),
      ),
      null,
      'bad box',
    );
    assert.equal(client.open(sealed, txtReply().subarray(0, 200)), null, 'cut short');
  });

  it('any bytes, cut or flipped, are refused without a throw', () => {
    const client = new CurveClient(random);
    for (const format of ['streamlined', 'txt'] as const) {
      const sealed = client.seal(query, serverKey, format, zone)!;
      for (let i = 0; i < 3000; i++) {
        const junk = random.bytes(random.below(400));
        if (i % 3 === 0) junk.write(format === 'txt' ? '' : 'R6fnvWJ8', 'latin1');
        if (i % 3 === 1 && format === 'txt')
          sealed.packet.copy(junk, 0, 0, Math.min(junk.length, sealed.packet.length));
        assert.equal(client.open(sealed, junk), null);
      }
    }
  });

  it('TXT falls back to the streamlined format when the name would pass 255 bytes', () => {
    const long = buildQuery(
      { name: nameFromText('a'.repeat(60) + '.' + 'b'.repeat(30) + '.curve.test'), type: 1, rd: false },
      1,
    );
    assert.equal(txtFits(long.length, zone), false);
    assert.equal(new CurveClient(random).seal(long, serverKey, 'txt', zone)!.format, 'streamlined');
    // Decided on the question alone (with our OPT counted), so the tx line can say which.
    const longName = nameFromText('a'.repeat(60) + '.' + 'b'.repeat(30) + '.curve.test');
    assert.equal(formatFor('txt', longName, zone), 'streamlined');
    assert.equal(formatFor('txt', nameFromText('www.curve.test'), zone), 'txt');
    assert.equal(formatFor('streamlined', nameFromText('www.curve.test'), zone), 'streamlined');
  });
});
