// IPv6 end to end: dnscache listening on [::1], forwarding to an upstream
// on [::1]:port, answering over UDP and TCP, logging 32-hex-digit addresses.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { canBind } from '../lab/addresses';
import { query, records } from '../lab/client';
import { startDnscache } from './harness';
import { clientQueries, startLab, suiteScope } from './fixtures';

/** A port that is free on ::1 for both UDP and TCP right now. */
async function freeV6Port(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '::1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    if (await canBind('::1', port)) return port;
  }
}

async function v6Available(): Promise<boolean> {
  try {
    return await canBind('::1', 0);
  } catch {
    return false;
  }
}

describe('IPv6', async () => {
  const available = await v6Available();
  const scope = suiteScope();

  it(
    'listens on ::1, forwards to [::1]:port, answers over UDP and TCP',
    { skip: available ? false : '::1 cannot be bound on this machine' },
    async () => {
      const lab = await startLab(scope, { address: '::1' });
      const dns = await startDnscache(
        { upstreams: [lab], ipFiles: ['::1'], listen: { address: '::1', port: await freeV6Port() } },
        scope,
      );
      const server = { address: '::1', port: dns.port };

      const udp = await query(server, 'www.example.test', 'A', { source: '::1' });
      assert.equal(udp.packet.rcode, 'NOERROR');
      assert.deepEqual(
        records(udp.packet.answers, 'A').map((r) => r.data),
        ['192.0.2.80'],
      );
      const tcp = await query(server, 'www.example.test', 'AAAA', { source: '::1', transport: 'tcp' });
      assert.deepEqual(
        records(tcp.packet.answers, 'AAAA').map((r) => r.data),
        ['2001:db8::80'],
      );

      // The upstream saw our queries over IPv6, and the log uses C6's 32-digit form.
      assert.ok(clientQueries(lab).length >= 2);
      assert.ok(lab.queries.every((q) => q.from.address === '::1'));
      const v6hex = '0'.repeat(31) + '1';
      assert.ok(
        dns.logs.some((l) => l.startsWith(`u.query 1 ${v6hex}:`)),
        dns.logs.join('\n'),
      );
      assert.ok(
        dns.logs.some((l) => l.startsWith('tx 0 1 www.example.test. . - ' + v6hex)),
        dns.logs.join('\n'),
      );
    },
  );

  it(
    'does not answer an IPv6 client missing from ip/',
    { skip: available ? false : '::1 cannot be bound on this machine' },
    async () => {
      const lab = await startLab(scope, { address: '::1' });
      const dns = await startDnscache(
        { upstreams: [lab], ipFiles: ['127.0.0.1'], listen: { address: '::1', port: await freeV6Port() } },
        scope,
      );
      await assert.rejects(
        query({ address: '::1', port: dns.port }, 'www.example.test', 'A', { source: '::1', timeoutMs: 500 }),
        /timeout/,
      );
      assert.equal(clientQueries(lab).length, 0);
    },
  );
});
