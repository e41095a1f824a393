// A DNS client for tests, over real loopback sockets.
//
// `query` behaves like a careful stub (it drops datagrams that are not a
// reply to its question) so tests can aim it at a resolver or a lab server
// and read the decoded answer. `sendRaw` and `tcpSession` give byte-level
// control for tests about malformed input, pipelining and idle timeouts.

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { assertLoopback, defaultSource } from './addresses';

export interface Endpoint {
  address: string;
  port: number;
}

export interface QueryOptions {
  transport?: 'udp' | 'tcp';
  /** Default 3000. */
  timeoutMs?: number;
  /** Advertised EDNS UDP payload size; false (default) sends no OPT record. */
  edns?: number | false;
  /** Recursion desired, default true. */
  rd?: boolean;
  /** Checking disabled (RFC 4035 §3.2.2), default false. */
  cd?: boolean;
  /** Message ID, default random. */
  id?: number;
  /** Local address to bind (loopback only); default 127.0.0.1 or ::1. */
  source?: string;
  /** Default 'IN'. */
  qclass?: string;
}

export interface RawOptions {
  transport?: 'udp' | 'tcp';
  /** Default 3000. */
  timeoutMs?: number;
  source?: string;
}

/** dns-packet's decoded packet, plus the header fields its typings leave out. */
export type DecodedReply = dnsPacket.DecodedPacket & { rcode: string; opcode: string };

export interface Reply {
  packet: DecodedReply;
  raw: Buffer;
}

const DEFAULT_TIMEOUT = 3000;

/** Accepts 'TYPE65' (RFC 3597 spelling) as well as dns-packet names. */
function wireType(type: string): string {
  const m = /^TYPE(\d+)$/i.exec(type);
  return m ? `UNKNOWN_${m[1]}` : type.toUpperCase();
}

/** Encodes a query; exported so tests can tamper with the bytes before `sendRaw`. */
export function encodeQuery(
  name: string,
  type: string,
  opts: Pick<QueryOptions, 'edns' | 'rd' | 'cd' | 'id' | 'qclass'> = {},
): { id: number; bytes: Buffer } {
  const id = opts.id ?? Math.floor(Math.random() * 0x10000);
  const edns = opts.edns ?? false;
  const bytes = dnsPacket.encode({
    type: 'query',
    id,
    flags: (opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED) | (opts.cd ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [
      { name, type: wireType(type) as dnsPacket.RecordType, class: (opts.qclass ?? 'IN') as dnsPacket.RecordClass },
    ],
    additionals:
      edns === false
        ? []
        : [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: edns,
              extendedRcode: 0,
              ednsVersion: 0,
              flags: 0,
              flag_do: false,
              options: [],
            },
          ],
  });
  return { id, bytes };
}

export function decodeReply(raw: Buffer): DecodedReply {
  return dnsPacket.decode(raw) as DecodedReply;
}

/** A decoded record with `data` loosened, so tests can compare it without narrowing the union. */
export interface PlainRecord {
  name: string;
  type: string;
  ttl?: number;
  // `any` on purpose: each test knows the shape it asked for.
  data?: any;
}

/** The records of one section (optionally of one type), e.g. `records(reply.packet.answers, 'A')`. */
export function records(section: dnsPacket.Answer[] | undefined, type?: string): PlainRecord[] {
  return ((section ?? []) as PlainRecord[]).filter((r) => type === undefined || r.type === type);
}

function timeoutError(what: string, server: Endpoint, ms: number): Error {
  return new Error(`timeout: no reply to ${what} from ${server.address}:${server.port} within ${ms} ms`);
}

function frame(msg: Buffer): Buffer {
  const out = Buffer.alloc(2 + msg.length);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}

/** Opens a UDP socket towards `server`, bound to a loopback source (never a wildcard address). */
export async function openUdp(server: Endpoint, source: string | undefined): Promise<dgram.Socket> {
  assertLoopback(server.address, 'server address');
  const local = source ?? defaultSource(server.address);
  assertLoopback(local, 'source address');
  const sock = dgram.createSocket(net.isIPv6(server.address) ? 'udp6' : 'udp4');
  // Bind explicitly so the socket never listens on a wildcard address.
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: local, port: 0 }, () => {
      sock.removeListener('error', reject);
      resolve();
    });
  });
  sock.on('error', () => undefined);
  return sock;
}

function openTcp(server: Endpoint, source: string | undefined): Promise<net.Socket> {
  assertLoopback(server.address, 'server address');
  const local = source ?? defaultSource(server.address);
  assertLoopback(local, 'source address');
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: server.address, port: server.port, localAddress: local });
    sock.setNoDelay(true);
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.removeListener('error', reject);
      sock.on('error', () => undefined); // a reset shows up as 'close', which callers watch
      resolve(sock);
    });
  });
}

/** Splits a TCP byte stream into DNS messages (RFC 7766 length framing). */
function onFrames(sock: net.Socket, deliver: (msg: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  sock.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const len = pending.readUInt16BE(0);
      if (pending.length < 2 + len) break;
      const msg = Buffer.from(pending.subarray(2, 2 + len));
      pending = pending.subarray(2 + len);
      deliver(msg);
    }
  });
}

function sameQuestion(reply: DecodedReply, name: string, type: string, qclass: string): boolean {
  const q = reply.questions ?? [];
  // Some servers omit the question in FORMERR/NOTIMP replies; the ID has to suffice then.
  if (q.length === 0) return true;
  return (
    q.length === 1 &&
    q[0]!.name.toLowerCase().replace(/\.$/, '') === name.toLowerCase().replace(/\.$/, '') &&
    q[0]!.type === wireType(type) &&
    String(q[0]!.class ?? 'IN') === qclass.toUpperCase()
  );
}

/**
 * Sends one query and resolves with the reply. Over UDP, datagrams from other
 * addresses, with another ID, or for another question are ignored (as a stub
 * must); a reply with the right ID that does not decode rejects with
 * 'malformed reply'. No reply in time rejects with a 'timeout' error.
 */
export async function query(server: Endpoint, name: string, type: string, opts: QueryOptions = {}): Promise<Reply> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT;
  const { id, bytes } = encodeQuery(name, type, opts);
  const what = `${name}/${type}`;
  if (opts.transport === 'tcp') {
    const session = await tcpSession(server, { source: opts.source });
    try {
      return await session.query(name, type, { ...opts, id, timeoutMs });
    } finally {
      void session.close();
    }
  }
  const sock = await openUdp(server, opts.source);
  try {
    return await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(timeoutError(what, server, timeoutMs)), timeoutMs);
      const settle = (fn: () => void): void => {
        clearTimeout(timer);
        fn();
      };
      sock.on('message', (raw, rinfo) => {
        if (rinfo.address !== server.address || rinfo.port !== server.port) return;
        if (raw.length < 12 || raw.readUInt16BE(0) !== id || (raw.readUInt16BE(2) & 0x8000) === 0) return;
        let packet: DecodedReply;
        try {
          packet = decodeReply(raw);
        } catch (err) {
          settle(() => reject(new Error(`malformed reply to ${what}: ${(err as Error).message}`)));
          return;
        }
        if (!sameQuestion(packet, name, type, opts.qclass ?? 'IN')) return;
        settle(() => resolve({ packet, raw }));
      });
      sock.send(bytes, server.port, server.address, (err) => {
        if (err) settle(() => reject(err));
      });
    });
  } finally {
    sock.close();
  }
}

/**
 * Sends `bytes` as they are and resolves with the first reply, or null on
 * timeout (or, for TCP, when the connection closes first). For TCP the caller
 * supplies the 2-byte length prefix; the reply comes back without it.
 */
export async function sendRaw(server: Endpoint, bytes: Buffer, opts: RawOptions = {}): Promise<Buffer | null> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT;
  if (opts.transport === 'tcp') {
    const session = await tcpSession(server, { source: opts.source });
    try {
      session.write(bytes);
      return await session.nextRaw(timeoutMs).catch(() => null);
    } finally {
      void session.close();
    }
  }
  const sock = await openUdp(server, opts.source);
  try {
    return await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      sock.once('message', (raw) => {
        clearTimeout(timer);
        resolve(raw);
      });
      sock.send(bytes, server.port, server.address);
    });
  } finally {
    sock.close();
  }
}

type Waiter = { wants: (msg: Buffer) => boolean; deliver: (msg: Buffer | null) => void };

/**
 * One TCP connection carrying many queries. Replies are queued in arrival
 * order; `next`/`nextRaw` take the oldest, `query` takes the one with its ID
 * (servers may answer pipelined queries out of order, RFC 7766 §6.2.1.1).
 */
export class TcpSession {
  /** Resolves when the connection is closed by either side. */
  readonly closed: Promise<void>;
  private isOpen = true;
  private readonly queue: Buffer[] = [];
  private readonly waiters: Waiter[] = [];

  constructor(
    private readonly sock: net.Socket,
    private readonly server: Endpoint,
  ) {
    this.closed = new Promise((resolve) => {
      sock.once('close', () => {
        this.isOpen = false;
        for (const w of this.waiters.splice(0)) w.deliver(null);
        resolve();
      });
    });
    onFrames(sock, (msg) => {
      const i = this.waiters.findIndex((w) => w.wants(msg));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.deliver(msg);
      else this.queue.push(msg);
    });
  }

  get isClosed(): boolean {
    return !this.isOpen;
  }

  get localPort(): number {
    return this.sock.localPort ?? 0;
  }

  /** Writes bytes as given (no framing added): for split or malformed writes. */
  write(bytes: Buffer): void {
    if (this.isOpen) this.sock.write(bytes);
  }

  /** Sends a framed query without waiting; returns its ID. */
  send(name: string, type: string, opts: Omit<QueryOptions, 'transport' | 'source' | 'timeoutMs'> = {}): number {
    const { id, bytes } = encodeQuery(name, type, opts);
    this.write(frame(bytes));
    return id;
  }

  /** The next reply in arrival order; null if the connection closed; rejects on timeout. */
  nextRaw(timeoutMs = DEFAULT_TIMEOUT): Promise<Buffer | null> {
    return this.take(() => true, timeoutMs, 'the next message');
  }

  async next(timeoutMs = DEFAULT_TIMEOUT): Promise<Reply | null> {
    const raw = await this.nextRaw(timeoutMs);
    return raw === null ? null : { packet: decodeReply(raw), raw };
  }

  /** Sends a query and waits for the reply with its ID; rejects on timeout or close. */
  async query(name: string, type: string, opts: Omit<QueryOptions, 'transport' | 'source'> = {}): Promise<Reply> {
    const id = this.send(name, type, opts);
    const raw = await this.take(
      (m) => m.length >= 2 && m.readUInt16BE(0) === id,
      opts.timeoutMs ?? DEFAULT_TIMEOUT,
      `${name}/${type}`,
    );
    if (raw === null) throw new Error(`connection closed before the reply to ${name}/${type}`);
    try {
      return { packet: decodeReply(raw), raw };
    } catch (err) {
      throw new Error(`malformed reply to ${name}/${type}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Closes our side and waits for the socket to be gone. */
  close(): Promise<void> {
    this.sock.destroy();
    return this.closed;
  }

  private take(wants: (m: Buffer) => boolean, timeoutMs: number, what: string): Promise<Buffer | null> {
    const i = this.queue.findIndex(wants);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]!);
    if (!this.isOpen) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        wants,
        deliver: (msg) => {
          clearTimeout(timer);
          resolve(msg);
        },
      };
      const timer = setTimeout(() => {
        const k = this.waiters.indexOf(waiter);
        if (k >= 0) this.waiters.splice(k, 1);
        reject(timeoutError(what, this.server, timeoutMs));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

export async function tcpSession(server: Endpoint, opts: { source?: string | undefined } = {}): Promise<TcpSession> {
  return new TcpSession(await openTcp(server, opts.source), server);
}
