import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { realClock } from '../../src/platform/clock';
import { PendingTimeout, TimeoutWheel } from '../../src/transport/timeouts';

/** A wheel on a clock the test moves; advance() is called by hand (the wheel's own interval sees the same clock). */
function wheel(): {
  w: TimeoutWheel;
  after: (ms: number, f: () => void) => PendingTimeout;
  at: (ms: number) => void;
  fired: string[];
} {
  let t = 1000;
  const w = new TimeoutWheel({ ...realClock, now: () => t });
  const fired: string[] = [];
  return {
    w,
    after: (ms, f) => w.after(ms, { expire: f }),
    fired,
    at: (ms: number) => {
      t = 1000 + ms;
      w.advance();
    },
  };
}

describe('TimeoutWheel', () => {
  it('fires once, at or after the due time and never before', () => {
    const { w, after, at, fired } = wheel();
    after(200, () => fired.push('a'));
    after(250, () => fired.push('b'));
    assert.equal(w.size, 2);
    at(150);
    at(199.9);
    assert.deepEqual(fired, []);
    at(200);
    assert.deepEqual(fired, ['a']);
    at(260);
    at(400);
    assert.deepEqual(fired, ['a', 'b']);
    assert.equal(w.size, 0);
  });

  it('a cancelled timeout never fires; cancelling twice or after firing does nothing', () => {
    const { w, after, at, fired } = wheel();
    const a = after(200, () => fired.push('a'));
    const b = after(200, () => fired.push('b'));
    w.cancel(a);
    w.cancel(a);
    assert.equal(w.size, 1);
    at(300);
    assert.deepEqual(fired, ['b']);
    w.cancel(b);
    assert.equal(w.size, 0);
  });

  it('a callback may cancel a timeout due in the same tick, or add a new one', () => {
    const { w, after, at, fired } = wheel();
    // A slot is processed newest first: the second timeout's callback runs before the first's.
    const victim = after(200, () => fired.push('cancelled'));
    after(200, () => {
      fired.push('first');
      w.cancel(victim);
      after(100, () => fired.push('added'));
    });
    at(200);
    assert.deepEqual(fired, ['first']);
    at(299);
    assert.deepEqual(fired, ['first']);
    at(300);
    assert.deepEqual(fired, ['first', 'added']);
    assert.equal(w.size, 0);
  });

  it('deadlines beyond one turn of the wheel wait their turn; a stalled clock fires everything due at once', () => {
    const { w, after, at, fired } = wheel();
    after(12_000, () => fired.push('long'));
    after(300, () => fired.push('short'));
    at(5_120);
    assert.deepEqual(fired, ['short']);
    at(10_240);
    assert.deepEqual(fired, ['short']);
    at(11_999);
    assert.deepEqual(fired, ['short']);
    at(12_000);
    assert.deepEqual(fired, ['short', 'long']);
    for (let i = 0; i < 50; i++) after(100 + i * 97, () => fired.push(`s${i}`));
    at(60_000); // a stall of 48 s: one advance visits every slot
    assert.equal(fired.length, 52);
    assert.equal(w.size, 0);
  });

  it('runs on the real clock by itself while something is pending', async () => {
    const w = new TimeoutWheel(realClock);
    const started = performance.now();
    const waited = await new Promise<number>((resolve) =>
      w.after(30, { expire: () => resolve(performance.now() - started) }),
    );
    assert.ok(waited >= 30, `fired after ${waited} ms`);
    assert.equal(w.size, 0);
  });
});
