import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { curveKeyOf, qualify, withCurveKey } from '../../src/resolve/uz5';
import { rulesFromEntries, serverFlag } from '../../src/acl/rules';
import { nameFromText } from '../../src/wire/name';

const KEY_TEXT = '43mbkcztutvh92yh84nvqvnz39gqk5xr3zy4txwh7wlj87khgtt';
const KEY_HEX = '644c15d7cf3aef97847f88d06d37fd23391b4bbfe37b923b7f874b884e7c2e67';

describe('uz5 names', () => {
  it('a 54-byte label starting with uz5, in any case and any position, carries the key', () => {
    assert.equal(curveKeyOf(nameFromText(`uz5${KEY_TEXT}.ns.example.test`))?.toString('hex'), KEY_HEX);
    assert.equal(curveKeyOf(nameFromText(`UZ5${KEY_TEXT.toUpperCase()}.ns.example.test`))?.toString('hex'), KEY_HEX);
    assert.equal(curveKeyOf(nameFromText(`ns.uz5${KEY_TEXT}.example.test`))?.toString('hex'), KEY_HEX);
  });
  it('anything else carries none', () => {
    for (const text of [
      'ns.example.test',
      `uz5${KEY_TEXT.slice(1)}.ns.test`,
      `uz5${KEY_TEXT}x.ns.test`,
      `uz5${KEY_TEXT.slice(1)}a.ns.test`,
      `uz4${KEY_TEXT}.ns.test`,
      '.',
    ]) {
      assert.equal(curveKeyOf(nameFromText(text)), null, text);
    }
  });
  it('FLAGEDSERVER: % omits a server, - strips its key; an unusable key means plain queries', () => {
    const key = Buffer.from(KEY_HEX, 'hex');
    const servers = withCurveKey(
      [
        { address: '127.0.0.1', port: 53, family: 4 },
        { address: '127.0.0.2', port: 53, family: 4 },
        { address: '::1', port: 53, family: 6 },
      ],
      key,
    );
    const rules = rulesFromEntries(['%127.0.0.1', '-0:0:0:0:0:0:0:1', '127.0.0.1']);
    const out = qualify(
      servers,
      (a) => serverFlag(rules, a),
      () => true,
    );
    assert.deepEqual(
      out.map((s) => [s.address, s.curveKey?.toString('hex') ?? null]),
      [
        ['127.0.0.2', KEY_HEX],
        ['::1', null],
      ],
    );
    assert.deepEqual(
      qualify(servers, null, () => false).map((s) => s.curveKey ?? null),
      [null, null, null],
    );
    assert.deepEqual([...rules.accept], ['127.0.0.1'], 'server flags are not client prefixes');
  });
});
