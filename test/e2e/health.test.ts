// Health checks of forwarding upstreams, against real upstream processes
// that are killed and started again, the real dnscache and dnscache-ctl:
// down after failed checks, client queries kept away while down, up again
// after one good check; an administrator's forced state; the check's
// question and interval as settings.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { query } from '../lab/client';
import { Responder } from '../lab/responders';
import { ctl, ok, socketDir } from './ctl';
import { freshName, queriesFor, startLab, waitFor } from './fixtures';
import { Dnscache, runDnscacheExpectingFailure, startDnscache, writeRoot } from './harness';
import { startInProcess } from './in-process';
import { askMany, responders } from './upstreams';

/** The `servers` rows by address. */
async function states(socket: string): Promise<Record<string, { state: string; forced: string; queries: number }>> {
  const res = await ok(socket, { cmd: 'servers' });
  return Object.fromEntries(
    (res.servers as Array<{ address: string; state: string; forced: string; queries: number }>).map((r) => [
      r.address,
      r,
    ]),
  );
}

async function firstAvailablePair(
  t: Parameters<typeof responders>[0],
): Promise<{ a: Responder; b: Responder; dns: Dnscache; socket: string }> {
  const [a, b] = await responders(t, [0, 0]);
  const socket = join(socketDir(t), 'control');
  const dns = await startDnscache(
    {
      upstreams: `policy firstAvailable\n${a!.serverLine} order=1\n${b!.serverLine} order=2\n`,
      env: { CONTROL: socket },
    },
    t,
  );
  return { a: a!, b: b!, dns, socket };
}

// One test at a time: each starts several processes (see pools.test.ts).
describe('health checks', () => {
  test('a killed upstream goes down after failed checks and gets no queries; started again, it is up after one check', async (t) => {
    const { a, b, dns, socket } = await firstAvailablePair(t);
    await askMany(dns, 5);
    // (At least: on a loaded machine a try may time out and be asked again.)
    assert.ok((await a.queries()) >= 5, 'order=1 first');
    const before = await b.queries();
    assert.equal((await states(socket))[a.serverLine]!.state, 'up');

    const mark = dns.logs.length;
    await a.kill();
    const down = await dns.waitForLog(new RegExp(`^health ${a.serverLine.replace(/\./g, '\\.')} down `), 10000, mark);
    assert.match(down, /3 failed checks in a row/);
    const rows = await states(socket);
    assert.equal(rows[a.serverLine]!.state, 'down');
    assert.equal(rows[b.serverLine]!.state, 'up');

    // Down: the first server is left out of the order altogether (a tx line lists whom a question will ask).
    const asked = dns.logs.length;
    await askMany(dns, 5);
    assert.ok((await b.queries()) >= before + 5);
    const hexA = a.address
      .split('.')
      .map((o) => Number(o).toString(16).padStart(2, '0'))
      .join('');
    const txs = dns.linesMatching(/^tx /, asked);
    assert.equal(txs.length, 5);
    for (const tx of txs) assert.ok(!tx.includes(hexA), `${tx} lists the down server ${hexA}`);

    const upMark = dns.logs.length;
    await a.start();
    await dns.waitForLog(
      new RegExp(`^health ${a.serverLine.replace(/\./g, '\\.')} up a check succeeded$`),
      5000,
      upMark,
    );
    const bBefore = await b.queries();
    await askMany(dns, 5);
    assert.ok((await a.queries()) >= 5, 'the restarted process has the queries again');
    assert.ok((await b.queries()) - bBefore < 5, 'not all of them went to order=2');
  });

  test('dnscache-ctl server ADDRESS down|up|auto: forced down gets no queries while another is up; auto hands back to the checks', async (t) => {
    const { a, b, dns, socket } = await firstAvailablePair(t);
    const forced = await ctl(['--socket', socket, 'server', a.serverLine, 'down']);
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(forced.stdout, `${a.serverLine}: forced down (now down)\n`);
    await askMany(dns, 4);
    assert.equal(await a.queries(), 0, 'forced down: never asked');
    assert.ok((await b.queries()) >= 4);
    const listed = await ctl(['--socket', socket, 'servers']);
    assert.match(
      listed.stdout,
      new RegExp(`^${a.serverLine.replace(/\./g, '\\.')} +@ +down \\(forced\\) +firstAvailable +1 +1 +- +0 +0 `, 'm'),
    );
    assert.match(
      listed.stdout,
      /^address +pool +state +policy +order +weight +qps cap +queries +drops +qps +latency ms +in flight$/m,
    );

    // Forced up: even a dead server is asked (and failed over from).
    await ok(socket, { cmd: 'server', address: b.serverLine, state: 'up' });
    await ok(socket, { cmd: 'server', address: a.serverLine, state: 'auto' });
    await askMany(dns, 3);
    assert.ok((await a.queries()) >= 3, 'auto: up again, and first');
    assert.equal((await states(socket))[b.serverLine]!.forced, 'up');

    const unknown = await ctl(['--socket', socket, 'server', '127.0.0.1:1', 'down']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /"127\.0\.0\.1:1" is not an upstream of any servers\/ file \(expected one of /);
    const usage = await ctl(['--socket', socket, 'server', a.serverLine, 'sideways']);
    assert.equal(usage.status, 100);
    assert.match(usage.stderr, /"sideways" is not up, down or auto/);
    assert.equal(dns.linesMatching(/^control server /).length, 3);
  });

  test('HEALTHQUERY and HEALTHINTERVAL: the question asked, only of the upstreams; 0 turns checks off', async (t) => {
    // In this process, the interval on a clock the test moves: a check per interval, no sleeping for them.
    const lab = await startLab(t);
    const dns = await startInProcess(
      t,
      { upstreams: [lab] },
      { HEALTHQUERY: 'health.wild.example.test A', HEALTHINTERVAL: '1' },
    );
    const checks = (): number => queriesFor(lab, 'health.wild.example.test').length;
    dns.clock.advance(1000);
    await waitFor('the first check', () => (checks() >= 1 ? true : undefined));
    dns.clock.advance(1000);
    await waitFor('the second check', () => (checks() >= 2 ? true : undefined));
    assert.equal(checks(), 2, 'one check per interval');
    assert.ok(queriesFor(lab, 'health.wild.example.test').every((q) => q.rd && q.type === 'A'));
    assert.equal(lab.queries.length, checks(), 'nothing else was asked');

    const quiet = await startLab(t);
    const off = await startInProcess(t, { upstreams: [quiet] }, { HEALTHINTERVAL: '0' });
    off.clock.advance(10_000);
    // A check would have reached the lab before this question's query, sent after it to the same socket.
    assert.equal((await query(off, freshName('off'), 'A')).packet.rcode, 'NOERROR');
    assert.deepEqual(
      quiet.queries.map((q) => q.type),
      ['A'],
      'ten intervals, and the question was all it was asked',
    );
  });

  test('a bad HEALTHQUERY or HEALTHINTERVAL stops start-up, naming the variable and the value', async () => {
    const type = await runDnscacheExpectingFailure({ HEALTHQUERY: '. BOGUS' }, (root) =>
      writeRoot(root, { upstreams: '127.0.0.1\n' }),
    );
    assert.match(type.stderr, /HEALTHQUERY: "BOGUS" is not a query type \(expected a domain name and a type/);
    const interval = await runDnscacheExpectingFailure({ HEALTHINTERVAL: '5000' });
    assert.match(
      interval.stderr,
      /HEALTHINTERVAL: "5000" is out of range \(expected a number of seconds from 0 \(no health checks\) to 3600\)/,
    );
  });
});
