// The health state machine on an injected clock, the checker's verdicts on
// real loopback replies, and the HEALTHQUERY/HEALTHINTERVAL settings.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { parseEnv } from '../../src/config';
import { Random } from '../../src/random/random';
import { TYPE } from '../../src/wire/constants';
import { nameFromText, ROOT } from '../../src/wire/name';
import { HealthChecker } from '../../src/transport/health-check';
import { DOWN_AFTER_FAILED_CHECKS, DOWN_AFTER_TIMEOUTS, HealthTable } from '../../src/transport/health';
import { CANCELLED, Endpoint } from '../../src/transport/udp';
import { TimeoutWheel } from '../../src/transport/timeouts';
import { ManualClock } from '../clock';
import { waitFor } from '../e2e/fixtures';

const S = { address: '127.0.0.1', port: 53 };
const REPLY = { kind: 'reply' as const, bytes: Buffer.alloc(12), rttMs: 1 };

describe('HealthTable', () => {
  it('down after three failed checks in a row, up after one good check; changes are reported', () => {
    const changes: string[] = [];
    const h = new HealthTable(
      1000,
      () => 0,
      (server, state, why) => changes.push(`${server} ${state} ${why}`),
    );
    assert.equal(DOWN_AFTER_FAILED_CHECKS, 3);
    h.checked(S, false, 'timed out');
    h.checked(S, false, 'timed out');
    assert.equal(h.up(S), true);
    h.checked(S, true); // a success in between starts the count again
    h.checked(S, false, 'x');
    h.checked(S, false, 'x');
    assert.equal(h.up(S), true);
    h.checked(S, false, 'rcode 2');
    assert.equal(h.up(S), false);
    h.checked(S, true);
    assert.equal(h.up(S), true);
    assert.deepEqual(changes, [
      '127.0.0.1:53 down 3 failed checks in a row (rcode 2)',
      '127.0.0.1:53 up a check succeeded',
    ]);
  });

  it('down after a run of client-query timeouts with no answer between; a cancelled try says nothing', () => {
    const h = new HealthTable(1000, () => 0);
    for (let i = 1; i < DOWN_AFTER_TIMEOUTS; i++) h.clientOutcome(S, { kind: 'timeout' });
    h.clientOutcome(S, REPLY);
    for (let i = 1; i < DOWN_AFTER_TIMEOUTS; i++) h.clientOutcome(S, { kind: 'timeout' });
    h.clientOutcome(S, CANCELLED);
    assert.equal(h.up(S), true);
    h.clientOutcome(S, { kind: 'timeout' });
    assert.equal(h.up(S), false);
  });

  it('checks are due while idle (no client answer for an interval) or failing, one at a time', () => {
    let now = 10_000;
    const h = new HealthTable(1000, () => now);
    assert.equal(h.due(S), true, 'never answered: idle');
    h.clientOutcome(S, REPLY);
    assert.equal(h.due(S), false, 'just answered a client');
    now += 999;
    assert.equal(h.due(S), false);
    now += 1;
    assert.equal(h.due(S), true);
    h.checkStarted(S);
    assert.equal(h.due(S), false, 'one check in flight at most');
    h.checked(S, false, 'x');
    h.clientOutcome(S, REPLY);
    assert.equal(h.due(S), true, 'failing: checked even while answering');
  });

  it('forced up or down wins over the checks until auto', () => {
    const h = new HealthTable(1000, () => 0);
    h.force(S, 'down');
    assert.equal(h.up(S), false);
    h.checked(S, true);
    assert.equal(h.up(S), false);
    for (let i = 0; i < 3; i++) h.checked(S, false, 'x');
    h.force(S, 'up');
    assert.equal(h.up(S), true);
    h.force(S, 'auto');
    assert.equal(h.up(S), false, 'the checks say down');
  });
});

/** A loopback UDP server answering each query with `reply(query)`, or nothing when it returns null. */
async function fakeUpstream(reply: (q: Buffer) => Buffer | null): Promise<{ server: Endpoint; close: () => void }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (q, peer) => {
    const r = reply(q);
    if (r) socket.send(r, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { server: { address: '127.0.0.1', port: socket.address().port, family: 4 }, close: () => socket.close() };
}

/** The query echoed as a response with RCODE `rcode`. */
const echo =
  (rcode: number) =>
  (q: Buffer): Buffer => {
    const r = Buffer.from(q);
    r[2] = r[2]! | 0x80;
    r[3] = (r[3]! & 0xf0) | rcode;
    return r;
  };

async function oneCheck(
  reply: (q: Buffer) => Buffer | null,
  intervalMs = 200,
): Promise<{ failed: number; seen: string[] }> {
  const seen: string[] = [];
  let silent = false;
  const up = await fakeUpstream((q) => {
    seen.push(q.subarray(12, 17).toString('hex'));
    const r = reply(q);
    silent = r === null;
    return r;
  });
  const clock = new ManualClock();
  const table = new HealthTable(intervalMs, () => clock.now());
  const checker = new HealthChecker(table, () => [up.server], {
    name: ROOT,
    type: TYPE.SOA,
    sendFrom: { v4: '127.0.0.1', v6: '::1' },
    random: new Random(null),
    timeouts: new TimeoutWheel(clock),
  });
  checker.tick();
  checker.tick(); // one in flight at most
  const checkEnded = (): true | undefined => (table.snapshot(up.server).checking ? undefined : true);
  await waitFor('the check to reach the upstream', () => (seen.length > 0 ? true : undefined));
  // A silent upstream: the check's time runs out (it waits under an interval), now rather than after a sleep.
  if (silent) clock.advance(intervalMs);
  await waitFor('the check to end', checkEnded);
  up.close();
  return { failed: table.snapshot(up.server).checksFailed, seen };
}

describe('HealthChecker', () => {
  it('asks `. SOA` once per tick at most; NOERROR and NXDOMAIN pass, SERVFAIL, REFUSED and silence fail', async () => {
    const ok = await oneCheck(echo(0));
    assert.deepEqual(ok, { failed: 0, seen: ['0000060001'] });
    assert.equal((await oneCheck(echo(3))).failed, 0);
    assert.equal((await oneCheck(echo(2))).failed, 1);
    assert.equal((await oneCheck(echo(5))).failed, 1);
    assert.equal((await oneCheck(() => null)).failed, 1);
  });
});

describe('HEALTHQUERY, HEALTHINTERVAL', () => {
  const base = { IP: '127.0.0.1', ROOT: '/tmp' };
  it('default to `. SOA` every second; 0 turns checks off', () => {
    assert.deepEqual(parseEnv(base).health, { name: ROOT, type: TYPE.SOA, intervalMs: 1000 });
    assert.equal(parseEnv({ ...base, HEALTHINTERVAL: '0' }).health, null);
    assert.deepEqual(parseEnv({ ...base, HEALTHQUERY: 'Example.COM aaaa', HEALTHINTERVAL: '5' }).health, {
      name: nameFromText('example.com'),
      type: TYPE.AAAA,
      intervalMs: 5000,
    });
    assert.equal(parseEnv({ ...base, HEALTHQUERY: 'x TYPE65' }).health!.type, 65);
  });
  it('name the variable, the value and what was expected', () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [
        { HEALTHQUERY: '.' },
        /^HEALTHQUERY: "\." is not a name and a type \(expected a domain name and a type, e\.g\. "\. SOA"/,
      ],
      [{ HEALTHQUERY: '. SOA x' }, /^HEALTHQUERY: "\. SOA x" is not a name and a type/],
      [{ HEALTHQUERY: '. OPT' }, /^HEALTHQUERY: "OPT" is not a query type/],
      [{ HEALTHQUERY: 'a..b A' }, /^HEALTHQUERY: "a\.\.b" is not a domain name/],
      [
        { HEALTHINTERVAL: '-1' },
        /^HEALTHINTERVAL: "-1" is not a decimal number \(expected a number of seconds from 0 \(no health checks\) to 3600\)/,
      ],
    ];
    for (const [env, re] of bad)
      assert.throws(
        () => parseEnv({ ...base, ...env }),
        (e: Error) => e.name === 'ConfigError' && re.test(e.message),
        JSON.stringify(env),
      );
  });
});
