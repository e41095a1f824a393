// MAXUDP and MAXTCP: when the table is full, the oldest query or connection
// makes room for the new one (spec §3.2, §3.3).

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { query, records, tcpSession } from '../lab/client';
import { Dnscache } from './harness';
import { freshName, queryBytes, RCODE, startLab, startSetup, suiteScope, udpRepliesTo, waitFor } from './fixtures';
import { startInProcess } from './in-process';

const scope = suiteScope();
let dns: Dnscache;

before(async () => {
  // A silent upstream keeps every forwarded query in progress.
  ({ dns } = await startSetup(scope, ['silent'], { env: { MAXUDP: '5', MAXTCP: '2' } }));
});

const escape = (s: string): string => s.replace(/[.]/g, '\\.');
const hexPort = (port: number): string => port.toString(16).padStart(4, '0');

async function assertAnswersLocalhost(): Promise<void> {
  const reply = await query(dns, 'localhost', 'A');
  assert.deepEqual(
    records(reply.packet.answers, 'A').map((r) => r.data),
    ['127.0.0.1'],
  );
}

describe('client tables', () => {
  test('MAXUDP=5: 8 queries in progress drop the 3 oldest (u.drop <n> timed out)', async () => {
    const names = Array.from({ length: 8 }, () => freshName('maxudp'));
    const mark = dns.logs.length;
    const replies = await udpRepliesTo(
      dns,
      names.map((n) => queryBytes(n, 'A')),
    );
    assert.deepEqual(replies, [], 'nothing is answered: the upstream is silent');
    const numbers = await Promise.all(
      names.map(async (n) => {
        const line = await dns.waitForLog(new RegExp(`^u\\.query \\d+ \\S+ 1 ${escape(n)}\\.$`), 3000, mark);
        return Number(line.split(' ')[1]);
      }),
    );
    const drops = await dns.waitForLogs(/^u\.drop \d+ timed out$/, 3, 3000, mark);
    assert.deepEqual(
      drops,
      numbers.slice(0, 3).map((n) => `u.drop ${n} timed out`),
    );
    assert.ok(dns.alive);
    await assertAnswersLocalhost();
    assert.deepEqual(dns.linesMatching(/^u\.drop /, mark).length, 3, 'the 5 newest are still in progress');
  });

  test('MAXTCP=2: a third connection closes the oldest one', async () => {
    const mark = dns.logs.length;
    const open = async (): Promise<Awaited<ReturnType<typeof tcpSession>>> => {
      const s = await tcpSession(dns);
      await dns.waitForLog(new RegExp(`^tcpopen 7f000001:${hexPort(s.localPort)}$`), 3000, mark);
      return s;
    };
    const first = await open();
    const second = await open();
    const firstPort = hexPort(first.localPort);
    const third = await open();
    try {
      await first.closed;
      await dns.waitForLog(new RegExp(`^tcpclose 7f000001:${firstPort} timed out$`), 3000, mark);
      for (const s of [second, third]) {
        assert.equal(s.isClosed, false);
        const reply = await s.query('localhost', 'A');
        assert.deepEqual(
          records(reply.packet.answers, 'A').map((r) => r.data),
          ['127.0.0.1'],
        );
      }
    } finally {
      await Promise.all([first, second, third].map((s) => s.close()));
    }
    assert.ok(dns.alive);
  });
});

describe('dropped queries stop their work', () => {
  test('MAXUDP=2, silent upstream: the 8 dropped resolutions send no retries', async () => {
    // In this process, the tries' timeouts on a clock the test moves.
    const lab = await startLab(scope, { behaviour: 'silent' });
    const small = await startInProcess(scope, { upstreams: [lab] }, { MAXUDP: '2', HEALTHINTERVAL: '0' });
    const names = Array.from({ length: 10 }, () => freshName('abandon'));
    const asked = (): number[] => names.map((n) => lab.queries.filter((q) => q.name.toLowerCase() === n).length);
    await udpRepliesTo(
      small,
      names.map((n) => queryBytes(n, 'A')),
    );
    // First tries go out at once; the silent upstream's 1 s timeout brings retries
    // (2 s timeout next) at 1 s - only for the 2 queries still in the table.
    await waitFor('the first tries', () => (asked().every((c) => c >= 1) ? true : undefined));
    small.clock.advance(1010); // a timeout fires up to one 10 ms tick late
    await waitFor('the retries', () => (asked().filter((c) => c >= 2).length >= 2 ? true : undefined));
    const sent = asked();
    assert.ok(
      sent.every((c) => c >= 1),
      `every question was sent once: ${sent}`,
    );
    assert.deepEqual(sent.slice(0, 8), Array(8).fill(1), `dropped questions were not retried: ${sent}`);
    assert.ok(
      sent.slice(8).every((c) => c >= 2),
      `the two kept questions were retried: ${sent}`,
    );
  });
});

describe('what enters the UDP table (spec Part B §12.2, §12.12d)', () => {
  test('MAXUDP=2, full: datagrams that are not queries push nothing out; a third query does', async () => {
    const lab = await startLab(scope, { behaviour: 'silent' });
    const small = await startInProcess(scope, { upstreams: [lab] }, { MAXUDP: '2', HEALTHINTERVAL: '0' });
    const drops = (): string[] => small.logs().filter((l) => /^u\.drop /.test(l));
    const [first, second, third] = [freshName('table'), freshName('table'), freshName('table')];
    await udpRepliesTo(small, [queryBytes(first, 'A'), queryBytes(second, 'A')]);
    await waitFor('both in progress', () => (small.service.activity.udp === 2 ? true : undefined));
    const reply = Buffer.from(queryBytes(freshName('reply'), 'A'));
    reply[2] = reply[2]! | 0x80; // QR: a response, not a query
    const notQuery = Buffer.from(queryBytes(freshName('opcode'), 'A'));
    notQuery[2] = (notQuery[2]! & 0x87) | (4 << 3); // opcode 4 (NOTIFY)
    const answered = await udpRepliesTo(small, [reply, Buffer.from([1, 2, 3, 4, 5]), notQuery]);
    assert.deepEqual(drops(), [], 'nothing was pushed out');
    assert.equal(small.service.activity.udp, 2, 'the two queries are still in progress');
    // The NOTIFY gets NOTIMP; the response and the 5 bytes get nothing.
    assert.deepEqual(
      answered.map((r) => r[3]! & 0x0f),
      [RCODE.NOTIMP],
    );
    await udpRepliesTo(small, [queryBytes(third, 'A')]);
    const firstNumber = small
      .logs()
      .find((l) => l.endsWith(` 1 ${first}.`) && l.startsWith('u.query '))!
      .split(' ')[1];
    assert.deepEqual(drops(), [`u.drop ${firstNumber} timed out`], 'the table was full: a query pushes the oldest out');
  });

  test('the EDNS count of queries in progress comes back down when they end, however they end', async () => {
    const lab = await startLab(scope, { behaviour: 'silent' });
    const small = await startInProcess(scope, { upstreams: [lab] }, { MAXUDP: '2', HEALTHINTERVAL: '0' });
    const edns = (): number => small.service.activity.edns;
    await udpRepliesTo(small, [
      queryBytes(freshName('edns'), 'A', { edns: 1232 }),
      queryBytes(freshName('edns'), 'A', { edns: 1232 }),
    ]);
    await waitFor('two EDNS queries in progress', () => (edns() === 2 ? true : undefined));
    // One is pushed out of the full table by a query without EDNS...
    await udpRepliesTo(small, [queryBytes(freshName('plain'), 'A')]);
    assert.equal(edns(), 1, 'the pushed-out query is no longer counted');
    assert.equal(small.service.activity.udp, 2);
    // ...and the rest end in SERVFAIL once the silent upstream's tries have timed out.
    await small.clock.run(120_000, 500);
    await waitFor('every query ended', () => (small.service.activity.udp === 0 ? true : undefined));
    assert.equal(edns(), 0);
  });
});
