import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EntryStore } from '../../src/cache/store';
import { CHUNK_SIZE } from '../../src/cache/arena';

/** Stores `id` as the entry's data (kind 1, expiry 1000 unless given). */
function put(s: EntryStore, name: string, slot: number, id: string, charge: number, expires = 1000): number {
  const e = s.add(name, slot, { kind: 1, expires, charge, tag: 7, dataLength: id.length });
  if (e !== -1) s.buffer(e).write(id, s.dataStart(e), 'latin1');
  return e;
}

const idOf = (s: EntryStore, e: number): string | undefined =>
  e === -1 ? undefined : s.buffer(e).toString('latin1', s.dataStart(e), s.dataStart(e) + s.dataLength(e));
const get = (s: EntryStore, name: string, slot: number): string | undefined => idOf(s, s.get(name, slot));
const order = (s: EntryStore): string[] => [...s.oldestFirst()].map((e) => `${s.name(e)}/${s.slot(e)}=${idOf(s, e)}`);

describe('EntryStore', () => {
  it('evicts least recently used first until the new entry fits the byte budget', () => {
    const s = new EntryStore(100);
    put(s, 'a', 1, 'A', 40);
    put(s, 'b', 1, 'B', 40);
    assert.equal(get(s, 'a', 1), 'A'); // a is now the most recent
    put(s, 'c', 1, 'C', 30); // 110 > 100: b goes
    assert.deepEqual(order(s), ['a/1=A', 'c/1=C']);
    assert.equal(s.bytes, 70);
    assert.equal(get(s, 'b', 1), undefined);
    put(s, 'd', 1, 'D', 100); // takes the whole budget
    assert.deepEqual(order(s), ['d/1=D']);
    assert.equal(s.bytes, 100);
  });

  it('replacing a slot frees the old charge; an oversized entry is not stored and evicts nothing', () => {
    const s = new EntryStore(100);
    put(s, 'a', 1, 'A1', 60);
    put(s, 'b', 1, 'B', 30);
    put(s, 'a', 1, 'A2', 70); // 30 + 70 fits once A1 is gone
    assert.deepEqual(order(s), ['b/1=B', 'a/1=A2']);
    assert.equal(s.bytes, 100);
    assert.equal(put(s, 'x', 1, 'X', 101), -1);
    assert.deepEqual(order(s), ['b/1=B', 'a/1=A2']);
    assert.equal(s.size, 2);
  });

  it('a slot stored again and again holds one entry, one charge and one block', () => {
    const s = new EntryStore(100);
    put(s, 'other', 1, 'O', 10);
    for (let i = 0; i < 100_000; i++) put(s, 'a', 1, `A${i}`, 1 + (i % 50));
    assert.deepEqual(order(s), ['other/1=O', 'a/1=A99999']);
    assert.equal(s.bytes, 10 + 1 + (99_999 % 50));
    assert.equal(s.committed, CHUNK_SIZE, 'freed blocks are reused');
  });

  it('keeps the slots of one name and names of one length apart', () => {
    const s = new EntryStore(1_000_000);
    put(s, 'n', 1, 'one', 10);
    put(s, 'n', 2, 'two', 10);
    put(s, 'm', 1, 'm1', 10);
    assert.deepEqual(
      [1, 2, 3].map((slot) => get(s, 'n', slot)),
      ['one', 'two', undefined],
    );
    assert.equal(get(s, 'm', 1), 'm1');
    assert.equal(get(s, 'nn', 1), undefined);
    s.remove(s.find('n', 1));
    assert.equal(s.find('n', 1), -1);
    assert.equal(get(s, 'n', 2), 'two');
    assert.equal(s.size, 2);
    assert.equal(s.bytes, 20);
  });

  it('finds every one of many entries as the table grows, and spans chunks', () => {
    const s = new EntryStore(100_000_000);
    const names = Array.from({ length: 20_000 }, (_, i) => `\x04h${String(i).padStart(3, '0')}\x07example\x00`);
    for (const [i, name] of names.entries()) put(s, name, i % 3, `${'x'.repeat(i % 100)}${i}`, 50);
    assert.equal(s.size, names.length);
    assert.ok(s.committed > CHUNK_SIZE, `${s.committed} bytes: more than one chunk`);
    for (const [i, name] of names.entries()) {
      assert.equal(get(s, name, i % 3), `${'x'.repeat(i % 100)}${i}`, name);
      assert.equal(s.find(name, (i + 1) % 3), -1);
    }
    assert.equal(s.name(s.find(names[12_345]!, 12_345 % 3)), names[12_345]);
  });

  it('a name with nothing stored is answered by its count, kept right through growth, removal and clear', () => {
    const s = new EntryStore(100_000_000);
    const names = Array.from({ length: 5000 }, (_, i) => `\x05n${String(i).padStart(4, '0')}\x04test\x00`);
    // Two slots per name, 10,000 entries: the table grows from 1,024 buckets while they go in.
    names.forEach((name, i) => {
      put(s, name, 1, `a${i}`, 10);
      put(s, name, 2, `b${i}`, 10);
    });
    // Every name loses slot 1; every other name loses slot 2 as well, and with it its last entry.
    names.forEach((name, i) => {
      s.remove(s.find(name, 1));
      if (i % 2 === 1) s.remove(s.find(name, 2));
    });
    names.forEach((name, i) => {
      assert.equal(get(s, name, 1), undefined, name);
      assert.equal(get(s, name, 2), i % 2 === 0 ? `b${i}` : undefined, name);
    });
    put(s, names[1]!, 3, 'again', 10);
    assert.equal(get(s, names[1]!, 3), 'again');
    s.clear();
    assert.equal(s.find(names[0]!, 2), -1);
    put(s, names[0]!, 2, 'fresh', 10);
    assert.equal(get(s, names[0]!, 2), 'fresh');
  });

  it('compacts when the sizes stored shift, keeping memory bounded and every entry, its data and its recency', () => {
    const s = new EntryStore(1_000_000);
    // Each round stores entries of one size until they have evicted the last round's: the
    // last round's blocks are then free, in a size class nobody asks for any more.
    let highest = 0;
    for (let round = 0; round < 12; round++) {
      const pad = 'x'.repeat(8 * round);
      for (let i = 0; i < 8000; i++) {
        put(s, `r${round}-${i}`, 1, `${pad}${round}/${i}`, 100);
        highest = Math.max(highest, s.committed);
      }
    }
    assert.ok(s.compactions > 0, 'compacted');
    // The budget's worth of entries, at most 2 MB of free blocks, and the chunk being filled.
    assert.ok(highest <= 5 * CHUNK_SIZE, `committed up to ${highest} bytes for a 1 MB budget`);
    assert.equal(s.size, 10_000);
    const survivors = order(s);
    assert.equal(survivors[0], `r10-6000/1=${'x'.repeat(80)}10/6000`, 'least recent first');
    assert.equal(survivors.at(-1), `r11-7999/1=${'x'.repeat(88)}11/7999`);
    for (let i = 0; i < 8000; i += 97) assert.equal(get(s, `r11-${i}`, 1), `${'x'.repeat(88)}11/${i}`);
    assert.equal(get(s, 'r10-5999', 1), undefined);
  });

  it('behaves as a plain LRU model over 30,000 random operations, through evictions and compactions', () => {
    const budget = 60_000;
    const s = new EntryStore(budget, 64 * 1024);
    // The model: entries least recently used first.
    const model: { key: string; name: string; slot: number; id: string; charge: number }[] = [];
    let seed = 7;
    const rand = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % k;
    };
    const names = Array.from({ length: 200 }, (_, i) => `\x04n${String(i).padStart(3, '0')}\x00`.slice(0, 6 + (i % 5)));
    const modelBytes = (): number => model.reduce((a, m) => a + m.charge, 0);
    const at = (name: string, slot: number): number => model.findIndex((m) => m.name === name && m.slot === slot);
    for (let op = 0; op < 30_000; op++) {
      const name = names[rand(names.length)]!;
      const slot = 1 + rand(3);
      const r = rand(10);
      if (r < 5) {
        // Sizes drift through the classes as the run goes on, so freed blocks of
        // sizes no longer asked for pile up and compaction runs.
        const id = `${op}:${'y'.repeat(rand(10) === 0 ? 2000 + rand(3000) : ((op >> 2) % 3000) + rand(100))}`;
        const charge = 1 + rand(rand(50) === 0 ? 30_000 : 900);
        const e = put(s, name, slot, id, charge);
        if (charge > budget) {
          assert.equal(e, -1);
          continue;
        }
        const i = at(name, slot);
        if (i >= 0) model.splice(i, 1);
        while (modelBytes() + charge > budget) model.shift();
        model.push({ key: `${name}/${slot}`, name, slot, id, charge });
      } else if (r < 9) {
        const i = at(name, slot);
        assert.equal(get(s, name, slot), i >= 0 ? model[i]!.id : undefined, `op ${op}: get ${name}/${slot}`);
        if (i >= 0) model.push(...model.splice(i, 1));
      } else {
        const i = at(name, slot);
        const e = s.find(name, slot);
        assert.equal(e !== -1, i >= 0, `op ${op}: find ${name}/${slot}`);
        if (i >= 0) {
          s.remove(e);
          model.splice(i, 1);
        }
      }
      if (op % 500 === 0) {
        assert.deepEqual(
          order(s),
          model.map((m) => `${m.name}/${m.slot}=${m.id}`),
          `op ${op}: contents in recency order`,
        );
        assert.equal(s.bytes, modelBytes());
        assert.equal(s.size, model.length);
      }
    }
    assert.ok(s.compactions > 0, `compacted (${s.compactions} times, ${s.committed} bytes in chunks)`);
    assert.deepEqual(
      order(s),
      model.map((m) => `${m.name}/${m.slot}=${m.id}`),
    );
  });

  it('a walk survives the store changing under it: nothing present throughout is missed, nothing gone is met', () => {
    const s = new EntryStore(100_000, 16 * 1024);
    let seed = 11;
    const rand = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % k;
    };
    const live = new Map<string, string>(); // key -> id, as the store holds it
    for (let i = 0; i < 2000; i++) {
      put(s, `k${i}`, 1, `a${i}`, 50);
      live.set(`k${i}`, `a${i}`);
    }
    const atStart = new Set(live.keys());
    const removed = new Set<string>();
    const visited = new Set<string>();
    assert.equal(s.startWalk(), true);
    assert.equal(s.startWalk(), false, 'one walk at a time');
    // Entries added or touched meanwhile come again at the end: cut the walk as the cache's dump does.
    const cap = 2 * s.size;
    for (let step = 0; step < cap; step++) {
      const e = s.walkNext();
      if (e === -1) break;
      const key = s.name(e);
      assert.equal(idOf(s, e), live.get(key), `step ${step}: the walk met ${key} as the store holds it`);
      visited.add(key);
      // Between steps: touches, removals, and new entries of drifting sizes (compactions).
      for (let k = 0; k < 3; k++) {
        const key2 = `k${rand(2600)}`;
        const r = rand(4);
        if (r === 0 && live.has(key2)) {
          s.remove(s.find(key2, 1));
          live.delete(key2);
          removed.add(key2);
        } else if (r === 1 && live.has(key2)) {
          s.get(key2, 1);
        } else if (r === 2) {
          const id = `${'z'.repeat((step * 7) % 1500)}${step}`;
          if (put(s, key2, 1, id, 50) !== -1) live.set(key2, id);
          removed.add(key2); // replaced (or new): its old entry went
        }
      }
      // What the budget evicted to make room is gone too.
      for (const key of live.keys()) {
        if (s.find(key, 1) === -1) {
          live.delete(key);
          removed.add(key);
        }
      }
    }
    s.endWalk();
    // Everything there at the start and never removed (evicted ones count as removed) was met:
    // a touched one moves behind what was added since, and in this run the cap comes later.
    for (const key of atStart)
      if (!removed.has(key)) assert.ok(visited.has(key), `${key} was there throughout and was missed`);
    assert.ok(s.compactions > 0, 'the walk went through a compaction');
  });

  it('keeps expiry and build times past 2038 as given', () => {
    const s = new EntryStore(1000);
    const e = s.add('a', 1, { kind: 3, expires: 2 ** 31 + 5, charge: 1, tag: 2 ** 31 + 1, dataLength: 0 });
    assert.equal(s.expires(e), 2 ** 31 + 5);
    assert.equal(s.tag(e), 2 ** 31 + 1);
    assert.equal(s.kind(e), 3);
    s.setExpires(e, 4_000_000_000);
    assert.equal(s.expires(e), 4_000_000_000);
  });

  it('removing during iteration, and clear', () => {
    const s = new EntryStore(1000);
    for (let i = 0; i < 10; i++) put(s, `k${i % 3}`, i, String(i), 10);
    for (const e of s.oldestFirst()) if (Number(idOf(s, e)) % 2 === 0) s.remove(e);
    assert.deepEqual(order(s), ['k1/1=1', 'k0/3=3', 'k2/5=5', 'k1/7=7', 'k0/9=9']);
    assert.equal(s.bytes, 50);
    assert.equal(s.find('k0', 0), -1);
    assert.equal(get(s, 'k1', 7), '7');
    s.clear();
    assert.deepEqual(order(s), []);
    assert.equal(s.bytes, 0);
    assert.equal(s.size, 0);
    put(s, 'z', 1, 'Z', 5);
    assert.deepEqual(order(s), ['z/1=Z']);
  });
});
