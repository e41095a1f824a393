import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config';
import { Log, MemorySink } from '../../src/log/log';
import { realClock } from '../../src/platform/clock';
import { Random } from '../../src/random/random';
import { Service } from '../../src/server/service';
import { WORKER_INDEX_ENV, workerIndex } from '../../src/server/workers';
import { freeLoopback } from '../lab/addresses';
import { query } from '../lab/client';

describe('one worker of WORKERS', () => {
  test('keeps its share of CACHESIZE and numbers its queries apart from the other workers', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dnscache-worker-'));
    try {
      fs.mkdirSync(path.join(root, 'ip'));
      fs.mkdirSync(path.join(root, 'servers'));
      fs.writeFileSync(path.join(root, 'ip', '127.0.0.1'), '');
      fs.writeFileSync(path.join(root, 'servers', '@'), '127.0.0.1:53\n');
      const address = await freeLoopback(5300);
      const config = loadConfig({
        IP: address,
        PORT: '5300',
        ROOT: root,
        FORWARDONLY: '1',
        CACHESIZE: '1000001',
        WORKERS: '3',
      });
      assert.equal(config.workers, 3);
      const sink = new MemorySink();
      const service = new Service(config, new Log(sink), new Random(null), realClock, 1);
      assert.equal(service.cache.maxBytes, 333333);
      await service.start();
      try {
        for (let i = 0; i < 3; i++)
          assert.equal((await query({ address, port: 5300 }, 'localhost', 'A')).packet.rcode, 'NOERROR');
        const numbers = sink.lines.filter((l) => l.startsWith('u.query ')).map((l) => Number(l.split(' ')[1]));
        assert.deepEqual(numbers, [2, 5, 8]);
      } finally {
        await service.stop();
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('reads its index from the environment the primary set', () => {
    assert.equal(workerIndex({ [WORKER_INDEX_ENV]: '0' }, 2), 0);
    assert.equal(workerIndex({ [WORKER_INDEX_ENV]: '1' }, 2), 1);
    assert.throws(
      () => workerIndex({ [WORKER_INDEX_ENV]: '2' }, 2),
      /DNSCACHE_WORKER: "2" is not a worker index below 2/,
    );
    assert.throws(() => workerIndex({}, 2), /DNSCACHE_WORKER: "" is not a worker index/);
    assert.throws(() => workerIndex({ [WORKER_INDEX_ENV]: '-1' }, 2), /not a worker index/);
  });
});
