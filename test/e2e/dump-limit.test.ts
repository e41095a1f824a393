// A dump of a full cache under the data limit a dnscache-conf service runs
// with (DATALIMIT=300000000, set here with prlimit as softlimit -d does):
// a 200 MB cache filled with 300,000 entries through `load -`, then dumped
// to a file and over the control connection (`dump -`); the process stays
// up, its data segment stays under the limit, and queries sent while it
// dumps are answered. Before dumps wrote their chunks as they filled, one
// dump of such a cache doubled the data segment and the second aborted the
// process.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { controlRequest, streamRequest } from '../../src/control/client';
import { headerLine } from '../../src/control/dumpfile';
import { ControlResponse } from '../../src/control/protocol';
import { query, records } from '../lab/client';
import { Dnscache, startDnscache } from './harness';
import { suiteScope } from './fixtures';

const ENTRIES = 300_000;
const DATALIMIT = 300_000_000;
const CACHESIZE = 200_000_000;
/** TXT RDATA per entry: 300,000 of them fill most of the 200 MB. */
const TXT_BYTES = 560;

/** The dump text of ENTRIES TXT RRsets, made as it is read. */
function bigDump(expires: number): Readable {
  const strings = [255, 255, TXT_BYTES - 2 * 256 - 1];
  return Readable.from(
    (function* () {
      yield headerLine(Math.floor(Date.now() / 1000)) + '\n';
      for (let i = 0; i < ENTRIES; i++) {
        const id = i.toString(16).padStart(8, '0');
        const rdata = strings
          .map((n) => n.toString(16).padStart(2, '0') + (id + '61'.repeat(n)).slice(0, 2 * n))
          .join('');
        yield (
          JSON.stringify({
            kind: 'rrset',
            name: `host${i}.dumplimit.test.`,
            type: 16,
            expires,
            rdata: [rdata],
            rank: 5,
          }) + '\n'
        );
      }
    })(),
  );
}

/** The process's data segment (VmData), in bytes: what RLIMIT_DATA limits. */
function dataSegment(pid: number): number {
  const m = /^VmData:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** Runs `work` while asking dnscache a cached name every 20 ms: the slowest answer's time, in ms. */
async function slowestAnswerDuring(
  dns: Dnscache,
  work: Promise<ControlResponse>,
): Promise<{ result: ControlResponse; slowest: number; asked: number }> {
  let done = false;
  let slowest = 0;
  let asked = 0;
  const probe = (async () => {
    while (!done) {
      const t0 = performance.now();
      const r = await query(dns, 'host12345.dumplimit.test', 'TXT', { edns: 1232 });
      assert.equal(records(r.packet.answers, 'TXT').length, 1);
      slowest = Math.max(slowest, performance.now() - t0);
      asked++;
      await new Promise((res) => setTimeout(res, 20));
    }
  })();
  const result = await work.finally(() => (done = true));
  await probe;
  return { result, slowest, asked };
}

describe('dump under DATALIMIT', () => {
  const scope = suiteScope();

  it(`a ${CACHESIZE}-byte cache of ${ENTRIES} entries, loaded from standard input and dumped to a file and to standard output under a ${DATALIMIT}-byte data limit: up, under the limit, answering`, async (t) => {
    if (spawnSync('prlimit', ['--version']).status !== 0) {
      t.skip('no prlimit (util-linux) here');
      return;
    }
    const dir = fs.mkdtempSync(join(tmpdir(), 'dnscache-dumplimit-'));
    scope.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const socket = join(dir, 'control');
    const dns = await startDnscache(
      {
        upstreams: '127.0.0.1:53\n',
        env: { CONTROL: socket, CACHESIZE: String(CACHESIZE), QUERY_LOCALHOST: '1' },
        wrap: ['prlimit', `--data=${DATALIMIT}:${DATALIMIT}`],
      },
      scope,
    );
    const load = await streamRequest(
      socket,
      { cmd: 'load', stream: true },
      { input: bigDump(Math.floor(Date.now() / 1000) + 86400) },
      120_000,
    );
    assert.equal(load.ok, true, JSON.stringify(load));
    assert.equal((load as Record<string, unknown>).loaded, ENTRIES);
    const stats = (await controlRequest(socket, { cmd: 'stats' })) as Record<string, any>;
    assert.equal(stats.cache.entries, ENTRIES, 'nothing evicted');
    assert.ok(stats.cache.bytes > 0.9 * CACHESIZE, `the cache is full: ${stats.cache.bytes} bytes`);

    let streamed = 0;
    const counter = new Writable({
      write(chunk: Buffer, _enc, done) {
        streamed += chunk.length;
        done();
      },
    });
    const dumps: Array<[string, () => Promise<ControlResponse>]> = [
      ['a dump to a file', () => controlRequest(socket, { cmd: 'dump', file: 'full.dump' }, 120_000)],
      [
        'a dump to standard output',
        () => streamRequest(socket, { cmd: 'dump', stream: true }, { output: counter }, 120_000),
      ],
    ];
    for (const [what, dump] of dumps) {
      const { result, slowest, asked } = await slowestAnswerDuring(dns, dump());
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.ok(((result as Record<string, unknown>).entries as number) >= ENTRIES, JSON.stringify(result));
      assert.ok(dns.alive, `dnscache exited during ${what}:\n${dns.logs.slice(-5).join('\n')}`);
      const data = dataSegment(dns.process.pid!);
      t.diagnostic(
        `${what}: ${asked} queries answered meanwhile, the slowest in ${slowest.toFixed(1)} ms; data segment ${data} bytes`,
      );
      assert.ok(data < DATALIMIT, `data segment ${data}`);
      // The dump yields to the event loop every DUMP_TURN_MS (2 ms); a dump that held
      // the loop for the whole cache took seconds. The bound is loose for a busy test machine.
      assert.ok(slowest < 500, `${what}: a query waited ${slowest.toFixed(1)} ms`);
      fs.rmSync(join(dns.root, 'full.dump'), { force: true });
    }
    assert.ok(streamed > ENTRIES * 2 * TXT_BYTES, `${streamed} bytes streamed`);
  });
});
