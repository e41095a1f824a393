// The invariants stated at the top of src/cache/store.ts, checked after
// every operation of sequences that insert, replace, evict under the
// budget, expire, delete and flush, directly on the store and through the
// Cache; then a long random run with a fixed seed. The last tests break
// each invariant by hand, to show the check for it is not vacuous.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cache, RANK } from '../../src/cache/cache';
import { flushAll, flushName, flushSubtree } from '../../src/cache/flush';
import { EntryStore } from '../../src/cache/store';
import { FakeClock, ipv4, n } from './helpers';

function holds(s: EntryStore, after: string): void {
  assert.deepEqual(s.invariantViolations(), [], `after ${after}`);
}

/** Stores an entry whose data is `length` bytes of 'x'; -1 if it was not stored. */
function put(s: EntryStore, name: string, slot: number, charge: number, length = 8, expires = 1000): number {
  const e = s.add(name, slot, { kind: 1, expires, charge, tag: 0, dataLength: length });
  if (e !== -1) s.buffer(e).fill(0x78, s.dataStart(e), s.dataStart(e) + length);
  return e;
}

/** Removes the entries that expire at or before `now`, as Cache.sweep does. */
function expire(s: EntryStore, now: number): number {
  let n = 0;
  for (const e of s.oldestFirst()) {
    if (s.expires(e) <= now) {
      s.remove(e);
      n++;
    }
  }
  return n;
}

const name = (i: number): string => `\x05n${String(i).padStart(4, '0')}\x00`;

/** A seeded linear congruential generator: the same run every time. */
function lcg(seed: number): (k: number) => number {
  return (k) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % k;
  };
}

describe('EntryStore invariants', () => {
  it('hold for an empty store and through inserts that grow the table past its first size', () => {
    const s = new EntryStore(1_000_000);
    holds(s, 'construction');
    for (let i = 0; i < 3000; i++) {
      assert.notEqual(put(s, name(i), 1 + (i % 3), 100), -1);
      if (i % 7 === 0 || i === 1024 || i === 1025) holds(s, `insert ${i}`);
    }
    holds(s, 'the inserts');
    assert.equal(s.size, 3000);
  });

  it('hold through replacing entries with others of other sizes', () => {
    const s = new EntryStore(100_000);
    for (let i = 0; i < 50; i++) put(s, name(i), 1, 100);
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i += 3) {
        put(s, name(i), 1, 50 + round * 10, 8 + round * 40);
        holds(s, `replacing ${i} in round ${round}`);
      }
    }
    assert.equal(s.size, 50);
  });

  it('hold through evictions under the byte budget, an oversized refusal included', () => {
    const s = new EntryStore(10_000);
    for (let i = 0; i < 500; i++) {
      put(s, name(i), 1, 100 + (i % 13) * 50, 8 + (i % 5) * 100);
      holds(s, `insert ${i}`);
    }
    assert.ok(s.evicted > 0, 'entries were evicted');
    assert.equal(put(s, name(9999), 1, 10_001), -1);
    holds(s, 'an oversized insert');
    put(s, name(9999), 1, 10_000);
    holds(s, 'an insert of the whole budget');
    assert.equal(s.size, 1);
  });

  it('hold through expiry, deletion (one found, or met while iterating) and flush', () => {
    const s = new EntryStore(1_000_000);
    for (let i = 0; i < 400; i++) put(s, name(i), 1 + (i % 2), 100, 8, 1000 + (i % 10));
    assert.equal(expire(s, 1004), 200);
    holds(s, 'expiry');
    for (let i = 5; i < 400; i += 10) {
      const e = s.find(name(i), 1 + (i % 2));
      if (e !== -1) s.remove(e);
      holds(s, `deleting ${i}`);
    }
    let k = 0;
    for (const e of s.oldestFirst()) if (k++ % 3 === 0) s.remove(e);
    holds(s, 'deleting while iterating');
    s.clear();
    holds(s, 'clear');
    for (let i = 0; i < 50; i++) put(s, name(i), 1, 100);
    holds(s, 'inserts after clear');
  });

  it('hold through compaction and through a walk that the store changes under', () => {
    const s = new EntryStore(200_000, 16 * 1024);
    const rand = lcg(11);
    assert.ok(s.startWalk());
    for (let i = 0; i < 4000; i++) {
      // Sizes drift, so blocks of old sizes pile up free and compaction runs.
      put(s, name(rand(300)), 1, 100 + rand(200), 8 + 3 * (i % 1000) + rand(40));
      if (i % 5 === 0) s.walkNext();
      if (i % 20 === 0) holds(s, `insert ${i} during a walk`);
    }
    s.endWalk();
    holds(s, 'the walk');
    assert.ok(s.compactions > 0, 'compacted');
  });

  it('hold after every one of 30,000 random operations (seed 19)', () => {
    const budget = 100_000;
    const s = new EntryStore(budget, 16 * 1024);
    const rand = lcg(19);
    let now = 1000;
    let walking = false;
    const names = Array.from({ length: 400 }, (_, i) => name(i));
    const ops = { insert: 0, get: 0, delete: 0, expire: 0, walk: 0, clear: 0 };
    for (let op = 0; op < 30_000; op++) {
      const nm = names[rand(names.length)]!;
      const slot = 1 + rand(4);
      const r = rand(1000);
      if (r < 500) {
        ops.insert++;
        const charge = rand(100) === 0 ? budget + 1 : 20 + rand(rand(20) === 0 ? 20_000 : 900);
        // Sizes drift through the classes, so blocks of old sizes pile up free and compaction runs.
        const length = rand(10) === 0 ? 2000 + rand(3000) : 8 + ((op >> 2) % 3000) + rand(100);
        put(s, nm, slot, charge, length, now + rand(600));
      } else if (r < 850) {
        ops.get++;
        s.get(nm, slot);
      } else if (r < 950) {
        ops.delete++;
        const e = s.find(nm, slot);
        if (e !== -1) s.remove(e);
      } else if (r < 980) {
        ops.expire++;
        now += rand(5);
        expire(s, now);
      } else {
        ops.walk++;
        if (!walking) walking = s.startWalk();
        else if (s.walkNext() === -1 || rand(5) === 0) {
          s.endWalk();
          walking = false;
        }
      }
      // Once, early: a clear empties the arena back to one chunk, and compaction needs a full one.
      if (op === 5000) {
        ops.clear++;
        s.clear();
      }
      const violations = s.invariantViolations();
      if (violations.length > 0) assert.fail(`op ${op}: ${violations.join('; ')}`);
    }
    for (const [what, count] of Object.entries(ops)) assert.ok(count > 0, `the run did ${what}`);
    assert.ok(s.evicted > 0 && s.compactions > 0, `evicted ${s.evicted}, compacted ${s.compactions} times`);
  });
});

describe('Cache operations keep the store invariants', () => {
  it('puts, replacement by rank, expiry by sweep, flush by name, zone and all', () => {
    const clock = new FakeClock();
    const c = new Cache(20_000, clock.now);
    for (let i = 0; i < 300; i++) {
      const owner = n(`h${i}.z${i % 7}.example`);
      c.putRRset(owner, 1, 30 + (i % 50), [ipv4(`192.0.2.${i % 250}`)], RANK.ANSWER);
      c.putRRset(owner, 1, 60, [ipv4('198.51.100.1'), ipv4('198.51.100.2')], RANK.ANSWER_AA);
      c.putNxdomain(n(`nx${i}.z${i % 7}.example`), 40, null);
      c.putNodata(owner, 28, 40, null);
      c.putFailure(owner, 15, 10);
      holds(c.store, `the puts for ${i}`);
    }
    assert.ok(c.stats().evicted > 0, 'the budget evicted entries');
    clock.advance(45);
    assert.ok(c.sweep() > 0);
    holds(c.store, 'sweep');
    flushName(c, n('h299.z5.example'));
    holds(c.store, 'flushName');
    flushSubtree(c, n('z3.example'));
    holds(c.store, 'flushSubtree');
    flushAll(c);
    holds(c.store, 'flushAll');
    assert.equal(c.stats().entries, 0);
  });
});

describe('invariantViolations', () => {
  /** A store of a few entries, and its private fields to break. */
  function broken(): { s: EntryStore; p: Record<string, unknown> & { arena: Record<string, unknown> } } {
    const s = new EntryStore(10_000);
    for (let i = 0; i < 5; i++) put(s, name(i), 1, 100);
    holds(s, 'setup');
    return { s, p: s as unknown as Record<string, unknown> & { arena: Record<string, unknown> } };
  }
  const reported = (s: EntryStore, invariant: string): void => {
    const v = s.invariantViolations();
    assert.ok(
      v.some((line) => line.startsWith(`${invariant}:`)),
      `${invariant} reported: ${JSON.stringify(v)}`,
    );
  };

  it('reports a byte count that is not the sum of the charges', () => {
    const { s, p } = broken();
    p.used = (p.used as number) + 1;
    reported(s, 'bytes');
  });

  it('reports a recency list cut short', () => {
    const { s, p } = broken();
    p.newest = p.oldest;
    reported(s, 'recency');
  });

  it('reports an entry missing from its chain', () => {
    const { s, p } = broken();
    const table = p.table as Int32Array;
    table[table.findIndex((e) => e !== -1)] = -1;
    reported(s, 'index');
  });

  it('reports a name count that does not match', () => {
    const { s, p } = broken();
    (p.names as Int32Array)[0]!++;
    reported(s, 'names');
  });

  it("reports an arena whose in-use bytes are not the entries' blocks", () => {
    const { s, p } = broken();
    p.arena.used = (p.arena.used as number) + 8;
    reported(s, 'arena');
  });

  it('reports a walk cursor with no walk running', () => {
    const { s, p } = broken();
    p.cursor = p.oldest;
    reported(s, 'walk');
  });
});
