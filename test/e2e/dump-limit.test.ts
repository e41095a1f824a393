// A dump of a large cache under the data limit a dnscache-conf service runs
// with (DATALIMIT=300000000, set here with prlimit as softlimit -d does):
// 300,000 entries loaded, then dumped twice; the process stays up and
// answers. Before dumps wrote their chunks as they filled, one dump of such
// a cache doubled the data segment and the second aborted the process.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { controlRequest } from '../../src/control/client';
import { headerLine } from '../../src/control/dumpfile';
import { query, records } from '../lab/client';
import { startDnscache } from './harness';
import { suiteScope } from './fixtures';

const ENTRIES = 300_000;
const DATALIMIT = 300_000_000;

describe('dump under DATALIMIT', () => {
  const scope = suiteScope();

  it(`${ENTRIES} entries dumped twice under a ${DATALIMIT}-byte data limit: still up and answering`, async (t) => {
    if (spawnSync('prlimit', ['--version']).status !== 0) {
      t.skip('no prlimit (util-linux) here');
      return;
    }
    const dir = fs.mkdtempSync(join(tmpdir(), 'dnscache-dumplimit-'));
    scope.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const expires = Math.floor(Date.now() / 1000) + 86400;
    const lines = [headerLine(Math.floor(Date.now() / 1000))];
    for (let i = 0; i < ENTRIES; i++) {
      const ip = [10, (i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join('');
      lines.push(JSON.stringify({ kind: 'rrset', name: `host${i}.dumplimit.test.`, type: 1, expires, rdata: [ip], rank: 5 }));
    }
    const socket = join(dir, 'control');
    const dns = await startDnscache(
      {
        upstreams: '127.0.0.1:53\n',
        env: { CONTROL: socket, CACHESIZE: '200000000', QUERY_LOCALHOST: '1' },
        wrap: ['prlimit', `--data=${DATALIMIT}:${DATALIMIT}`],
      },
      scope,
    );
    fs.writeFileSync(join(dns.root, 'big.dump'), lines.join('\n') + '\n');
    const load = await controlRequest(socket, { cmd: 'load', file: 'big.dump' }, 120_000);
    assert.equal(load.ok, true, JSON.stringify(load));
    assert.equal((load as Record<string, unknown>).loaded, ENTRIES);
    for (const file of ['first.dump', 'second.dump']) {
      const dump = await controlRequest(socket, { cmd: 'dump', file }, 120_000);
      assert.equal(dump.ok, true, JSON.stringify(dump));
      assert.ok(((dump as Record<string, unknown>).entries as number) >= ENTRIES, JSON.stringify(dump));
      assert.ok(dns.alive, `dnscache exited during the ${file}:\n${dns.logs.slice(-5).join('\n')}`);
    }
    const r = await query(dns, 'host12345.dumplimit.test', 'A');
    assert.deepEqual(records(r.packet.answers, 'A').map((x) => String(x.data)), ['10.0.48.57']);
  });
});
