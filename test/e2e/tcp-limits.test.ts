// One TCP client cannot make dnscache-ts start unbounded work: queries it
// pipelines in a single write are taken up at most 32 at a time, and the
// rest wait in the connection's buffer until replies complete.

import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { encodeQuery } from '../lab/client';
import { clientQueries, framed, freshName, startSetup, suiteScope, waitFor } from './fixtures';

const PIPELINED = 100;
const PER_CONNECTION = 32;

describe('TCP per-connection limits', async () => {
  const scope = suiteScope();

  it(`${PIPELINED} queries in one write: at most ${PER_CONNECTION} resolving at once, all answered`, async () => {
    const { lab, dns } = await startSetup(scope, ['slow'], { delayMs: 300 });
    const socket = net.connect({ host: dns.address, port: dns.port, localAddress: '127.0.0.1' });
    scope.after(() => socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const ids = new Set<number>();
    const batch: Buffer[] = [];
    for (let i = 0; i < PIPELINED; i++) {
      const { id, bytes } = encodeQuery(freshName('pipe'), 'A', { id: i + 1 });
      ids.add(id);
      batch.push(framed(bytes));
    }
    let answered = 0;
    let buffered = Buffer.alloc(0);
    const allAnswered = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + msg.length);
          assert.ok(ids.delete(msg.readUInt16BE(0)), 'a reply to one of our queries, once');
          if (++answered === PIPELINED) resolve();
        }
      });
    });
    socket.write(Buffer.concat(batch));

    // The upstream answers after 300 ms: until then only the first slice has gone out.
    await waitFor('resolution to start', () => (clientQueries(lab).length > 0 ? true : undefined), 3000, 10);
    assert.ok(
      clientQueries(lab).length <= PER_CONNECTION,
      `${clientQueries(lab).length} upstream queries in flight for one connection`,
    );

    await allAnswered;
    assert.equal(answered, PIPELINED);
    // Each question went upstream; by name, since on a loaded machine a 300 ms answer may outlast a try and be asked again.
    assert.equal(new Set(clientQueries(lab).map((q) => q.name.toLowerCase())).size, PIPELINED);
  });
});
