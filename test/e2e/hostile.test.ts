// Hostile upstream replies that are valid DNS but dangerous to handle: an
// answer that only fits in a message while compressed. SRV targets may not
// be compressed on output (RFC 3597 §4), so 300 SRV records pointing at one
// 250-byte target expand to ~80 KB: more than any DNS message. dnscache-ts
// must answer SERVFAIL and keep serving (this once ended the process).

import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { freeLoopback } from '../lab/addresses';
import { query } from '../lab/client';
import { startDnscache } from './harness';
import { suiteScope } from './fixtures';

const SRV = 33;
const RECORDS = 300;

/** A reply to `q` (raw query bytes) carrying RECORDS SRV records whose targets all point at one long name. */
function explodingReply(q: Buffer): Buffer {
  const qEnd = 12 + questionNameLength(q) + 4;
  const parts: Buffer[] = [Buffer.from(q.subarray(0, qEnd))];
  parts[0]!.writeUInt16BE(0x8180, 2); // QR RD RA
  parts[0]!.writeUInt16BE(RECORDS, 6);
  parts[0]!.writeUInt16BE(0, 8);
  parts[0]!.writeUInt16BE(0, 10);
  // The first record's target: four 62-byte labels under the query name.
  const label = Buffer.concat([Buffer.from([62]), Buffer.alloc(62, 0x61)]);
  const longName = Buffer.concat([label, label, label, Buffer.from([0xc0, 12])]);
  let offset = qEnd;
  let targetAt = 0;
  for (let i = 0; i < RECORDS; i++) {
    const rdataTarget = i === 0 ? longName : Buffer.from([0xc0 | (targetAt >> 8), targetAt & 0xff]);
    const rr = Buffer.alloc(2 + 10 + 6);
    rr.writeUInt16BE(0xc00c, 0); // owner: the question name
    rr.writeUInt16BE(SRV, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(300, 6);
    rr.writeUInt16BE(6 + rdataTarget.length, 10);
    rr.writeUInt16BE(i, 12); // priority
    rr.writeUInt16BE(1, 14); // weight
    rr.writeUInt16BE(5060, 16); // port
    if (i === 0) targetAt = offset + rr.length;
    parts.push(rr, rdataTarget);
    offset += rr.length + rdataTarget.length;
  }
  return Buffer.concat(parts);
}

function questionNameLength(q: Buffer): number {
  let pos = 12;
  while (q[pos] !== 0) pos += q[pos]! + 1;
  return pos + 1 - 12;
}

/** UDP: always TC (so the resolver comes over TCP); TCP: the exploding reply. */
async function startHostile(address: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const tcp = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (chunk: Buffer) => {
      const reply = explodingReply(chunk.subarray(2, 2 + chunk.readUInt16BE(0)));
      const framed = Buffer.alloc(2 + reply.length);
      framed.writeUInt16BE(reply.length, 0);
      reply.copy(framed, 2);
      socket.end(framed);
    });
  });
  await new Promise<void>((resolve) => tcp.listen(0, address, resolve));
  const port = (tcp.address() as net.AddressInfo).port;
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const qEnd = 12 + questionNameLength(msg) + 4;
    const tc = Buffer.from(msg.subarray(0, qEnd));
    tc.writeUInt16BE(0x8380, 2); // QR TC RD RA
    tc.writeUInt16BE(0, 10);
    udp.send(tc, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => udp.bind(port, address, resolve));
  return {
    port,
    stop: () => new Promise((resolve) => udp.close(() => tcp.close(() => resolve()))),
  };
}

describe('hostile upstream replies', async () => {
  const scope = suiteScope();

  it('an answer too big for any DNS message gets SERVFAIL, and dnscache keeps serving', async () => {
    const address = await freeLoopback();
    const hostile = await startHostile(address);
    scope.after(() => hostile.stop());
    const dns = await startDnscache({ upstreams: [{ address, port: hostile.port }] }, scope);
    const server = { address: dns.address, port: dns.port };

    const reply = await query(server, '_sip._udp.big.example.test', 'SRV', { transport: 'tcp', timeoutMs: 5000 });
    assert.equal(reply.packet.rcode, 'SERVFAIL');
    assert.equal((reply.packet.answers ?? []).length, 0);
    // Still alive and answering.
    const after = await query(server, 'localhost', 'A');
    assert.equal(after.packet.rcode, 'NOERROR');
    assert.equal(dns.process.exitCode, null);
  });
});
