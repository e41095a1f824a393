// The fuzzer: a real dnscache process (FORWARDONLY) between a client that
// sends mutated queries over UDP and TCP and a hostile upstream that
// answers with mutated replies carrying poison for a zone it does not
// serve. After every batch the process must be alive and answer a fresh
// question; at the end the poisoned names must still read as the zone's
// own server says. Seeded: a failure replays with the same seed.

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { freeLoopback } from '../lab/addresses';
import { encodeQuery, query, records } from '../lab/client';
import { CleanupScope, Dnscache, serverLine, startDnscache } from '../e2e/harness';
import { freshName, startLab } from '../e2e/fixtures';
import { mutate, SeededRandom } from './mutate';

export interface FuzzOptions {
  /** Mutated client queries to send. */
  readonly queries: number;
  /** Upstream replies (all mutated or poisoned) to make dnscache receive, at least. */
  readonly replies: number;
  readonly seed: number;
  /** Queries between two checks that the process is alive and answering. */
  readonly batch?: number;
  readonly progress?: (line: string) => void;
}

export interface FuzzReport {
  readonly seed: number;
  readonly queries: number;
  readonly tcpQueries: number;
  readonly replies: number;
  readonly checks: number;
  /** Checks that found the process gone or not answering (0 or the run stopped at the first). */
  readonly failures: string[];
  /** Poisoned names that read the poisoner's data at the end. */
  readonly poisoned: string[];
}

const TYPES = ['A', 'AAAA', 'MX', 'TXT', 'NS', 'SOA', 'CNAME', 'ANY', 'PTR', 'SRV'] as const;
/** What the hostile upstream says of the zone it does not serve (example.test belongs to the control server). */
const POISON = '6.6.6.6';
const POISONED_NAMES = ['www.example.test', 'poison.example.test'];

/** A hostile upstream: every reply to a query for `fuzz.test` names is mutated, and carries poison. */
async function startHostile(
  address: string,
  seed: number,
): Promise<{ port: number; replies: () => number; stop: () => Promise<void> }> {
  const rand = new SeededRandom(seed ^ 0x5bd1e995);
  let replies = 0;
  const answer = (q: Buffer): Buffer | null => {
    let decoded: dnsPacket.DecodedPacket;
    try {
      decoded = dnsPacket.decode(q);
    } catch {
      return null;
    }
    const question = decoded.questions?.[0];
    if (!question) return null;
    const poison = POISONED_NAMES.map((name) => ({ name, type: 'A' as const, ttl: 3600, data: POISON }));
    const reply = dnsPacket.encode({
      type: 'response',
      id: decoded.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (decoded.flags ?? 0),
      questions: [question],
      answers: [
        { name: question.name, type: 'A', ttl: 300, data: `10.${rand.below(256)}.${rand.below(256)}.1` },
        ...poison.slice(0, rand.below(2)),
      ],
      authorities: [{ name: 'example.test', type: 'NS', ttl: 3600, data: 'ns.evil.fuzz.test' }],
      additionals: [...poison, { name: 'ns.evil.fuzz.test', type: 'A', ttl: 3600, data: POISON }],
    });
    replies++;
    return mutate(reply, rand);
  };
  const udp = dgram.createSocket('udp4');
  udp.on('error', () => {});
  udp.on('message', (msg, rinfo) => {
    const r = answer(msg);
    if (r) udp.send(r, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => udp.bind(0, address, resolve));
  const port = udp.address().port;
  const tcp = net.createServer((socket) => {
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const msg = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + msg.length);
        const r = answer(msg);
        if (r) {
          const framed = Buffer.alloc(2 + r.length);
          framed.writeUInt16BE(r.length & 0xffff, 0);
          r.copy(framed, 2);
          socket.write(framed);
        }
      }
    });
  });
  await new Promise<void>((resolve) => tcp.listen(port, address, resolve));
  return {
    port,
    replies: () => replies,
    stop: async () => {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}

/** The A records a name reads now at `server`, sorted, or its rcode. */
async function reads(server: { address: string; port: number }, name: string): Promise<string> {
  const r = await query(server, name, 'A', { timeoutMs: 5000 });
  const a = records(r.packet.answers, 'A')
    .map((x) => String(x.data))
    .sort();
  return a.length > 0 ? a.join(' ') : r.packet.rcode;
}

/** One mutated query (UDP, or TCP one time in ten) for a name under fuzz.test or example.test. */
function nextQuery(rand: SeededRandom, n: number): { bytes: Buffer; tcp: boolean } {
  const zone = rand.below(4) === 0 ? 'example.test' : 'fuzz.test';
  const type = TYPES[rand.below(TYPES.length)]!;
  const edns = rand.below(2) === 0 ? false : [512, 1232, 4096, 65535][rand.below(4)]!;
  const base = encodeQuery(`q${n}-${rand.below(1000)}.${zone}`, type, { edns, id: rand.below(0x10000) }).bytes;
  return { bytes: mutate(base, rand), tcp: rand.below(10) === 0 };
}

function sendTcp(dns: Dnscache, bytes: Buffer): void {
  const socket = net.connect({ host: dns.address, port: dns.port });
  socket.on('error', () => {});
  const framed = Buffer.alloc(2 + bytes.length);
  framed.writeUInt16BE(bytes.length & 0xffff, 0);
  bytes.copy(framed, 2);
  socket.end(framed);
  // Whatever comes back (or not) within a second; the connection must not linger.
  setTimeout(() => socket.destroy(), 1000).unref();
}

export async function runFuzz(opts: FuzzOptions, scope: CleanupScope): Promise<FuzzReport> {
  const batch = opts.batch ?? 500;
  const rand = new SeededRandom(opts.seed);
  const control = await startLab(scope);
  const hostileAt = await freeLoopback();
  const hostile = await startHostile(hostileAt, opts.seed);
  scope.after(() => hostile.stop());
  const dns = await startDnscache(
    {
      upstreams: [{ address: hostileAt, port: hostile.port }],
      extraServers: { 'example.test': serverLine(control) + '\n' },
    },
    scope,
  );
  // What the zone's own server says, asked directly: dnscache is asked only
  // at the end, so what it answers then comes from whatever it cached during
  // the run, poison included if any got through.
  const truth = new Map<string, string>();
  for (const name of POISONED_NAMES) truth.set(name, await reads(control, name));
  const client = dgram.createSocket('udp4');
  client.on('error', () => {});
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const failures: string[] = [];
  let sent = 0;
  let tcp = 0;
  let checks = 0;
  try {
    while ((sent < opts.queries || hostile.replies() < opts.replies) && failures.length === 0) {
      for (let i = 0; i < batch; i++, sent++) {
        const q = nextQuery(rand, sent);
        if (q.tcp) {
          tcp++;
          sendTcp(dns, q.bytes);
        } else client.send(q.bytes, dns.port, dns.address);
      }
      // Unmutated questions for fresh fuzz.test names: each one is a hostile reply.
      for (let i = 0; i < Math.ceil(opts.replies / Math.max(1, opts.queries / batch)); i++) {
        client.send(encodeQuery(`r${sent}-${i}.fuzz.test`, 'A').bytes, dns.port, dns.address);
      }
      checks++;
      try {
        const r = await query(dns, freshName('alive'), 'A', { timeoutMs: 3000 });
        if (r.packet.rcode !== 'NOERROR')
          failures.push(`after ${sent} queries: a fresh question got ${r.packet.rcode}`);
      } catch (err) {
        failures.push(
          `after ${sent} queries: ${dns.alive ? 'no answer' : 'the process exited'}: ${(err as Error).message}`,
        );
      }
      if (checks % 100 === 0)
        opts.progress?.(`fuzz: ${sent} queries (${tcp} over TCP), ${hostile.replies()} hostile replies`);
    }
  } finally {
    client.close();
  }
  const poisoned: string[] = [];
  if (failures.length === 0) {
    for (const [name, before] of truth) {
      const now = await reads(dns, name);
      if (now !== before) poisoned.push(`${name}: ${before} before, ${now} after`);
    }
  }
  return { seed: opts.seed, queries: sent, tcpQueries: tcp, replies: hostile.replies(), checks, failures, poisoned };
}
