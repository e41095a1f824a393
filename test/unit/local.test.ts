import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dottedQuad, localAddress, localAnswer } from '../../src/local/local';
import { Answer } from '../../src/wire/answer';
import { nameFromText, nameToText } from '../../src/wire/name';
import { ipv4, n, nameRdata } from './helpers';

const A = 1;
const AAAA = 28;
const PTR = 12;
const MX = 15;
const ANY = 255;
const LOCAL_TTL = 655360;

const V6_LOOPBACK = Buffer.from('00000000000000000000000000000001', 'hex');

function answer(name: string, qtype: number): Answer {
  const a = localAnswer(n(name), qtype);
  assert.ok(a, `${name} should be internal`);
  return a;
}

/** "type rdata-hex" for each answer record, after checking owner and TTL. */
function records(name: string, qtype: number): string[] {
  const a = answer(name, qtype);
  assert.equal(a.rcode, 0);
  assert.equal(a.aa, false);
  assert.equal(a.lifetime, 0, 'internal answers are not cached');
  assert.deepEqual(a.authority, []);
  for (const r of a.answer) {
    assert.equal(r.name, n(name));
    assert.equal(r.ttl, LOCAL_TTL);
  }
  return a.answer.map((r) => `${r.type} ${r.rdata.toString('hex')}`);
}

const aRec = (ip: string): string => `1 ${ipv4(ip).toString('hex')}`;
const aaaaRec = (hex: string): string => `28 ${hex}`;
const ptrRec = (target: string): string => `12 ${nameRdata(target).toString('hex')}`;

/** The ip6.arpa name of `hex` (32 digits), written out independently of the module. */
function rev6(hex: string): string {
  return hex.split('').reverse().join('.') + '.ip6.arpa';
}

describe('localAnswer: loopback names', () => {
  for (const name of ['localhost', 'loopback', 'LocalHost', 'foo.localhost', 'a.b.localhost']) {
    it(`${name}: A 127.0.0.1 and AAAA ::1`, () => {
      assert.deepEqual(records(name, A), [aRec('127.0.0.1')]);
      assert.deepEqual(records(name, AAAA), [aaaaRec(V6_LOOPBACK.toString('hex'))]);
      assert.deepEqual(records(name, ANY), [aRec('127.0.0.1'), aaaaRec(V6_LOOPBACK.toString('hex'))]);
    });
  }

  it('other types get an empty NOERROR', () => {
    assert.deepEqual(records('localhost', MX), []);
    assert.deepEqual(records('localhost', PTR), []);
    assert.deepEqual(records('x.localhost', 16), []);
  });

  it('ip4-* names', () => {
    assert.deepEqual(records('ip4-loopback', A), [aRec('127.0.0.1')]);
    assert.deepEqual(records('ip4-localhost', A), [aRec('127.0.0.1')]);
    assert.deepEqual(records('ip4-localnet', A), [aRec('0.0.0.0')]);
    assert.deepEqual(records('ip4-localhost', AAAA), []);
  });

  it('ip6-* names answer AAAA correctly (without C6 quirks)', () => {
    const cases: [string, string][] = [
      ['ip6-localhost', '0'.repeat(31) + '1'],
      ['ip6-loopback', '0'.repeat(31) + '1'],
      ['ip6-localnet', '0'.repeat(32)],
      ['ip6-mcastprefix', 'ff00' + '0'.repeat(28)],
      ['ip6-allnodes', 'ff02' + '0'.repeat(27) + '1'],
      ['ip6-allrouters', 'ff02' + '0'.repeat(27) + '2'],
    ];
    for (const [name, hex] of cases) {
      assert.deepEqual(records(name, AAAA), [aaaaRec(hex)], name);
      assert.deepEqual(records(name, ANY), [aaaaRec(hex)], name);
      assert.deepEqual(records(name, A), [], `${name} has no A`);
    }
  });
});

describe('localAnswer: reverse names', () => {
  it('IPv4 loopback and 0.0.0.0', () => {
    assert.deepEqual(records('1.0.0.127.in-addr.arpa', PTR), [ptrRec('localhost')]);
    assert.deepEqual(records('1.0.0.127.in-addr.arpa', ANY), [ptrRec('localhost')]);
    assert.deepEqual(records('1.0.0.127.in-addr.arpa', A), []);
    assert.deepEqual(records('0.0.0.0.in-addr.arpa', PTR), [ptrRec('ip4-localnet')]);
  });

  it('the IPv6 names of C6', () => {
    const cases: [string, string][] = [
      ['0'.repeat(31) + '1', 'localhost'],
      ['0'.repeat(32), 'ip6-localnet'],
      ['ff00' + '0'.repeat(28), 'ip6-mcastprefix'],
      ['ff02' + '0'.repeat(27) + '1', 'ip6-allnodes'],
      ['ff02' + '0'.repeat(27) + '2', 'ip6-allrouters'],
    ];
    for (const [hex, target] of cases) {
      assert.deepEqual(records(rev6(hex), PTR), [ptrRec(target)], rev6(hex));
      assert.deepEqual(records(rev6(hex), AAAA), []);
    }
  });

  it('PTR targets are wire names', () => {
    const a = answer('1.0.0.127.in-addr.arpa', PTR);
    assert.equal(nameToText(a.answer[0]!.rdata.toString('latin1') as ReturnType<typeof n>), 'localhost.');
  });

  it('other reverse names go to the network', () => {
    assert.equal(localAnswer(n('2.0.0.127.in-addr.arpa'), PTR), null);
    assert.equal(localAnswer(n(rev6('20010db8' + '0'.repeat(24))), PTR), null);
  });
});

describe('localAnswer: dotted quads', () => {
  it('a.b.c.d answers A with the bytes in order (not reversed)', () => {
    assert.deepEqual(records('1.2.3.4', A), [aRec('1.2.3.4')]);
    assert.deepEqual(records('192.168.0.255', A), [aRec('192.168.0.255')]);
    assert.deepEqual(records('0.0.0.0', A), [aRec('0.0.0.0')]);
    assert.deepEqual(records('255.255.255.255', ANY), [aRec('255.255.255.255')]);
  });

  it('other types get an empty NOERROR', () => {
    assert.deepEqual(records('10.0.0.1', AAAA), []);
    assert.deepEqual(records('10.0.0.1', MX), []);
  });

  it("follows dnscache's label rules", () => {
    for (const name of [
      '010.1.1.1',
      '1.2.3.00',
      '256.1.1.1',
      '1.2.3.999',
      '1234.1.1.1',
      '1.2.3',
      '1.2.3.4.5',
      '1.2.3.a',
      '-1.2.3.4',
      '1.2.3.4x',
      '0x1.2.3.4',
    ]) {
      assert.equal(dottedQuad(n(name)), null, name);
      assert.equal(localAnswer(n(name), A), null, name);
    }
    assert.deepEqual(dottedQuad(n('0.10.100.200')), Buffer.from([0, 10, 100, 200]));
  });
});

describe('localAnswer: special-use domains', () => {
  for (const name of ['onion', 'facebookcorewwwi.onion', 'a.b.onion', 'invalid', 'foo.invalid']) {
    it(`${name} is NXDOMAIN, authoritative, for any type`, () => {
      for (const qtype of [A, AAAA, MX, ANY]) {
        assert.deepEqual(localAnswer(n(name), qtype), { rcode: 3, answer: [], authority: [], aa: true, lifetime: 0 });
      }
    });
  }
});

describe('localAnswer: everything else', () => {
  it('is null (not internal)', () => {
    for (const name of [
      'example.com',
      'localhost.example.com',
      'notlocalhost',
      'onion.example',
      'invalid.example',
      'ip6-localhost.example',
      'xlocalhost',
    ]) {
      assert.equal(localAnswer(nameFromText(name), A), null, name);
    }
    assert.equal(localAnswer(n('.'), 2), null);
  });
});

describe('localAddress', () => {
  it('is 127.0.0.1 for localhost and the address of a dotted quad', () => {
    assert.equal(localAddress(n('localhost')), '127.0.0.1');
    assert.equal(localAddress(n('LOCALHOST')), '127.0.0.1');
    assert.equal(localAddress(n('10.0.0.1')), '10.0.0.1');
    assert.equal(localAddress(n('192.0.2.255')), '192.0.2.255');
  });

  it('is null otherwise', () => {
    assert.equal(localAddress(n('010.0.0.1')), null);
    assert.equal(localAddress(n('ns1.example.com')), null);
    assert.equal(localAddress(n('1.2.3.4.5')), null);
  });
});
