// A programmable authoritative DNS server for end-to-end tests.
//
// It speaks real DNS over real loopback sockets (UDP and TCP on the same
// port) so the resolver under test exercises exactly the code paths it uses
// on the Internet, and it can misbehave on cue (`behaviour`) to drive the
// resolver's error handling. Everything it received is logged in `queries`.

import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { assertLoopback } from './addresses';
import { DEFAULT_TTL, LabRecord, LabZone, canonical, isAtOrBelow, parentOf, validateZone } from './zone';

export type Behaviour =
  | 'answer' // answer authoritatively (default)
  | 'silent' // log the query, never reply (TCP connections stay open)
  | 'truncate' // UDP: always TC=1 with empty sections; TCP: the full answer
  | 'garbage-first' // UDP: junk, wrong-ID reply, wrong-question reply, then the real answer
  | 'slow' // the normal reply, after `delayMs`
  | 'servfail'
  | 'refused'
  | 'malformed' // header and question intact, ANCOUNT promises records that are cut off
  | 'lame-referral' // every query: an upward referral to the root (NS for '.', no SOA, no answer, AA=0)
  | 'non-authoritative' // the normal reply (and any injection) with AA=0: a server that is not, or says it is not, the zone's
  | 'nodata-ns-only' // NODATA with the zone's own NS in authority and no SOA (RFC 2308 type 3), AA=1
  | 'no-question' // a bare header: right ID, QR, NOERROR, QDCOUNT 0 and no records
  | 'bad-opcode' // the normal answer, question included, with opcode BAD_REPLY_OPCODE instead of the query's
  | 'no-edns'; // FORMERR (question echoed, no OPT) to any query carrying OPT; the normal answer to one without

/** The opcode a 'bad-opcode' server puts in its replies (2, STATUS: never what a resolver asks with). */
export const BAD_REPLY_OPCODE = 2;

/** The NS target of a 'lame-referral' reply (the lab hierarchy's first root server). */
export const LAME_REFERRAL_TARGET = 'a.root-servers.lab';

/** Records a server appends to the sections of every reply it sends (a "poisoner"). */
export interface Injection {
  answer?: LabRecord[];
  authority?: LabRecord[];
  additional?: LabRecord[];
}

export type Transport = 'udp' | 'tcp';

export interface LoggedQuery {
  transport: Transport;
  /** The question name exactly as received (case preserved, no trailing dot). */
  name: string;
  /** dns-packet type name, e.g. 'A' or 'UNKNOWN_65'. */
  type: string;
  id: number;
  rd: boolean;
  /** EDNS UDP payload size the client advertised, null without an OPT record. */
  edns: number | null;
  from: { address: string; port: number };
  /** When it arrived (performance.now(), ms). */
  at: number;
}

export interface LabServerOptions {
  address: string;
  /** 0 or omitted: an ephemeral port, the same for UDP and TCP. */
  port?: number;
  zones: LabZone[];
  behaviour?: Behaviour | undefined;
  /** Delay used by the 'slow' behaviour, default 1500 ms. */
  delayMs?: number | undefined;
  recursionAvailable?: boolean;
  /** Records appended to every reply's sections, e.g. out-of-bailiwick data to test cache poisoning. */
  inject?: Injection | undefined;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;
/** The payload size we advertise; RFC 9715 / DNS flag day 2020 value. */
const OUR_EDNS_SIZE = 1232;
/** RFC 1035 limit for UDP replies when the client sent no OPT. */
const PLAIN_UDP_LIMIT = 512;
const MAX_CNAME_HOPS = 8;
const PORT_ATTEMPTS = 10;

type Answer = dnsPacket.Answer;

/** The authoritative result before it is put on the wire. */
export interface Outcome {
  rcode: number;
  aa: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

interface ParsedQuery {
  id: number;
  opcode: number;
  rd: boolean;
  name: string;
  type: string;
  qclass: string;
  /** Raw question bytes, echoed verbatim so the reply matches the query byte for byte (0x20 case included). */
  questionBytes: Buffer;
  edns: number | null;
}

type Parse = { kind: 'ignore' } | { kind: 'formerr'; reply: Buffer } | { kind: 'query'; query: ParsedQuery };

// --- authoritative lookup ------------------------------------------------

const empty = (): Outcome => ({ rcode: RCODE.NOERROR, aa: true, answers: [], authorities: [], additionals: [] });

function toAnswer(r: LabRecord, owner = r.name): Answer {
  return { name: owner, type: r.type.toUpperCase(), class: 'IN', ttl: r.ttl ?? DEFAULT_TTL, data: r.data } as Answer;
}

function recordsAt(zone: LabZone, name: string): LabRecord[] {
  return zone.records.filter((r) => canonical(r.name) === name);
}

/** A name exists if it owns records or has descendants that do (empty non-terminals exist). */
function nameExists(zone: LabZone, name: string): boolean {
  return zone.records.some((r) => isAtOrBelow(canonical(r.name), name));
}

function findZone(zones: LabZone[], qname: string): LabZone | undefined {
  let best: LabZone | undefined;
  for (const z of zones) {
    const o = canonical(z.origin);
    if (isAtOrBelow(qname, o) && (!best || o.length > canonical(best.origin).length)) best = z;
  }
  return best;
}

/**
 * The zone cut closest to the apex at or above `name`, if any. The topmost
 * one wins because everything below it belongs to the child zone. A DS query
 * at the cut itself is the parent's to answer (RFC 4035 §3.1.4.1).
 */
function delegationAbove(zone: LabZone, origin: string, name: string, qtype: string): string | null {
  const chain: string[] = [];
  for (let n: string | null = name; n !== null && n !== origin; n = parentOf(n)) chain.unshift(n);
  for (const n of chain) {
    if (n === name && qtype === 'DS') continue;
    if (recordsAt(zone, n).some((r) => r.type.toUpperCase() === 'NS')) return n;
  }
  return null;
}

function referral(zone: LabZone, origin: string, cut: string): Outcome {
  const nsRecords = recordsAt(zone, cut).filter((r) => r.type.toUpperCase() === 'NS');
  const glue: Answer[] = [];
  for (const r of nsRecords) {
    const target = canonical(String(r.data));
    if (!isAtOrBelow(target, origin)) continue;
    for (const g of recordsAt(zone, target)) {
      const t = g.type.toUpperCase();
      if (t === 'A' || t === 'AAAA') glue.push(toAnswer(g));
    }
  }
  return {
    rcode: RCODE.NOERROR,
    aa: false,
    answers: [],
    authorities: nsRecords.map((r) => toAnswer(r)),
    additionals: glue,
  };
}

/** NXDOMAIN/NODATA: SOA in authority with the RFC 2308 negative TTL min(TTL, MINIMUM). */
function negative(zone: LabZone, origin: string, rcode: number, answers: Answer[]): Outcome {
  const soaRecord = recordsAt(zone, origin).find((r) => r.type.toUpperCase() === 'SOA');
  const authorities: Answer[] = [];
  if (soaRecord) {
    const ttl = soaRecord.ttl ?? DEFAULT_TTL;
    const minimum = typeof soaRecord.data?.minimum === 'number' ? soaRecord.data.minimum : ttl;
    authorities.push({ ...toAnswer(soaRecord), ttl: Math.min(ttl, minimum) } as Answer);
  }
  return { rcode, aa: true, answers, authorities, additionals: [] };
}

/** A record of `type` owned by a proper ancestor of `name` inside the zone (a DNAME above it), or null. */
function rrsAbove(zone: LabZone, origin: string, name: string, type: string): LabRecord | null {
  for (let n = parentOf(name); n !== null && isAtOrBelow(n, origin); n = parentOf(n)) {
    const found = recordsAt(zone, n).find((r) => r.type.toUpperCase() === type);
    if (found) return found;
  }
  return null;
}

/** Records synthesized from `*.<closest encloser>` (RFC 4592), owned by the name asked. */
function wildcard(zone: LabZone, origin: string, name: string, owner: string): LabRecord[] {
  let encloser: string | null = parentOf(name);
  while (encloser !== null && isAtOrBelow(encloser, origin) && !nameExists(zone, encloser))
    encloser = parentOf(encloser);
  if (encloser === null || !isAtOrBelow(encloser, origin)) return [];
  const source = encloser === '' ? '*' : `*.${encloser}`;
  return recordsAt(zone, source).map((r) => ({ ...r, name: owner }));
}

/** Answers `qname`/`qtype` from `zones` the way an authoritative server would. */
export function lookup(zones: LabZone[], qname: string, qtype: string): Outcome {
  const zone = findZone(zones, canonical(qname));
  if (!zone) return { ...empty(), rcode: RCODE.REFUSED, aa: false };
  const origin = canonical(zone.origin);
  const type = qtype.toUpperCase();
  const answers: Answer[] = [];
  let owner = qname;
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const name = canonical(owner);
    const cut = delegationAbove(zone, origin, name, type);
    // A CNAME pointing into a child zone ends the chase: the resolver must ask the child.
    if (cut !== null) return hop === 0 ? referral(zone, origin, cut) : { ...empty(), answers };
    const dname = rrsAbove(zone, origin, name, 'DNAME');
    if (dname !== null) {
      // RFC 6672: the DNAME, the CNAME it makes of the name asked, then on to the target.
      const target = canonical(String(dname.data));
      const dnameOwner = canonical(dname.name);
      const next = name.slice(0, name.length - dnameOwner.length) + target;
      answers.push(toAnswer(dname), toAnswer({ name: owner, type: 'CNAME', ttl: dname.ttl, data: next }));
      if (!isAtOrBelow(next, origin)) break;
      owner = next;
      continue;
    }
    let rrs = recordsAt(zone, name);
    if (rrs.length === 0 && !nameExists(zone, name)) {
      rrs = wildcard(zone, origin, name, owner);
      if (rrs.length === 0) return negative(zone, origin, RCODE.NXDOMAIN, answers);
    }
    const matching = type === 'ANY' ? rrs : rrs.filter((r) => r.type.toUpperCase() === type);
    if (matching.length > 0) return { ...empty(), answers: [...answers, ...matching.map((r) => toAnswer(r))] };
    const alias = type === 'CNAME' ? undefined : rrs.find((r) => r.type.toUpperCase() === 'CNAME');
    if (!alias) return negative(zone, origin, RCODE.NOERROR, answers);
    answers.push(toAnswer(alias));
    const target = String(alias.data);
    if (!isAtOrBelow(canonical(target), origin)) break;
    owner = target;
  }
  return { ...empty(), answers };
}

// --- wire helpers ---------------------------------------------------------

/** Offset just past the first question; throws if it runs off the message. */
function questionEnd(msg: Buffer): number {
  let pos = 12;
  for (;;) {
    if (pos >= msg.length) throw new Error('question runs past end');
    const len = msg[pos]!;
    if (len === 0) {
      pos += 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      pos += 2;
      break;
    }
    pos += 1 + len;
  }
  if (pos + 4 > msg.length) throw new Error('question runs past end');
  return pos + 4;
}

function headerOnlyReply(id: number, flags: number, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(FLAG_QR | (flags & 0x7900) | rcode, 2); // keep opcode and RD
  return out;
}

function parseQuery(msg: Buffer): Parse {
  if (msg.length < 12) return { kind: 'ignore' };
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  // Never answer a response: two lab servers pointed at each other must not loop.
  if (flags & FLAG_QR) return { kind: 'ignore' };
  const formerr: Parse = { kind: 'formerr', reply: headerOnlyReply(id, flags, RCODE.FORMERR) };
  if (msg.readUInt16BE(4) !== 1) return formerr;
  let decoded: dnsPacket.DecodedPacket;
  let end: number;
  try {
    decoded = dnsPacket.decode(msg);
    end = questionEnd(msg);
  } catch {
    return formerr;
  }
  const q = decoded.questions?.[0];
  if (!q) return formerr;
  const opt = decoded.additionals?.find((r): r is dnsPacket.OptAnswer => r.type === 'OPT');
  return {
    kind: 'query',
    query: {
      id,
      opcode: (flags >> 11) & 0xf,
      rd: (flags & FLAG_RD) !== 0,
      name: q.name,
      type: q.type,
      qclass: String(q.class ?? 'IN'),
      questionBytes: Buffer.from(msg.subarray(12, end)),
      edns: opt ? opt.udpPayloadSize : null,
    },
  };
}

// --- the server -----------------------------------------------------------

export class LabServer {
  /** Switch at any time; applies to queries that arrive afterwards. */
  behaviour: Behaviour;
  delayMs: number;
  recursionAvailable: boolean;
  /** Appended to every reply's sections; switch or clear (undefined) at any time. */
  inject: Injection | undefined;
  /** Live zone data: tests may edit records between queries. */
  zones: LabZone[];
  readonly queries: LoggedQuery[] = [];

  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    readonly address: string,
    readonly port: number,
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server,
    opts: LabServerOptions,
  ) {
    this.zones = opts.zones;
    this.behaviour = opts.behaviour ?? 'answer';
    this.delayMs = opts.delayMs ?? 1500;
    this.recursionAvailable = opts.recursionAvailable ?? false;
    this.inject = opts.inject;
    udp.on('message', (msg, rinfo) => {
      const from = { address: rinfo.address, port: rinfo.port };
      void this.handle(msg, 'udp', from, (reply) => this.sendUdp(reply, from));
    });
    tcp.on('connection', (socket) => this.onConnection(socket));
  }

  static async start(opts: LabServerOptions): Promise<LabServer> {
    assertLoopback(opts.address, 'server address');
    opts.zones.forEach(validateZone);
    const wanted = opts.port ?? 0;
    for (let attempt = 0; ; attempt++) {
      const udp = await bindUdp(opts.address, wanted);
      const port = udp.address().port;
      try {
        const tcp = await listenTcp(opts.address, port);
        return new LabServer(opts.address, port, udp, tcp, opts);
      } catch (err) {
        await new Promise<void>((resolve) => udp.close(() => resolve()));
        // An ephemeral UDP port may be taken for TCP; just draw another one.
        const retry = wanted === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < PORT_ATTEMPTS;
        if (!retry) throw err;
      }
    }
  }

  resetQueries(): void {
    this.queries.length = 0;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
    ]);
  }

  // Socket handlers must never throw: a bad packet is the test's input, not a lab crash.
  private async handle(
    msg: Buffer,
    transport: Transport,
    from: LoggedQuery['from'],
    send: (reply: Buffer) => Promise<void>,
  ): Promise<void> {
    try {
      const parsed = parseQuery(msg);
      if (parsed.kind === 'ignore') return;
      const behaviour = this.behaviour;
      if (parsed.kind === 'formerr') {
        if (behaviour !== 'silent') await send(parsed.reply);
        return;
      }
      const q = parsed.query;
      this.queries.push({
        transport,
        name: q.name,
        type: q.type,
        id: q.id,
        rd: q.rd,
        edns: q.edns,
        from,
        at: performance.now(),
      });
      if (behaviour === 'silent') return;
      const replies = this.replies(q, transport, behaviour);
      if (behaviour === 'slow' && !(await this.sleep(this.delayMs))) return;
      for (const r of replies) await send(r);
    } catch (err) {
      // Malformed input never gets here (parseQuery absorbs it); this is a lab bug, so say why nothing was sent.
      process.stderr.write(`lab server ${this.address}:${this.port}: no reply: ${(err as Error).message}\n`);
    }
  }

  /** The datagrams/messages to send for one query, in order. */
  private replies(q: ParsedQuery, transport: Transport, behaviour: Behaviour): Buffer[] {
    const opt: Answer[] =
      q.edns === null
        ? []
        : [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: OUR_EDNS_SIZE,
              extendedRcode: 0,
              ednsVersion: 0,
              flags: 0,
              flag_do: false,
              options: [],
            },
          ];
    if (behaviour === 'no-question')
      return [headerOnlyReply(q.id, (q.opcode << 11) | (q.rd ? FLAG_RD : 0), RCODE.NOERROR)];
    // As RFC 6891 §7 expects of a server that does not know EDNS: FORMERR, and no OPT in it.
    if (behaviour === 'no-edns' && q.edns !== null)
      return [this.encode(q, { ...empty(), aa: false, rcode: RCODE.FORMERR }, false, [])];
    let outcome: Outcome;
    if (behaviour === 'servfail') outcome = { ...empty(), aa: false, rcode: RCODE.SERVFAIL };
    else if (behaviour === 'refused') outcome = { ...empty(), aa: false, rcode: RCODE.REFUSED };
    else if (behaviour === 'lame-referral')
      outcome = {
        ...empty(),
        aa: false,
        authorities: [toAnswer({ name: '.', type: 'NS', data: LAME_REFERRAL_TARGET })],
      };
    else if (q.opcode !== 0) outcome = { ...empty(), aa: false, rcode: RCODE.NOTIMP };
    else if (q.qclass !== 'IN' && q.qclass !== 'ANY') outcome = { ...empty(), aa: false, rcode: RCODE.REFUSED };
    else outcome = lookup(this.zones, q.name, q.type);
    if (this.inject) outcome = withInjection(outcome, this.inject);
    if (behaviour === 'non-authoritative') outcome = { ...outcome, aa: false };
    if (behaviour === 'nodata-ns-only' && outcome.rcode === RCODE.NOERROR && outcome.answers.length === 0) {
      const zone = findZone(this.zones, canonical(q.name));
      if (zone)
        outcome = {
          ...outcome,
          authorities: recordsAt(zone, canonical(zone.origin))
            .filter((r) => r.type.toUpperCase() === 'NS')
            .map((r) => toAnswer(r)),
        };
    }

    const full = this.encode(q, outcome, false, opt);
    if (behaviour === 'malformed') return [cutOff(full, q.questionBytes.length)];
    if (behaviour === 'bad-opcode') return [withOpcode(full, BAD_REPLY_OPCODE)];
    if (transport === 'tcp') return [full];

    const limit = q.edns === null ? PLAIN_UDP_LIMIT : Math.max(PLAIN_UDP_LIMIT, q.edns);
    // The OPT stays in a truncated reply: it tells the client we speak EDNS (RFC 6891 §7).
    const truncate = behaviour === 'truncate' || full.length > limit;
    const final = truncate
      ? this.encode(q, { ...outcome, answers: [], authorities: [], additionals: [] }, true, opt)
      : full;
    if (behaviour !== 'garbage-first') return [final];
    // Decoys are NXDOMAIN so a resolver that wrongly accepts one fails visibly.
    const junk = randomBytes(8); // shorter than a header: can never be mistaken for a reply
    const wrongId = this.encode(
      { ...q, id: (q.id + 0x1234) & 0xffff },
      { ...empty(), rcode: RCODE.NXDOMAIN },
      false,
      opt,
    );
    const wrongQuestion = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: FLAG_AA | (q.rd ? FLAG_RD : 0) | RCODE.NXDOMAIN,
      questions: [
        { name: `wrong-question.${q.name}`.replace(/\.$/, ''), type: q.type as dnsPacket.RecordType, class: 'IN' },
      ],
    });
    return [junk, wrongId, wrongQuestion, final];
  }

  private encode(q: ParsedQuery, o: Outcome, tc: boolean, opt: Answer[]): Buffer {
    const flags =
      (q.opcode << 11) |
      (o.aa ? FLAG_AA : 0) |
      (tc ? FLAG_TC : 0) |
      (q.rd ? FLAG_RD : 0) |
      (this.recursionAvailable ? FLAG_RA : 0) |
      o.rcode;
    const body = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags,
      questions: [],
      answers: o.answers,
      authorities: o.authorities,
      additionals: [...o.additionals, ...opt],
    });
    // dns-packet never compresses, so splicing the raw question in shifts nothing that matters.
    const out = Buffer.concat([body.subarray(0, 12), q.questionBytes, body.subarray(12)]);
    out.writeUInt16BE(1, 4);
    return out;
  }

  private sendUdp(reply: Buffer, to: LoggedQuery['from']): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      try {
        this.udp.send(reply, to.port, to.address, () => resolve());
      } catch {
        resolve();
      }
    });
  }

  private onConnection(socket: net.Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true); // pipelined replies must not wait for Nagle
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
    const from = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const send = (reply: Buffer): Promise<void> => {
      if (socket.destroyed || !socket.writable || reply.length > 0xffff) return Promise.resolve();
      const frame = Buffer.alloc(2 + reply.length);
      frame.writeUInt16BE(reply.length, 0);
      reply.copy(frame, 2);
      socket.write(frame);
      return Promise.resolve();
    };
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = Buffer.from(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
        void this.handle(msg, 'tcp', from, send);
      }
    });
  }

  /** Resolves true after `ms`, or never if the server stops first (its timer is cleared). */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve(!this.stopped);
      }, ms);
      this.timers.add(t);
    });
  }
}

function withInjection(o: Outcome, inject: Injection): Outcome {
  const extra = (rs: LabRecord[] | undefined): Answer[] => (rs ?? []).map((r) => toAnswer(r));
  return {
    ...o,
    answers: [...o.answers, ...extra(inject.answer)],
    authorities: [...o.authorities, ...extra(inject.authority)],
    additionals: [...o.additionals, ...extra(inject.additional)],
  };
}

function withOpcode(reply: Buffer, opcode: number): Buffer {
  const out = Buffer.from(reply);
  out[2] = (out[2]! & 0x87) | (opcode << 3);
  return out;
}

/** Keeps header and question, claims at least one answer, and drops all but a stub of the rest. */
function cutOff(full: Buffer, questionLength: number): Buffer {
  const keep = 12 + questionLength;
  const out = Buffer.from(full.subarray(0, Math.min(full.length, keep + 3)));
  out.writeUInt16BE(Math.max(1, full.readUInt16BE(6)), 6);
  return out;
}

function bindUdp(address: string, port: number): Promise<dgram.Socket> {
  const sock = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      try {
        sock.close();
      } catch {
        /* already closed */
      }
      reject(err);
    };
    sock.once('error', onError);
    sock.bind({ address, port, exclusive: true }, () => {
      sock.removeListener('error', onError);
      sock.on('error', () => undefined); // e.g. ICMP errors: irrelevant to an authoritative server
      resolve(sock);
    });
  });
}

function listenTcp(address: string, port: number): Promise<net.Server> {
  const server = net.createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.removeListener('error', reject);
      server.on('error', () => undefined);
      resolve(server);
    });
  });
}
