// The log lines on stderr, in dnscache's C6 forms (spec §8), which existing
// dnscache log tooling parses.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { query, tcpSession } from '../lab/client';
import { LabServer } from '../lab/server';
import { Dnscache } from './harness';
import { startSetup, suiteScope } from './fixtures';

const scope = suiteScope();
let lab: LabServer;
let dns: Dnscache;
let labHex: string;

before(async () => {
  ({ lab, dns } = await startSetup(scope));
  labHex = hexIp(lab.address);
});

function hexIp(address: string): string {
  return address
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('');
}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/** The lines logged from `mark` on that match each pattern, in that order (one line per pattern). */
function inOrder(mark: number, patterns: RegExp[]): string[] {
  const lines = dns.logs.slice(mark);
  const found: string[] = [];
  let from = 0;
  for (const re of patterns) {
    const i = lines.findIndex((l, k) => k >= from && re.test(l));
    assert.ok(i >= 0, `no line matching ${re} after ${JSON.stringify(found)} in:\n${lines.join('\n')}`);
    found.push(lines[i]!);
    from = i + 1;
  }
  return found;
}

describe('log lines', () => {
  test('starting names the listening address and the UDP size', () => {
    assert.match(
      dns.logs[0]!,
      new RegExp(
        `^starting dnscache listening on ip ${hexIp(dns.address)} sending queries from ip 00000000 udp maxsize = 1232$`,
      ),
    );
  });

  test('a forwarded query: u.query, tx, rr, stats, u.sent', async () => {
    const mark = dns.logs.length;
    const reply = await query(dns, 'www.example.test', 'A', { id: 0xabcd });
    await dns.waitForLog(/^u\.sent /, 3000, mark);
    const [q, , , , sent] = inOrder(mark, [
      /^u\.query \d+ 7f000001:[0-9a-f]{4}:abcd 1 www\.example\.test\.$/,
      new RegExp(`^tx 0 1 www\\.example\\.test\\. \\. - ${labHex}$`),
      new RegExp(`^rr ${labHex} 300 1 www\\.example\\.test\\. c0000250$`), // 192.0.2.80
      /^stats \d+ \d+ \d+ \d+ \d+$/,
      /^u\.sent \d+ \d+$/,
    ]);
    const n = q!.split(' ')[1];
    assert.equal(sent, `u.sent ${n} ${reply.raw.length}`);
  });

  test('a cached repeat: cached 1 <name>, nothing sent upstream', async () => {
    await query(dns, 'www.example.test', 'A');
    const mark = dns.logs.length;
    const reply = await query(dns, 'www.example.test', 'A');
    await dns.waitForLog(/^u\.sent /, 3000, mark);
    const [q, , sent] = inOrder(mark, [/^u\.query \d+ /, /^cached 1 www\.example\.test\.$/, /^u\.sent /]);
    assert.equal(sent, `u.sent ${q!.split(' ')[1]} ${reply.raw.length}`);
    assert.deepEqual(dns.linesMatching(/^tx /, mark), []);
  });

  test('negative answers: nxdomain <server> <ttl> <name>, nodata <server> <ttl> <type> <name>', async () => {
    const mark = dns.logs.length;
    await query(dns, 'nosuch.example.test', 'A');
    await query(dns, 'www.example.test', 'MX');
    await dns.waitForLog(new RegExp(`^nodata ${labHex} 300 15 www\\.example\\.test\\.$`), 3000, mark);
    inOrder(mark, [new RegExp(`^nxdomain ${labHex} 300 nosuch\\.example\\.test\\.$`), /^nodata /]);
  });

  test('TCP: tcpopen, t.query, t.sent, tcpclose <ip>:<port> broken pipe', async () => {
    const mark = dns.logs.length;
    const session = await tcpSession(dns);
    const port = hex4(session.localPort);
    const reply = await session.query('localhost', 'A', { id: 0x0102 });
    await session.close();
    await dns.waitForLog(/^tcpclose /, 3000, mark);
    const [, q, sent] = inOrder(mark, [
      new RegExp(`^tcpopen 7f000001:${port}$`),
      new RegExp(`^t\\.query \\d+ 7f000001:${port}:0102 1 localhost\\.$`),
      /^t\.sent \d+ \d+$/,
      new RegExp(`^tcpclose 7f000001:${port} broken pipe$`),
    ]);
    assert.equal(sent, `t.sent ${q!.split(' ')[1]} ${reply.raw.length}`);
  });
});
