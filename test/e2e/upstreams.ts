// Upstream processes for forwarding tests (test/lab/responder.ts) and a
// client that asks for many fresh names.

import assert from 'node:assert/strict';
import { freeLoopback } from '../lab/addresses';
import { query } from '../lab/client';
import { Responder } from '../lab/responders';
import { CleanupScope, Dnscache } from './harness';

const UPSTREAM_PORT = 5399;
let serial = 0;

/** `delays.length` responder processes on free loopback addresses, stopped with `scope`. */
export async function responders(scope: CleanupScope, delays: number[]): Promise<Responder[]> {
  const list = await Promise.all(
    delays.map(async (d) => new Responder(await freeLoopback(UPSTREAM_PORT), UPSTREAM_PORT, d)),
  );
  scope.after(() => Promise.all(list.map((r) => r.kill())));
  await Promise.all(list.map((r) => r.start()));
  return list;
}

/** `count` questions for fresh names (cache misses), `parallel` at a time; every one must be answered. */
export async function askMany(dns: Dnscache, count: number, parallel = 1, tag = 'p'): Promise<void> {
  const prefix = `${tag}${serial++}-${process.pid}`;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const reply = await query(dns, `n${next++}.${prefix}.pool.test`, 'A', { timeoutMs: 5000 });
      assert.equal(reply.packet.rcode, 'NOERROR');
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}
