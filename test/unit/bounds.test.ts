import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileLimitWarning, openFileLimit, openFilesNeeded } from '../../src/cli/bounds';

const limits = (soft: string): string =>
  [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    `Max open files            ${soft.padEnd(20)} 524288               files     `,
  ].join('\n');

describe('open-file bound', () => {
  it('adds up the slots: UDP, TCP connections and their pipelined queries, stale retries, prefetches, metrics, control, fixed', () => {
    assert.equal(openFilesNeeded({ maxUdp: 400, maxTcp: 40 }), 400 + 40 * 33 + 1000 + 1000 + 32 + 16 + 64);
  });

  it('reads the soft limit from /proc/self/limits; none where it cannot be read', () => {
    assert.equal(
      openFileLimit(() => limits('1024')),
      1024,
    );
    assert.equal(
      openFileLimit(() => limits('unlimited')),
      Infinity,
    );
    assert.equal(
      openFileLimit(() => 'garbage'),
      null,
    );
    assert.equal(
      openFileLimit(() => {
        throw new Error('ENOENT');
      }),
      null,
    );
    assert.ok((openFileLimit() ?? 1) > 0, 'this machine has one');
  });

  it('warns, naming the settings and the number, only when the limit is below the need', () => {
    const config = { maxUdp: 400, maxTcp: 40 };
    assert.equal(fileLimitWarning(config, 100_000), null);
    assert.equal(fileLimitWarning(config, null), null);
    assert.match(
      fileLimitWarning(config, 1024)!,
      /^open-file limit 1024 is below the 3832 that MAXUDP=400 and MAXTCP=40 may need/,
    );
  });
});
