import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ByteLru, LruEntry, MAX_ENTRIES_PER_NAME } from '../../src/cache/lru';

interface Item extends LruEntry {
  readonly id: string;
}

const item = (id: string, charge: number): Item => ({ name: '', slot: 0, older: null, newer: null, sibling: null, charge, id });
const order = (lru: ByteLru<Item>): string[] => [...lru.oldestFirst()].map((e) => `${e.name}/${e.slot}=${e.id}`);

describe('ByteLru', () => {
  it('evicts least recently used first until the new entry fits the byte budget', () => {
    const lru = new ByteLru<Item>(100);
    lru.set('a', 1, item('A', 40));
    lru.set('b', 1, item('B', 40));
    assert.equal(lru.get('a', 1)?.id, 'A'); // a is now the most recent
    lru.set('c', 1, item('C', 30)); // 110 > 100: b goes
    assert.deepEqual(order(lru), ['a/1=A', 'c/1=C']);
    assert.equal(lru.bytes, 70);
    assert.equal(lru.get('b', 1), undefined);
    lru.set('d', 1, item('D', 100)); // takes the whole budget
    assert.deepEqual(order(lru), ['d/1=D']);
    assert.equal(lru.bytes, 100);
  });

  it('replacing a slot frees the old charge; an oversized entry is not stored and evicts nothing', () => {
    const lru = new ByteLru<Item>(100);
    lru.set('a', 1, item('A1', 60));
    lru.set('b', 1, item('B', 30));
    lru.set('a', 1, item('A2', 70)); // 30 + 70 fits once A1 is gone
    assert.deepEqual(order(lru), ['b/1=B', 'a/1=A2']);
    assert.equal(lru.bytes, 100);
    lru.set('x', 1, item('X', 101));
    assert.deepEqual(order(lru), ['b/1=B', 'a/1=A2']);
    assert.equal(lru.size, 2);
  });

  it('a slot stored again and again holds one entry and one charge', () => {
    const lru = new ByteLru<Item>(100);
    lru.set('other', 1, item('O', 10));
    for (let i = 0; i < 1000; i++) lru.set('a', 1, item(`A${i}`, 1 + (i % 50)));
    assert.deepEqual(order(lru), ['other/1=O', 'a/1=A999']);
    assert.equal(lru.bytes, 10 + 1 + (999 % 50));
    lru.set('other', 1, lru.get('other', 1)!);
    assert.deepEqual(order(lru), ['a/1=A999', 'other/1=O']);
    assert.equal(lru.bytes, 10 + 1 + (999 % 50));
  });

  it('storing an entry object again elsewhere moves it', () => {
    const lru = new ByteLru<Item>(100);
    const e = item('E', 10);
    lru.set('a', 1, e);
    lru.set('b', 1, item('B', 10));
    lru.set('c', 2, e);
    assert.deepEqual(order(lru), ['b/1=B', 'c/2=E']);
    assert.equal(lru.bytes, 20);
    assert.equal(lru.get('a', 1), undefined);
  });

  it('keeps the slots of one name apart, whatever order they are stored, replaced and removed in', () => {
    const lru = new ByteLru<Item>(1000);
    lru.set('n', 1, item('one', 10));
    lru.set('n', 2, item('two', 10));
    lru.set('n', 3, item('three', 10), true);
    lru.set('m', 1, item('m1', 10));
    assert.deepEqual(
      [1, 2, 3, 4].map((s) => lru.get('n', s)?.id),
      ['one', 'two', 'three', undefined],
    );
    lru.set('n', 3, item('three again', 10)); // the head, replaced in place
    lru.set('n', 2, item('two again', 10));
    assert.equal(lru.get('n', 3)?.id, 'three again');
    assert.equal(lru.get('n', 2)?.id, 'two again');
    assert.equal(lru.delete('n', 3), true);
    assert.equal(lru.delete('n', 3), false);
    assert.equal(lru.get('n', 1)?.id, 'one');
    assert.equal(lru.get('n', 2)?.id, 'two again');
    assert.equal(lru.delete('n', 1), true);
    assert.equal(lru.delete('n', 2), true);
    assert.equal(lru.get('n', 2), undefined);
    assert.equal(lru.get('m', 1)?.id, 'm1');
    assert.equal(lru.size, 1);
    assert.equal(lru.bytes, 10);
    // Evicting a name's entries from the oldest end keeps its chain whole.
    const small = new ByteLru<Item>(30);
    small.set('n', 1, item('1', 10));
    small.set('n', 2, item('2', 10), true);
    small.set('n', 3, item('3', 10));
    small.set('x', 1, item('x', 20)); // evicts n/1 and n/2
    assert.deepEqual(order(small), ['n/3=3', 'x/1=x']);
    assert.equal(small.get('n', 3)?.id, '3');
  });

  it('bounds the entries of one name, dropping the one stored longest ago', () => {
    const lru = new ByteLru<Item>(1_000_000);
    lru.set('n', 0, item('head', 1), true);
    for (let s = 1; s < MAX_ENTRIES_PER_NAME; s++) lru.set('n', s, item(String(s), 1));
    assert.equal(lru.size, MAX_ENTRIES_PER_NAME);
    lru.set('n', 1000, item('new', 1));
    assert.equal(lru.size, MAX_ENTRIES_PER_NAME);
    assert.equal(lru.get('n', 1), undefined);
    assert.equal(lru.get('n', 0)?.id, 'head');
    assert.equal(lru.get('n', 2)?.id, '2');
    assert.equal(lru.get('n', 1000)?.id, 'new');
    assert.equal(lru.bytes, MAX_ENTRIES_PER_NAME);
  });

  it('removing during iteration, and clear', () => {
    const lru = new ByteLru<Item>(1000);
    for (let i = 0; i < 10; i++) lru.set(`k${i % 3}`, i, item(String(i), 10));
    for (const e of lru.oldestFirst()) if (Number(e.id) % 2 === 0) lru.remove(e);
    assert.deepEqual(order(lru), ['k1/1=1', 'k0/3=3', 'k2/5=5', 'k1/7=7', 'k0/9=9']);
    assert.equal(lru.bytes, 50);
    assert.equal(lru.delete('k0', 0), false);
    assert.equal(lru.get('k1', 7)?.id, '7');
    lru.clear();
    assert.deepEqual(order(lru), []);
    assert.equal(lru.bytes, 0);
    assert.equal(lru.size, 0);
    lru.set('z', 1, item('Z', 5));
    assert.deepEqual(order(lru), ['z/1=Z']);
  });
});
