// WORKERS=2: two processes answer on the same sockets (node:cluster), each
// with half of CACHESIZE; the primary forwards signals and stops the
// service when a worker dies.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { query, records } from '../lab/client';
import { LabServer } from '../lab/server';
import { Dnscache, runDnscacheExpectingFailure } from './harness';
import { freshName, startSetup, suiteScope, waitFor, WILDCARD_ADDRESS } from './fixtures';

/** The pids of the processes whose parent is `pid`. */
function children(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startTwoWorkers(
  scope: ReturnType<typeof suiteScope>,
): Promise<{ dns: Dnscache; lab: LabServer; workers: number[] }> {
  const { dns, lab } = await startSetup(scope, ['answer'], { env: { WORKERS: '2' } });
  await dns.waitForLogs(/^starting/, 2, 10000);
  const workers = await waitFor('two worker processes', () => {
    const pids = children(dns.process.pid!);
    return pids.length === 2 ? pids : undefined;
  });
  return { dns, lab, workers };
}

describe('WORKERS=2', () => {
  const scope = suiteScope();
  let dns: Dnscache;
  let workers: number[];

  before(async () => {
    ({ dns, workers } = await startTwoWorkers(scope));
  });

  test('both workers answer; each query is logged once, under a number no other worker uses', async () => {
    const mark = dns.logs.length;
    const names = Array.from({ length: 300 }, () => freshName('w'));
    for (let i = 0; i < names.length; i += 50) {
      const replies = await Promise.all(names.slice(i, i + 50).map((n) => query(dns, n, 'A')));
      for (const r of replies)
        assert.deepEqual(
          records(r.packet.answers, 'A').map((a) => a.data),
          [WILDCARD_ADDRESS],
        );
    }
    const sent = await dns.waitForLogs(/^u\.sent /, names.length, 5000, mark);
    const numbers = sent.map((l) => Number(l.split(' ')[1]));
    assert.equal(new Set(numbers).size, numbers.length, 'query numbers repeat');
    // Worker 0 numbers 1, 3, 5, ...; worker 1 numbers 2, 4, 6, ...
    const odd = numbers.filter((n) => n % 2 === 1).length;
    assert.ok(odd > 0 && odd < numbers.length, `one worker answered everything (${odd} odd of ${numbers.length})`);
    // Every line is whole: two processes write into one pipe.
    // (`health`: under this load the lab may answer some tries late, and a run of timeouts marks it down.)
    for (const l of dns.logs.slice(mark)) assert.match(l, /^(u\.query|u\.sent|tx|rr|stats|cached|sent|health) /);
  });

  test('answers over TCP too, and from the cache', async () => {
    const name = freshName('t');
    const first = await query(dns, name, 'A', { transport: 'tcp' });
    assert.deepEqual(
      records(first.packet.answers, 'A').map((a) => a.data),
      [WILDCARD_ADDRESS],
    );
    const again = await query(dns, name, 'A', { transport: 'tcp' });
    assert.deepEqual(
      records(again.packet.answers, 'A').map((a) => a.data),
      [WILDCARD_ADDRESS],
    );
  });

  test('SIGHUP reaches every worker', async () => {
    const mark = dns.logs.length;
    dns.process.kill('SIGHUP');
    const lines = await dns.waitForLogs(/^reload servers /, 2, 5000, mark);
    assert.equal(lines.length, 2);
  });

  test('SIGTERM stops the primary and every worker, with status 0', async () => {
    assert.ok(workers.every(running));
    assert.equal(await dns.stop(), 0);
    await waitFor('the workers to exit', () => (workers.some(running) ? undefined : true));
  });
});

describe('WORKERS=2, a worker dies', () => {
  const scope = suiteScope();
  let dns: Dnscache;
  let workers: number[];

  before(async () => {
    ({ dns, workers } = await startTwoWorkers(scope));
  });
  after(() => dns.stop());

  test('the primary stops the other worker and exits 111, for the supervisor to restart the service', async () => {
    process.kill(workers[0]!, 'SIGKILL');
    assert.equal(await dns.exited, 111);
    await waitFor('the other worker to exit', () => (running(workers[1]!) ? undefined : true));
    assert.ok(
      dns.logs.some((l) => /^dnscache: warning: worker \d exited \(SIGKILL\): stopping$/.test(l)),
      dns.logs.join('\n'),
    );
  });
});

describe('WORKERS: bad values stop start-up', { concurrency: true }, () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['WORKERS=0', { WORKERS: '0' }, /\bWORKERS: "0" is out of range \(expected a number of processes from 1 to 64\)/],
    ['WORKERS=two', { WORKERS: 'two' }, /\bWORKERS: "two" is not a decimal number/],
    ['WORKERS=65', { WORKERS: '65' }, /\bWORKERS: "65" is out of range/],
    [
      'WORKERS=4 with CACHESIZE=300',
      { WORKERS: '4', CACHESIZE: '300' },
      /\bWORKERS: 4 would leave each process less than 100 bytes of CACHESIZE 300/,
    ],
  ];
  for (const [label, env, message] of cases) {
    test(label, async () => {
      const run = await runDnscacheExpectingFailure(env);
      assert.equal(run.code, 111);
      assert.match(run.stderr, message);
    });
  }
});
