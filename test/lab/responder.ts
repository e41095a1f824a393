// A stand-alone upstream cache for forwarding tests and benchmarks: a real
// process (so a test can kill it and start it again) answering every query
// on loopback, UDP and TCP: A with 192.0.2.1, SOA at the root (the health
// check's default question), NODATA for anything else; RA set. Optionally
// after a delay. It counts what it answered and tells on SIGUSR2 (stdout
// "queries N"), so a benchmark can see each upstream's share.
// Usage: node dist/test/lab/responder.js ADDRESS PORT [DELAY_MS]

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { assertLoopback } from './addresses';

const [address = '127.0.0.1', portText = '5399', delayText = '0'] = process.argv.slice(2);
assertLoopback(address, "the responder's address");
const port = Number(portText);
const delayMs = Number(delayText);
let queries = 0;
/** `. SOA` queries (health checks), counted apart. */
let checks = 0;

/** The reply to `query`, counted, or null for something that is not a query. */
function answer(query: Buffer): Buffer | null {
  let q: dnsPacket.DecodedPacket;
  try {
    q = dnsPacket.decode(query);
  } catch {
    return null;
  }
  const question = q.questions?.[0];
  if (q.type !== 'query' || question === undefined) return null;
  if (question.type === 'SOA' && (question.name === '' || question.name === '.')) checks++;
  else queries++;
  const answers: dnsPacket.Answer[] = [];
  if (question.type === 'A') answers.push({ type: 'A', name: question.name, ttl: 300, data: '192.0.2.1' });
  if (question.type === 'SOA' && (question.name === '' || question.name === '.')) {
    answers.push({
      type: 'SOA',
      name: '',
      ttl: 300,
      data: {
        mname: 'ns.lab',
        rname: 'hostmaster.lab',
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: 300,
      },
    });
  }
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [question],
    answers,
  });
}

function later(fn: () => void): void {
  if (delayMs > 0) setTimeout(fn, delayMs);
  else fn();
}

const udp = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
udp.on('message', (msg, peer) => {
  const reply = answer(msg);
  if (reply === null) return;
  later(() => udp.send(reply, peer.port, peer.address));
});

const tcp = net.createServer((socket) => {
  let buffered = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
      buffered = buffered.subarray(2 + msg.length);
      const reply = answer(msg);
      if (reply === null) continue;
      const framed = Buffer.concat([Buffer.from([reply.length >> 8, reply.length & 0xff]), reply]);
      later(() => socket.writable && socket.write(framed));
    }
  });
});

let bound = 0;
const ready = (): void => {
  if (++bound === 2) process.stdout.write(`ready ${address} ${port}\n`);
};
udp.bind(port, address, ready);
tcp.listen(port, address, ready);
process.on('SIGUSR2', () => process.stdout.write(`queries ${queries} checks ${checks}\n`));
const stop = (): void => {
  udp.close();
  tcp.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
