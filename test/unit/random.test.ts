import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../src/random/random';

describe('Random.bytes', () => {
  it('gives the requested number of bytes, different each time, across pool refills', () => {
    const r = new Random(null);
    const a = r.bytes(32);
    const b = r.bytes(5000);
    assert.equal(a.length, 32);
    assert.equal(b.length, 5000);
    assert.notDeepEqual(a, r.bytes(32));
    assert.ok(new Set(b).size > 200, 'bytes look random');
  });
});
