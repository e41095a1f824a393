import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Log, MemorySink } from '../../src/log/log';
import { CLIENT_QUIET_MS, LINES_PER_MINUTE, MAX_REMEMBERED, RefusedClients } from '../../src/server/refused';

describe('RefusedClients', () => {
  function setup(): { refused: RefusedClients; sink: MemorySink; at: { t: number } } {
    const sink = new MemorySink();
    const at = { t: 0 };
    return { refused: new RefusedClients(new Log(sink), () => at.t), sink, at };
  }

  it('counts every refusal, and logs a client once a minute', () => {
    const { refused, sink, at } = setup();
    for (let i = 0; i < 5; i++) refused.refused('192.0.2.7', 'u', 'no ip/ entry');
    refused.refused('192.0.2.8', 't', 'source port');
    assert.equal(refused.count, 6);
    assert.deepEqual(sink.lines, ['refused c0000207 u no ip/ entry', 'refused c0000208 t source port']);
    at.t = CLIENT_QUIET_MS - 1;
    refused.refused('192.0.2.7', 'u', 'no ip/ entry');
    assert.equal(sink.lines.length, 2);
    at.t = CLIENT_QUIET_MS;
    refused.refused('192.0.2.7', 'u', 'no ip/ entry');
    assert.equal(sink.lines.length, 3);
  });

  it('a flood of sources: at most LINES_PER_MINUTE lines a minute, the rest counted on the next line', () => {
    const { refused, sink, at } = setup();
    for (let i = 0; i < LINES_PER_MINUTE + 50; i++) refused.refused(`10.0.${i >> 8}.${i & 255}`, 'u', 'no ip/ entry');
    assert.equal(sink.lines.length, LINES_PER_MINUTE);
    assert.equal(refused.count, LINES_PER_MINUTE + 50);
    at.t = 60_000;
    refused.refused('10.9.9.9', 'u', 'no ip/ entry');
    assert.equal(sink.lines.at(-1), 'refused 0a090909 u no ip/ entry (and 50 more not logged)');
  });

  it('remembers at most MAX_REMEMBERED clients (the oldest are forgotten first)', () => {
    const { refused, sink, at } = setup();
    for (let i = 0; i <= MAX_REMEMBERED; i++) {
      at.t = i * (60_000 / LINES_PER_MINUTE); // under the global cap
      refused.refused(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 'u', 'no ip/ entry');
    }
    assert.equal(sink.lines.length, MAX_REMEMBERED + 1);
    // The first client was forgotten: it is logged again at once.
    at.t += 60_000 / LINES_PER_MINUTE;
    refused.refused('10.0.0.0', 'u', 'no ip/ entry');
    assert.equal(sink.lines.length, MAX_REMEMBERED + 2);
  });
});
