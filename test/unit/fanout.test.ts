import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { headerLine } from '../../src/control/dumpfile';
import { FanOutCommands, FanOutDeps, LOAD_BATCH, LoadBatch, mergeAnswers, TOP_ALL } from '../../src/control/fanout';
import { ControlRequest } from '../../src/control/protocol';
import { Log, MemorySink } from '../../src/log/log';

describe('mergeAnswers (CONTROL with WORKERS)', () => {
  it('stats: counts add up field by field, uptime is the longest', () => {
    const a = {
      uptime: 10,
      queries: 5,
      cache: { entries: 2, bytes: 100, maxBytes: 500, motion: 7 },
      inFlight: { udp: 1, tcp: 0 },
    };
    const b = {
      uptime: 12,
      queries: 3,
      cache: { entries: 1, bytes: 50, maxBytes: 500, motion: 1 },
      inFlight: { udp: 0, tcp: 2 },
    };
    assert.deepEqual(mergeAnswers({ cmd: 'stats' }, [a, b]), {
      uptime: 12,
      queries: 8,
      cache: { entries: 3, bytes: 150, maxBytes: 1000, motion: 8 },
      inFlight: { udp: 1, tcp: 2 },
    });
  });

  it('flush and load: counts add up, names and paths are kept', () => {
    assert.deepEqual(
      mergeAnswers({ cmd: 'flush', name: 'a.test' }, [
        { name: 'a.test.', removed: 2 },
        { name: 'a.test.', removed: 1 },
      ]),
      { name: 'a.test.', removed: 3 },
    );
    assert.deepEqual(
      mergeAnswers({ cmd: 'load', file: 'x' }, [
        { path: '/x', loaded: 4, expired: 1 },
        { path: '/x', loaded: 4, expired: 1 },
      ]),
      { path: '/x', loaded: 8, expired: 2 },
    );
  });

  it("top: rows add up across the workers' rings, then the limit applies", () => {
    const a = {
      queries: 4,
      total: 10,
      ringSize: 100,
      clients: [
        { key: '10.0.0.1', count: 3 },
        { key: '10.0.0.2', count: 1 },
      ],
      names: [{ key: 'a.', count: 4 }],
    };
    const b = {
      queries: 3,
      total: 5,
      ringSize: 100,
      clients: [{ key: '10.0.0.2', count: 3 }],
      names: [
        { key: 'b.', count: 2 },
        { key: 'a.', count: 1 },
      ],
    };
    assert.deepEqual(mergeAnswers({ cmd: 'top', limit: 1 }, [a, b]), {
      queries: 7,
      total: 15,
      ringSize: 200,
      clients: [{ key: '10.0.0.2', count: 4 }],
      names: [{ key: 'a.', count: 5 }],
    });
  });

  it("reload: the first worker's counts (all read the same files)", () => {
    assert.deepEqual(
      mergeAnswers({ cmd: 'reload' }, [
        { servers: 2, ip: 1 },
        { servers: 2, ip: 1 },
      ]),
      { servers: 2, ip: 1 },
    );
  });
});

describe('FanOutCommands', () => {
  const log = new Log(new MemorySink());
  const unused = async (): Promise<never> => {
    throw new Error('not asked in this test');
  };
  const deps = (over: Partial<FanOutDeps>): FanOutDeps => ({
    ask: unused,
    dumpSlice: unused,
    endDump: unused,
    loadBatch: unused,
    root: () => '/',
    now: () => 0,
    log,
    ...over,
  });

  it('asks every worker for all top rows, and fails with the first worker error', async () => {
    const asked: ControlRequest[] = [];
    // A worker's error rejects the primary's question (workers.ts).
    const fan = new FanOutCommands(
      deps({
        ask: async (req) => {
          asked.push(req);
          throw new Error('something broke');
        },
      }),
    );
    await assert.rejects(fan.run({ cmd: 'flush-all' }), /something broke/);
    const ok = new FanOutCommands(
      deps({ ask: async (req) => (asked.push(req), [{ queries: 0, total: 0, ringSize: 1, clients: [], names: [] }]) }),
    );
    await ok.run({ cmd: 'top', limit: 3 });
    assert.equal((asked[1] as { limit?: number }).limit, TOP_ALL);
  });

  it("dump: one file, inside ROOT, with every worker's lines after one header, a round of slices at a time, then the walks end", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dnscache-fanout-'));
    try {
      const rounds = [
        [['{"one":1}', '{"two":2}'], ['{"three":3}']],
        [['{"four":4}'], []],
        [[], []],
      ];
      const asked: string[] = [];
      const fan = new FanOutCommands(
        deps({
          dumpSlice: async (dump) => (asked.push(`slice ${dump}`), rounds.shift()!),
          endDump: async (dump) => asked.push(`end ${dump}`),
          root: () => root,
          now: () => 1234,
        }),
      );
      const report = await fan.run({ cmd: 'dump', file: '../../outside.dump' });
      assert.equal(report.entries, 4);
      assert.deepEqual(asked, ['slice 1', 'slice 1', 'slice 1', 'end 1']);
      const lines = fs.readFileSync(path.join(root, 'outside.dump'), 'utf8').trim().split('\n');
      assert.equal(lines.length, 5);
      assert.match(lines[0]!, /"written":1234/);
      assert.deepEqual(lines.slice(1), ['{"one":1}', '{"two":2}', '{"three":3}', '{"four":4}']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('dump -: the same text over the connection; a second dump meanwhile is refused; a failed write still ends the walks', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const ended: number[] = [];
    let rounds = 0;
    const fan = new FanOutCommands(
      deps({
        dumpSlice: async () => (++rounds === 1 ? [['{"kind":"a"}']] : [[]]),
        endDump: async (dump) => ended.push(dump),
      }),
    );
    const pieces: string[] = [];
    const first = fan.run(
      { cmd: 'dump', stream: true },
      { input: [], write: async (p) => (pieces.push(p.toString()), held) },
    );
    await new Promise((r) => setImmediate(r));
    await assert.rejects(fan.run({ cmd: 'dump', file: 'x' }), /a dump is already running/);
    release();
    const report = await first;
    assert.equal(report.entries, 1);
    assert.match(pieces.join(''), /^\{"format":"dnscache-ts cache dump".*\n\{"kind":"a"\}\n$/);
    await assert.rejects(
      fan.run(
        { cmd: 'dump', stream: true },
        { input: [], write: async () => Promise.reject(new Error('the client closed the connection')) },
      ),
      /closed/,
    );
    assert.deepEqual(ended, [1, 2]);
  });

  it('load -: the primary reads the lines, checks the header, and sends batches of LOAD_BATCH numbered lines to the workers; counts add up', async () => {
    const batches: LoadBatch[] = [];
    const fan = new FanOutCommands(
      deps({
        loadBatch: async (batch) => {
          batches.push(batch);
          const counts = { loaded: batch.lines.length, expired: 0, malformed: 0, tooBig: 0, errors: [] };
          return [counts, counts];
        },
      }),
    );
    const text = headerLine(1) + '\n' + Array.from({ length: LOAD_BATCH + 5 }, (_, i) => `line${i}`).join('\n') + '\n';
    const halves = [Buffer.from(text.slice(0, 777)), Buffer.from(text.slice(777))];
    const report = await fan.run({ cmd: 'load', stream: true }, { input: halves, write: unused });
    assert.equal(report.loaded, 2 * (LOAD_BATCH + 5));
    assert.deepEqual(
      batches.map((b) => [b.first, b.lines.length]),
      [
        [2, LOAD_BATCH],
        [LOAD_BATCH + 2, 5],
      ],
    );
    assert.equal(batches[1]!.lines[0], `line${LOAD_BATCH}`);
    await assert.rejects(
      fan.run({ cmd: 'load', stream: true }, { input: ['not a dump\n'], write: unused }),
      /line 1: not a dnscache-ts cache dump/,
    );
    await assert.rejects(fan.run({ cmd: 'load', stream: true }, { input: [], write: unused }), /empty/);
  });
});
