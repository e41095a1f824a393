// One UDP try against one server, over real loopback sockets: the random
// source port (and what happens when it is taken), the reply, decoys, an
// ICMP-refused server and a silent one; and askServers over such tries.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, Socket } from 'node:dgram';
import { realClock } from '../../src/platform/clock';
import { Random } from '../../src/random/random';
import { RttTable } from '../../src/transport/rtt';
import { TimeoutWheel } from '../../src/transport/timeouts';
import { Endpoint, startDgramTry, startNativeTry, TryStarter, udpTry as anyTry } from '../../src/transport/udp';
import { askServers, Judge, TryBudget, UpstreamOptions } from '../../src/transport/upstream';
import { ManualClock } from '../clock';
import { n } from './helpers';

/** A Random whose ports come from a list, then from the real generator. */
function portsFrom(ports: number[]): Random {
  const r = new Random(null);
  const real = r.port.bind(r);
  r.port = () => ports.shift() ?? real();
  return r;
}

async function bound(port = 0): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(port, '127.0.0.1', resolve));
  return s;
}

/** An echo server answering every datagram with `reply(query)` (or nothing for null). */
async function server(
  reply: (q: Buffer) => Buffer[] | null,
): Promise<{ port: number; sources: number[]; close(): void }> {
  const s = await bound();
  const sources: number[] = [];
  s.on('message', (msg, peer) => {
    sources.push(peer.port);
    for (const out of reply(msg) ?? []) s.send(out, peer.port, peer.address);
  });
  return { port: s.address().port, sources, close: () => s.close() };
}

const QUERY = Buffer.from('0102abcd', 'hex');

const starters: Array<[string, TryStarter | null]> = [
  ['node:dgram', startDgramTry],
  ['native addon', startNativeTry],
];

for (const [way, start] of starters)
  describe(`udpTry (${way})`, { skip: start ? false : 'the native addon is not built' }, () => {
    const udpTry = (
      server: Endpoint,
      query: Buffer,
      from: string,
      ms: number,
      random: Random,
      accept: (b: Buffer) => boolean,
      timeouts = new TimeoutWheel(realClock),
    ) => anyTry(server, query, from, ms, random, accept, timeouts, start!);

    it('binds a random port, retries one that is taken, and returns the accepted reply', async () => {
      const taken = await bound();
      const srv = await server((q) => [Buffer.from('junk'), Buffer.concat([q, Buffer.from('!')])]);
      try {
        const wanted = 20000 + Math.floor(Math.random() * 20000);
        const r = await udpTry(
          { address: '127.0.0.1', port: srv.port, family: 4 },
          QUERY,
          '127.0.0.1',
          2000,
          portsFrom([taken.address().port, wanted]),
          (b) => b.length === 5,
        );
        assert.equal(r.kind, 'reply');
        assert.deepEqual(r.kind === 'reply' && r.bytes, Buffer.concat([QUERY, Buffer.from('!')]));
        // The taken port was skipped for the next random one.
        assert.deepEqual(srv.sources, [wanted]);
      } finally {
        taken.close();
        srv.close();
      }
    });

    it('a refused port (ICMP unreachable) is an error at once, not a timeout', async () => {
      const closed = await bound();
      const port = closed.address().port;
      closed.close();
      const t0 = Date.now();
      const r = await udpTry(
        { address: '127.0.0.1', port, family: 4 },
        QUERY,
        '127.0.0.1',
        3000,
        new Random(null),
        () => true,
      );
      assert.equal(r.kind, 'error');
      assert.match(r.kind === 'error' ? r.message : '', /ECONNREFUSED/);
      assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
    });

    it('a silent server: timeout after the given time, not before', async () => {
      const srv = await server(() => null);
      const clock = new ManualClock();
      try {
        let result: string | null = null;
        const trying = udpTry(
          { address: '127.0.0.1', port: srv.port, family: 4 },
          QUERY,
          '127.0.0.1',
          150,
          new Random(null),
          () => true,
          new TimeoutWheel(clock),
        ).then((r) => (result = r.kind));
        for (let i = 0; i < 500 && srv.sources.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(srv.sources.length, 1, 'the query arrived');
        clock.advance(149);
        await new Promise((r) => setImmediate(r));
        assert.equal(result, null, 'still waiting 1 ms before the timeout');
        // The wheel fires up to one 10 ms tick late, never early.
        clock.advance(11);
        await trying;
        assert.equal(result, 'timeout');
      } finally {
        srv.close();
      }
    });

    it('100 tries at once each get their own reply, and their sockets are reused', async () => {
      // Answers each query with itself reversed: a try accepts only its own.
      const srv = await server((q) => [Buffer.from(q).reverse()]);
      try {
        for (let round = 0; round < 3; round++) {
          // 100: more than a batch, and what the test server's default receive buffer holds.
          const queries = Array.from({ length: 100 }, (_, i) => Buffer.from(`r${round}q${i}`));
          const results = await Promise.all(
            queries.map((q) => {
              const want = Buffer.from(q).reverse();
              return udpTry(
                { address: '127.0.0.1', port: srv.port, family: 4 },
                q,
                '127.0.0.1',
                3000,
                new Random(null),
                (b) => b.equals(want),
              );
            }),
          );
          results.forEach((r, i) =>
            assert.deepEqual(r.kind === 'reply' && r.bytes.toString(), Buffer.from(queries[i]!).reverse().toString()),
          );
          const ports = srv.sources.splice(0);
          assert.equal(new Set(ports).size, 100, 'a source port was used twice at once');
        }
      } finally {
        srv.close();
      }
    });

    it('an address it cannot send from is an error', async () => {
      const r = await udpTry(
        { address: '127.0.0.1', port: 53, family: 4 },
        QUERY,
        '192.0.2.1',
        1000,
        new Random(null),
        () => true,
      );
      assert.equal(r.kind, 'error');
    });
  });

describe('askServers', () => {
  const echoAnswer = (q: Buffer): Buffer[] => {
    const r = Buffer.from(q);
    r[2] = r[2]! | 0x80; // QR: our own question, answered
    return [r];
  };
  const question = { name: n('www.example.test'), type: 1, rd: true };
  const options = (): UpstreamOptions => ({
    sendFrom: { v4: '127.0.0.1', v6: '::1' },
    random: new Random(null),
    rtt: new RttTable(),
    timeouts: new TimeoutWheel(realClock),
  });
  const budget = (take = (): boolean => true): TryBudget => ({ remainingMs: () => 3000, take });

  it('passes over a server the judge refuses and settles with the next one', async () => {
    const a = await server(echoAnswer);
    const b = await server(echoAnswer);
    try {
      const servers: Endpoint[] = [
        { address: '127.0.0.1', port: a.port, family: 4 },
        { address: '127.0.0.1', port: b.port, family: 4 },
      ];
      const judge: Judge<string> = (_m, s) =>
        s.port === a.port ? { use: false, reason: 'refused by the judge' } : { use: true, value: 'ok' };
      const r = await askServers(servers, question, options(), budget(), judge);
      assert.equal(r.kind, 'response');
      assert.equal(r.kind === 'response' && r.server.port, b.port);
      assert.equal(a.sources.length, 1);
      const none = await askServers(servers.slice(0, 1), question, options(), budget(), judge);
      assert.deepEqual(none, { kind: 'failed', reason: 'refused by the judge' });
    } finally {
      a.close();
      b.close();
    }
  });

  it('a judge that throws rejects the question (it runs in a socket handler: nothing escapes)', async () => {
    const a = await server(echoAnswer);
    try {
      const boom: Judge<never> = () => {
        throw new Error('judge bug');
      };
      await assert.rejects(
        askServers([{ address: '127.0.0.1', port: a.port, family: 4 }], question, options(), budget(), boom),
        /judge bug/,
      );
    } finally {
      a.close();
    }
  });

  describe('a server that refuses EDNS (FORMERR or NOTIMP, no OPT)', () => {
    const hasOpt = (q: Buffer): boolean => q.readUInt16BE(10) === 1;
    /** A header-only FORMERR (as some old servers send) to queries with OPT; `plain` answers the others. */
    const noEdns =
      (plain: (q: Buffer) => Buffer[]) =>
      (q: Buffer): Buffer[] =>
        hasOpt(q) ? [Buffer.from([q[0]!, q[1]!, 0x80 | (q[2]! & 0x79), 0x81, 0, 0, 0, 0, 0, 0, 0, 0])] : plain(q);
    const seen = (queries: Buffer[]): boolean[] => queries.map(hasOpt);

    it('is asked again at once without OPT, a try like any other, and remembered for the next question', async () => {
      const queries: Buffer[] = [];
      const a = await server((q) => (queries.push(q), noEdns(echoAnswer)(q)));
      try {
        const opts = options();
        let takes = 0;
        const servers: Endpoint[] = [{ address: '127.0.0.1', port: a.port, family: 4 }];
        const r = await askServers(
          servers,
          question,
          opts,
          budget(() => (takes++, true)),
          () => ({ use: true, value: 1 }),
        );
        assert.equal(r.kind, 'response');
        assert.deepEqual(seen(queries), [true, false]);
        assert.equal(takes, 2, 'the second query is charged to the budget');
        assert.equal(opts.rtt.noEdns.has(servers[0]!), true);
        await askServers(servers, question, opts, budget(), () => ({ use: true, value: 1 }));
        assert.deepEqual(seen(queries), [true, false, false]);
      } finally {
        a.close();
      }
    });

    it('one that also refuses the plain query is passed over and not remembered', async () => {
      const queries: Buffer[] = [];
      const formerr = (q: Buffer): Buffer[] => {
        const r = echoAnswer(q)[0]!;
        r[3] = 0x81;
        return [r];
      };
      const a = await server((q) => (queries.push(q), noEdns(formerr)(q)));
      try {
        const opts = options();
        const servers: Endpoint[] = [{ address: '127.0.0.1', port: a.port, family: 4 }];
        const judge: Judge<number> = (m) =>
          m.rcode === 0 ? { use: true, value: 1 } : { use: false, reason: `rcode ${m.rcode}` };
        assert.deepEqual(await askServers(servers, question, opts, budget(), judge), {
          kind: 'failed',
          reason: 'rcode 1',
        });
        assert.deepEqual(seen(queries), [true, false], 'asked once more, not again and again');
        assert.equal(opts.rtt.noEdns.has(servers[0]!), false);
      } finally {
        a.close();
      }
    });

    it('the retry stops at the work budget like any try', async () => {
      const queries: Buffer[] = [];
      const a = await server((q) => (queries.push(q), noEdns(echoAnswer)(q)));
      try {
        let takes = 0;
        const r = await askServers(
          [{ address: '127.0.0.1', port: a.port, family: 4 }],
          question,
          options(),
          budget(() => ++takes <= 1),
          () => ({ use: true, value: 1 }),
        );
        assert.deepEqual(r, { kind: 'failed', reason: 'work limit reached' });
        assert.deepEqual(seen(queries), [true]);
      } finally {
        a.close();
      }
    });
  });

  it('stops before sending anything once the work budget says no', async () => {
    const a = await server(echoAnswer);
    try {
      const r = await askServers(
        [{ address: '127.0.0.1', port: a.port, family: 4 }],
        question,
        options(),
        budget(() => false),
        () => ({ use: true, value: 1 }),
      );
      assert.deepEqual(r, { kind: 'failed', reason: 'work limit reached' });
      assert.equal(a.sources.length, 0);
    } finally {
      a.close();
    }
  });
});
