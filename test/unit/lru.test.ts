import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ByteLru, LruLinks } from '../../src/cache/lru';

interface Item extends LruLinks {
  readonly id: string;
}

const item = (id: string, charge: number): Item => ({ key: '', older: null, newer: null, charge, id });
const order = (lru: ByteLru<Item>): string[] => [...lru.oldestFirst()].map((e) => `${e.key}=${e.id}`);

describe('ByteLru', () => {
  it('evicts least recently used first until the new entry fits the byte budget', () => {
    const lru = new ByteLru<Item>(100);
    lru.set('a', item('A', 40));
    lru.set('b', item('B', 40));
    assert.equal(lru.get('a')?.id, 'A'); // a is now the most recent
    lru.set('c', item('C', 30)); // 110 > 100: b goes
    assert.deepEqual(order(lru), ['a=A', 'c=C']);
    assert.equal(lru.bytes, 70);
    assert.equal(lru.get('b'), undefined);
    lru.set('d', item('D', 100)); // takes the whole budget
    assert.deepEqual(order(lru), ['d=D']);
    assert.equal(lru.bytes, 100);
  });

  it('replacing a key frees the old charge; an oversized entry is not stored and evicts nothing', () => {
    const lru = new ByteLru<Item>(100);
    lru.set('a', item('A1', 60));
    lru.set('b', item('B', 30));
    lru.set('a', item('A2', 70)); // 30 + 70 fits once A1 is gone
    assert.deepEqual(order(lru), ['b=B', 'a=A2']);
    assert.equal(lru.bytes, 100);
    lru.set('x', item('X', 101));
    assert.deepEqual(order(lru), ['b=B', 'a=A2']);
    assert.equal(lru.size, 2);
  });

  it('a key stored again and again holds one entry and one charge', () => {
    const lru = new ByteLru<Item>(100);
    lru.set('other', item('O', 10));
    for (let i = 0; i < 1000; i++) lru.set('a', item(`A${i}`, 1 + (i % 50)));
    assert.deepEqual(order(lru), ['other=O', 'a=A999']);
    assert.equal(lru.bytes, 10 + 1 + (999 % 50));
    lru.set('other', lru.get('other')!);
    assert.deepEqual(order(lru), ['a=A999', 'other=O']);
    assert.equal(lru.bytes, 10 + 1 + (999 % 50));
  });

  it('storing an entry object again under another key moves it', () => {
    const lru = new ByteLru<Item>(100);
    const e = item('E', 10);
    lru.set('a', e);
    lru.set('b', item('B', 10));
    lru.set('c', e);
    assert.deepEqual(order(lru), ['b=B', 'c=E']);
    assert.equal(lru.bytes, 20);
    assert.equal(lru.get('a'), undefined);
  });

  it('deleting during iteration, and clear', () => {
    const lru = new ByteLru<Item>(1000);
    for (let i = 0; i < 10; i++) lru.set(`k${i}`, item(String(i), 10));
    for (const e of lru.oldestFirst()) if (Number(e.id) % 2 === 0) assert.equal(lru.delete(e.key), true);
    assert.deepEqual(order(lru), ['k1=1', 'k3=3', 'k5=5', 'k7=7', 'k9=9']);
    assert.equal(lru.bytes, 50);
    assert.equal(lru.delete('k0'), false);
    lru.clear();
    assert.deepEqual(order(lru), []);
    assert.equal(lru.bytes, 0);
    lru.set('z', item('Z', 5));
    assert.deepEqual(order(lru), ['z=Z']);
  });
});
