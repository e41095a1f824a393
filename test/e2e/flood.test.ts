// Bounds under a flood: new names as fast as a client can send them, at
// upstreams that never answer. A question dropped from its client slot
// (MAXUDP) cancels its upstream try at once, so the sockets open upstream
// stay under the slots (README: Bounds) instead of piling up until their
// timeouts; and a cached name is answered all through. Forwarding and
// iterating alike; the counts are read from /proc, not timed.

import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { encodeQuery, query, records } from '../lab/client';
import { Dnscache, serverLine, startDnscache } from './harness';
import { freshName, startLab, suiteScope } from './fixtures';
import { startIterative, startTree } from './iterate-fixtures';

const MAXUDP = 50;
const FLOOD = 3000;
/** Sockets a dnscache holds besides upstream tries: listeners, the addon's epoll set, stdio, the log... */
const SLACK = 25;

function openFiles(dns: Dnscache): number {
  return fs.readdirSync(`/proc/${dns.process.pid}/fd`).length;
}

function rss(dns: Dnscache): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${dns.process.pid}/status`, 'latin1'));
  return Number(m![1]) * 1024;
}

/**
 * Sends FLOOD queries for new names under `zone` in batches, reading the
 * open-file count after each, and asks `cached` halfway: it must be
 * answered from the cache while the flood goes on.
 */
async function flood(
  dns: Dnscache,
  zone: string,
  cached: string,
): Promise<{ maxFiles: number; cachedAnswer: string[] }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let maxFiles = 0;
  let cachedAnswer: string[] = [];
  try {
    for (let sent = 0; sent < FLOOD;) {
      for (let i = 0; i < 100; i++, sent++)
        socket.send(encodeQuery(`f${sent}-${process.pid}.${zone}`, 'A').bytes, dns.port, dns.address);
      await new Promise((resolve) => setImmediate(resolve));
      maxFiles = Math.max(maxFiles, openFiles(dns));
      if (sent === FLOOD / 2) {
        const reply = await query(dns, cached, 'A', { timeoutMs: 2000 });
        cachedAnswer = records(reply.packet.answers, 'A').map((r) => String(r.data));
      }
    }
  } finally {
    socket.close();
  }
  return { maxFiles, cachedAnswer };
}

describe('bounds under a flood', () => {
  const scope = suiteScope();

  it('forwarding to a silent upstream: open files stay under MAXUDP + slack; a cached name is answered', async () => {
    const silent = await startLab(scope, { behaviour: 'silent' });
    const answering = await startLab(scope);
    const dns = await startDnscache(
      {
        upstreams: [silent],
        extraServers: { 'example.test': serverLine(answering) + '\n' },
        env: { MAXUDP: String(MAXUDP) },
      },
      scope,
    );
    const cached = freshName('cached');
    assert.equal((await query(dns, cached, 'A')).packet.rcode, 'NOERROR');
    const before = { files: openFiles(dns), rss: rss(dns) };
    const { maxFiles, cachedAnswer } = await flood(dns, 'flood.test', cached);
    assert.ok(
      maxFiles <= before.files + MAXUDP + SLACK,
      `open files peaked at ${maxFiles} (before the flood ${before.files}, MAXUDP ${MAXUDP})`,
    );
    assert.ok(cachedAnswer.length > 0, 'the cached name was answered during the flood');
    assert.ok(silent.queries.length > MAXUDP, `the flood reached the upstream (${silent.queries.length} queries)`);
    assert.ok(rss(dns) - before.rss < 64 * 1024 * 1024, `RSS grew by ${((rss(dns) - before.rss) / 1e6).toFixed(1)} MB`);
  });

  it('iterating into a zone whose servers are silent: the same bound', async () => {
    const h = await startTree(scope);
    const dns = await startIterative(h, scope, { env: { MAXUDP: String(MAXUDP) } });
    assert.equal((await query(dns, 'www.example.test', 'A', { timeoutMs: 5000 })).packet.rcode, 'NOERROR');
    const before = { files: openFiles(dns), rss: rss(dns) };
    const { maxFiles, cachedAnswer } = await flood(dns, 'alldead.test', 'www.example.test');
    assert.ok(
      maxFiles <= before.files + MAXUDP + SLACK,
      `open files peaked at ${maxFiles} (before the flood ${before.files}, MAXUDP ${MAXUDP})`,
    );
    assert.deepEqual(cachedAnswer, ['192.0.2.80']);
    assert.ok(
      h.server('alldead1').queries.length + h.server('alldead2').queries.length > MAXUDP,
      'the flood reached the silent servers',
    );
    assert.ok(rss(dns) - before.rss < 64 * 1024 * 1024, `RSS grew by ${((rss(dns) - before.rss) / 1e6).toFixed(1)} MB`);
  });
});
