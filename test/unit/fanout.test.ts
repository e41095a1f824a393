import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FanOutCommands, mergeAnswers, TOP_ALL } from '../../src/control/fanout';
import { ControlRequest } from '../../src/control/protocol';
import { Log, MemorySink } from '../../src/log/log';

describe('mergeAnswers (CONTROL with WORKERS)', () => {
  it('stats: counts add up field by field, uptime is the longest', () => {
    const a = { uptime: 10, queries: 5, cache: { entries: 2, bytes: 100, maxBytes: 500, motion: 7 }, inFlight: { udp: 1, tcp: 0 } };
    const b = { uptime: 12, queries: 3, cache: { entries: 1, bytes: 50, maxBytes: 500, motion: 1 }, inFlight: { udp: 0, tcp: 2 } };
    assert.deepEqual(mergeAnswers({ cmd: 'stats' }, [a, b]), {
      uptime: 12,
      queries: 8,
      cache: { entries: 3, bytes: 150, maxBytes: 1000, motion: 8 },
      inFlight: { udp: 1, tcp: 2 },
    });
  });

  it('flush and load: counts add up, names and paths are kept', () => {
    assert.deepEqual(mergeAnswers({ cmd: 'flush', name: 'a.test' }, [{ name: 'a.test.', removed: 2 }, { name: 'a.test.', removed: 1 }]), { name: 'a.test.', removed: 3 });
    assert.deepEqual(mergeAnswers({ cmd: 'load', file: 'x' }, [{ path: '/x', loaded: 4, expired: 1 }, { path: '/x', loaded: 4, expired: 1 }]), { path: '/x', loaded: 8, expired: 2 });
  });

  it('top: rows add up across the workers\' rings, then the limit applies', () => {
    const a = { queries: 4, total: 10, ringSize: 100, clients: [{ key: '10.0.0.1', count: 3 }, { key: '10.0.0.2', count: 1 }], names: [{ key: 'a.', count: 4 }] };
    const b = { queries: 3, total: 5, ringSize: 100, clients: [{ key: '10.0.0.2', count: 3 }], names: [{ key: 'b.', count: 2 }, { key: 'a.', count: 1 }] };
    assert.deepEqual(mergeAnswers({ cmd: 'top', limit: 1 }, [a, b]), {
      queries: 7,
      total: 15,
      ringSize: 200,
      clients: [{ key: '10.0.0.2', count: 4 }],
      names: [{ key: 'a.', count: 5 }],
    });
  });

  it('reload: the first worker\'s counts (all read the same files)', () => {
    assert.deepEqual(mergeAnswers({ cmd: 'reload' }, [{ servers: 2, ip: 1 }, { servers: 2, ip: 1 }]), { servers: 2, ip: 1 });
  });
});

describe('FanOutCommands', () => {
  const log = new Log(new MemorySink());

  it('asks every worker for all top rows, and fails with the first worker error', async () => {
    const asked: ControlRequest[] = [];
    // A worker's error rejects the primary's question (workers.ts).
    const fan = new FanOutCommands({
      ask: async (req) => {
        asked.push(req);
        throw new Error('something broke');
      },
      root: () => '/',
      now: () => 0,
      log,
    });
    await assert.rejects(fan.run({ cmd: 'flush-all' }), /something broke/);
    const ok = new FanOutCommands({ ask: async (req) => (asked.push(req), [{ queries: 0, total: 0, ringSize: 1, clients: [], names: [] }]), root: () => '/', now: () => 0, log });
    await ok.run({ cmd: 'top', limit: 3 });
    assert.equal((asked[1] as { limit?: number }).limit, TOP_ALL);
  });

  it('dump: one file, inside ROOT, with every worker\'s lines after one header', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dnscache-fanout-'));
    try {
      const fan = new FanOutCommands({
        ask: async () => [{ lines: ['{"one":1}', '{"two":2}'] }, { lines: ['{"three":3}'] }],
        root: () => root,
        now: () => 1234,
        log,
      });
      const report = await fan.run({ cmd: 'dump', file: '../../outside.dump' });
      assert.equal(report.entries, 3);
      const lines = fs.readFileSync(path.join(root, 'outside.dump'), 'utf8').trim().split('\n');
      assert.equal(lines.length, 4);
      assert.match(lines[0]!, /"written":1234/);
      assert.deepEqual(lines.slice(1), ['{"one":1}', '{"two":2}', '{"three":3}']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
