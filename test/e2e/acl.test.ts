// The ip/ client ACL: clients not listed get silence (UDP) or a closed
// connection (TCP); `#` rejections win; changes apply without a restart.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { query, records, tcpSession } from '../lab/client';
import { Dnscache } from './harness';
import { answersUdpFrom, startSetup, suiteScope, waitFor } from './fixtures';

const scope = suiteScope();
let dns: Dnscache;
/** A loopback address that is not in ip/ (ip/ holds only 127.0.0.1): the one dnscache listens on. */
let outsider: string;

before(async () => {
  ({ dns } = await startSetup(scope));
  outsider = dns.address;
  assert.notEqual(outsider, '127.0.0.1');
});

const answersUdp = (source: string): Promise<boolean> => answersUdpFrom(dns, source);

/** Whether dnscache answers a query on a TCP connection from `source` (false: closed without a reply). */
async function answersTcp(source: string): Promise<boolean> {
  const session = await tcpSession(dns, { source });
  try {
    session.send('www.example.test', 'A');
    const reply = await session.nextRaw(2000);
    if (reply === null) return false;
    assert.ok(reply.length > 12, 'a DNS reply');
    return true;
  } finally {
    await session.close();
  }
}

const CHANGE_MS = 3000;

/** Waits until a UDP query from `source` is answered (true) or ignored (false), as `want`. */
function waitForAccess(source: string, want: boolean): Promise<true> {
  return waitFor(
    `${source} to be ${want ? 'answered' : 'ignored'}`,
    async () => ((await answersUdp(source)) === want ? true : undefined),
    CHANGE_MS,
    100,
  );
}

describe('client ACL', () => {
  test('a listed client (127.0.0.1) is answered over UDP and TCP', async () => {
    assert.equal(await answersUdp('127.0.0.1'), true);
    assert.equal(await answersTcp('127.0.0.1'), true);
  });

  test('a client not in ip/ gets no UDP reply; it is logged once (a minute), however often it asks', async () => {
    assert.equal(await answersUdp(outsider), false);
    assert.equal(await answersUdp(outsider), false);
    const hex = outsider
      .split('.')
      .map((o) => Number(o).toString(16).padStart(2, '0'))
      .join('');
    await dns.waitForLog(new RegExp(`^refused ${hex} u no ip/ entry$`));
    assert.equal(dns.linesMatching(new RegExp(`^refused ${hex} `)).length, 1);
  });

  test('a client not in ip/ has its TCP connection closed without an answer, and no tcpopen is logged', async () => {
    const mark = dns.logs.length;
    assert.equal(await answersTcp(outsider), false);
    const hex = outsider
      .split('.')
      .map((o) => Number(o).toString(16).padStart(2, '0'))
      .join('');
    assert.deepEqual(dns.linesMatching(new RegExp(`^tcpopen ${hex}:`), mark), []);
  });

  test('an ip/ file created while running lets the client in, without a restart', async () => {
    dns.addIpFile(outsider);
    await waitForAccess(outsider, true);
    const reply = await query(dns, 'www.example.test', 'A', { source: outsider });
    assert.deepEqual(
      records(reply.packet.answers, 'A').map((r) => r.data),
      ['192.0.2.80'],
    );
    assert.equal(await answersTcp(outsider), true);
  });

  test('a # rejection (here of a prefix) wins over an accepting entry, and removing it lets the client back', async () => {
    const prefix = outsider.split('.').slice(0, 3).join('.');
    dns.addIpFile(`#${prefix}`);
    await waitForAccess(outsider, false);
    assert.equal(await answersTcp(outsider), false);
    assert.equal(await answersUdp('127.0.0.1'), true, 'other clients are not affected');

    dns.removeIpFile(`#${prefix}`);
    await waitForAccess(outsider, true);
  });
});
