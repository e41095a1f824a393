// dnscache's log lines (spec §8, C6 forms), one per event, on standard error.
// Existing dnscache-log tooling parses these, so field order and encodings
// (hex addresses, hex ports and IDs, '?' for odd bytes in names) are kept.

import { isIPv4 } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { LogFormat } from '../config/env';
import { HEADER_LENGTH, TYPE } from '../wire/constants';
import { rcodeName, typeName } from '../wire/mnemonics';
import { writeLatin1 } from '../wire/latin1';
import { Name } from '../wire/name';

export type Transport = 'u' | 't';

/**
 * How a tx went out: plain DNS, DNSCurve in the streamlined or the TXT
 * format, or plain after UZ5FALLBACK encrypted tries went unanswered.
 */
export type TxMode = 'plain' | 'streamlined' | 'txt' | 'fallback';

/**
 * The tx line's qualification field, where djbdnscurve6 puts '-' (plain)
 * and '+' (DNSCurve): we add '*' for the TXT format and '~' for a fallback.
 */
export const TX_FLAG: Readonly<Record<TxMode, string>> = { plain: '-', streamlined: '+', txt: '*', fallback: '~' };

/**
 * Where finished lines go; batched so a burst of events costs one write.
 * Besides whole lines it takes bytes written in place (reserve, then
 * commit), so the per-query lines of a cache hit are formatted straight
 * into the output without building strings.
 */
export interface LineSink {
  write(line: string): void;
  /** A buffer with at least `n` free bytes from `used` on. */
  reserve(n: number): Buffer;
  /** Where the next byte goes in the buffer `reserve` returned. */
  readonly used: number;
  /** The bytes up to `end` are finished lines (each ending in a newline). */
  commit(end: number): void;
}

/**
 * Writes lines to a stream, flushing once per event-loop turn (still one
 * line per event). Lines go straight into a byte slab - they are ASCII by
 * construction (names print odd bytes as '?') - so each line is copied once,
 * and a burst of queries costs one write. Flushed bytes are handed to the
 * stream as a view and never written again (a pipe may still be sending
 * them); the slab is only replaced when full, not at every flush.
 */
export class StreamSink implements LineSink {
  private slab = Buffer.allocUnsafe(SLAB_SIZE);
  /** Bytes before `start` were handed to the stream; lines go after `used`. */
  private start = 0;
  used = 0;
  private scheduled = false;

  /**
   * `atomic`: each write is whole lines and at most PIPE_BUF bytes, which a
   * pipe takes in one piece; with WORKERS processes writing to one log
   * pipe, their lines then never interleave mid-line.
   */
  constructor(
    private readonly stream: NodeJS.WritableStream = process.stderr,
    private readonly atomic = false,
  ) {}

  write(line: string): void {
    const slab = this.reserve(line.length + 1);
    let o = this.used;
    o += writeLatin1(slab, line, o);
    slab[o++] = 0x0a;
    this.commit(o);
  }

  reserve(n: number): Buffer {
    if (this.used + n > this.slab.length) {
      this.flush();
      // Only a full slab is replaced: flushed bytes may still be in flight.
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n));
      this.start = this.used = 0;
    }
    return this.slab;
  }

  commit(end: number): void {
    this.used = end;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.used === this.start) return;
    if (this.atomic) {
      while (this.used - this.start > PIPE_BUF) {
        // The last line end within PIPE_BUF bytes; a single longer line (a
        // tx line for a hundred servers, say) goes out whole, as one write.
        let end = this.slab.lastIndexOf(0x0a, this.start + PIPE_BUF - 1) + 1;
        if (end <= this.start) end = this.slab.indexOf(0x0a, this.start) + 1;
        this.stream.write(this.slab.subarray(this.start, end));
        this.start = end;
      }
    }
    this.stream.write(this.slab.subarray(this.start, this.used));
    this.start = this.used;
  }
}

const SLAB_SIZE = 64 * 1024;
/**
 * Linux's PIPE_BUF: a write of at most this much to a pipe is never
 * interleaved with another. POSIX only promises 512; on a system with less
 * than 4096, lines of WORKERS processes could interleave (dnscache-ts is
 * built and tested on Linux).
 */
const PIPE_BUF = 4096;

/** Collects lines in memory, for tests: the same sink as in production, over a stream kept in memory. */
export class MemorySink extends StreamSink {
  private readonly chunks: Buffer[];

  constructor() {
    const chunks: Buffer[] = [];
    super({ write: (b: Buffer) => chunks.push(Buffer.from(b)) > 0 } as unknown as NodeJS.WritableStream);
    this.chunks = chunks;
  }

  /** Every line written so far. */
  get lines(): string[] {
    this.flush();
    const text = Buffer.concat(this.chunks).toString('latin1');
    return text === '' ? [] : text.slice(0, -1).split('\n');
  }
}

const HEX = '0123456789abcdef';
const HEX_BYTES = Buffer.from(HEX, 'latin1');

function hex2(b: number): string {
  return HEX[b >> 4]! + HEX[b & 15]!;
}

export function hex4(n: number): string {
  return hex2((n >> 8) & 0xff) + hex2(n & 0xff);
}

/** Client addresses repeat: their hex forms are memoised (bounded) for the per-query lines. */
const hexMemo = new Map<string, string>();
const HEX_MEMO_LIMIT = 4096;

/** C6 address form: IPv4 (and v4-mapped) as 8 hex digits, IPv6 as 32. */
export function hexIp(address: string): string {
  let hex = hexMemo.get(address);
  if (hex === undefined) {
    hex = formatHexIp(address);
    if (hexMemo.size >= HEX_MEMO_LIMIT) hexMemo.clear();
    hexMemo.set(address, hex);
  }
  return hex;
}

function formatHexIp(address: string): string {
  if (isIPv4(address)) {
    return address
      .split('.')
      .map((o) => hex2(Number(o)))
      .join('');
  }
  return expandIPv6(address.split('%')[0]!);
}

function expandIPv6(address: string): string {
  try {
    const ip = ipaddr.IPv6.parse(address);
    // Any spelling of a v4-mapped address (::ffff:1.2.3.4, ::FFFF:102:304) logs as IPv4.
    const bytes = ip.isIPv4MappedAddress() ? ip.toIPv4Address().toByteArray() : ip.toByteArray();
    return bytes.map(hex2).join('');
  } catch {
    return '0'.repeat(32);
  }
}

const nameScratch = Buffer.allocUnsafe(512);
const wireScratch = Buffer.allocUnsafe(256);

/**
 * Writes dnscache's form of the uncompressed wire name at `at` in `src`:
 * lower case, '?' for control and 8-bit bytes, each label followed by '.'
 * ("." for the root). Works on the bytes of a client's packet as they
 * came, so a cache hit logs its question without a string for it.
 */
function putLogName(b: Buffer, o: number, src: Uint8Array, at: number): number {
  if (at >= src.length || src[at] === 0) {
    b[o] = 0x2e;
    return o + 1;
  }
  // Bounded by the source (and 255 bytes) whatever it holds: RDATA is only as well formed as the server made it.
  const end = Math.min(src.length, at + 256);
  for (let len = src[at]!; len !== 0 && at < end; len = at < end ? src[at]! : 0) {
    const last = Math.min(at + len, end - 1);
    for (let j = at + 1; j <= last; j++) {
      const c = src[j]!;
      b[o++] = c <= 32 || c >= 127 ? 0x3f : c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    b[o++] = 0x2e;
    at += len + 1;
  }
  return o;
}

/** Offset just past the uncompressed wire name at `pos` (or the end of `src`). */
function nameEnd(src: Uint8Array, pos: number): number {
  while (pos < src.length && src[pos] !== 0) pos += src[pos]! + 1;
  return Math.min(pos + 1, src.length);
}

/**
 * dnscache's name form of a name (see putLogName). Built in a byte buffer:
 * a string grown by += is a tree of V8 cons cells costing many times its
 * length.
 */
export function logName(name: Name): string {
  writeLatin1(wireScratch, name, 0);
  return logNameAt(wireScratch, 0);
}

/** dnscache's form of `name`, written at `o`; returns the end. */
function putName(b: Buffer, o: number, name: Name): number {
  writeLatin1(wireScratch, name, 0);
  return putLogName(b, o, wireScratch, 0);
}

/** Room for a name in dnscache's form (at most 255 bytes, each one character) and its separator. */
const NAME_ROOM = 260;

/** `word` server ttl [type] name (nodata has a type, nxdomain none). */
function putNegativeLine(
  sink: LineSink,
  word: string,
  server: string,
  ttl: number,
  type: number | null,
  name: Name,
): void {
  const ipHex = hexIp(server);
  const b = sink.reserve(ipHex.length + NAME_ROOM + 48);
  let o = putAscii(b, sink.used, word);
  o = putAscii(b, o, ipHex);
  b[o++] = 0x20;
  o = putDecimalSpace(b, o, ttl);
  if (type !== null) o = putDecimalSpace(b, o, type);
  o = putName(b, o, name);
  b[o++] = 0x0a;
  sink.commit(o);
}

/** dnscache's form of the uncompressed wire name at `at` in `src`, as a string. */
function logNameAt(src: Uint8Array, at: number): string {
  return nameScratch.toString('latin1', 0, putLogName(nameScratch, 0, src, at));
}

/** dnscache's log_rr: at most 32 bytes in hex, and '...' once the 32nd is printed (even if it is the last). */
function putHexData(b: Buffer, o: number, data: Uint8Array): number {
  for (let i = 0; i < data.length; i++) {
    b[o++] = HEX_BYTES[data[i]! >> 4]!;
    b[o++] = HEX_BYTES[data[i]! & 15]!;
    if (i > 30) return putAscii(b, o, '...');
  }
  return o;
}

/** The word an `rr` line prints for types it decodes; other types print their number. */
function rrLabel(type: number): string | null {
  switch (type) {
    case TYPE.NS:
      return 'ns';
    case TYPE.CNAME:
      return 'cname';
    case TYPE.PTR:
      return 'ptr';
    case TYPE.MX:
      return 'mx';
    case TYPE.SOA:
      return 'soa';
    default:
      return null;
  }
}

/** The most an `rr` line's data takes: two names and five numbers (SOA), or 64 hex digits and '...'. */
const RR_DATA_MAX = 2 * 257 + 5 * 11;

/** The data part of an `rr` line: a name, "<pref> <name>", the SOA's fields, or hex. */
function putRrData(b: Buffer, o: number, type: number, rdata: Buffer): number {
  switch (type) {
    case TYPE.NS:
    case TYPE.CNAME:
    case TYPE.PTR:
      return putLogName(b, o, rdata, 0);
    case TYPE.MX:
      if (rdata.length < 3) return putHexData(b, o, rdata);
      o = putDecimal(b, o, rdata.readUInt16BE(0));
      b[o++] = 0x20;
      return putLogName(b, o, rdata, 2);
    case TYPE.SOA: {
      const r = nameEnd(rdata, 0);
      const numbers = nameEnd(rdata, r);
      if (numbers + 20 > rdata.length) return putHexData(b, o, rdata);
      o = putLogName(b, o, rdata, 0);
      b[o++] = 0x20;
      o = putLogName(b, o, rdata, r);
      for (let k = 0; k < 5; k++) {
        b[o++] = 0x20;
        o = putDecimal(b, o, rdata.readUInt32BE(numbers + 4 * k));
      }
      return o;
    }
    default:
      return putHexData(b, o, rdata);
  }
}

/** `<label|type> <owner> <data>`, the type-specific tail of an `rr` line. */
function putRrText(b: Buffer, o: number, type: number, name: Name, rdata: Buffer): number {
  const label = rrLabel(type);
  o = label === null ? putDecimal(b, o, type) : putAscii(b, o, label);
  b[o++] = 0x20;
  writeLatin1(wireScratch, name, 0);
  o = putLogName(b, o, wireScratch, 0);
  b[o++] = 0x20;
  return putRrData(b, o, type, rdata);
}

const rrScratch = Buffer.allocUnsafe(600 + RR_DATA_MAX);

/** The data part of an `rr` line, as a string (JSON lines carry it as a field). */
export function rrData(type: number, rdata: Buffer): string {
  return rrScratch.toString('latin1', 0, putRrData(rrScratch, 0, type, rdata));
}

/** The type-specific tail of an `rr` line, as a string. */
export function rrText(type: number, name: Name, rdata: Buffer): string {
  return rrScratch.toString('latin1', 0, putRrText(rrScratch, 0, type, name, rdata));
}

/** Byte writers for lines formatted in place; each returns the offset after what it wrote. */
function putAscii(b: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[o++] = s.charCodeAt(i);
  return o;
}

function putDecimal(b: Buffer, o: number, n: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  for (let i = o + digits - 1, x = n; i >= o; i--, x = Math.floor(x / 10)) b[i] = 0x30 + (x % 10);
  return o + digits;
}

/** A number and a space after it. */
function putDecimalSpace(b: Buffer, o: number, n: number): number {
  o = putDecimal(b, o, n);
  b[o] = 0x20;
  return o + 1;
}

function putHex4(b: Buffer, o: number, n: number): number {
  b[o] = HEX_BYTES[(n >> 12) & 15]!;
  b[o + 1] = HEX_BYTES[(n >> 8) & 15]!;
  b[o + 2] = HEX_BYTES[(n >> 4) & 15]!;
  b[o + 3] = HEX_BYTES[n & 15]!;
  return o + 4;
}

/**
 * `<u|t|e>.query <n> <ip>:<port>:<id> <type> <name>` and its newline, the
 * name read from uncompressed wire bytes at `at` in `src`. Returns the end,
 * and where "<type> <name>" starts (a hit's `cached` line repeats it).
 */
function putQueryLine(
  b: Buffer,
  o: number,
  prefix: boolean,
  n: number,
  t: Transport,
  edns: boolean,
  ipHex: string,
  port: number,
  id: number,
  qtype: number,
  src: Uint8Array,
  at: number,
): { question: number; end: number } {
  if (prefix) {
    b[o++] = edns && t === 'u' ? 0x65 /* e */ : t.charCodeAt(0);
    b[o++] = 0x2e;
  }
  o = putAscii(b, o, 'query ');
  o = putDecimalSpace(b, o, n);
  o = putAscii(b, o, ipHex);
  b[o++] = 0x3a;
  o = putHex4(b, o, port);
  b[o++] = 0x3a;
  o = putHex4(b, o, id);
  b[o++] = 0x20;
  const question = o;
  o = putDecimalSpace(b, o, qtype);
  o = putLogName(b, o, src, at);
  b[o++] = 0x0a;
  return { question, end: o };
}

/** `<u|t>.sent <n> <length>` (or, without the prefix, `sent ...`) and its newline. */
function putSentLine(b: Buffer, o: number, prefix: boolean, n: number, t: Transport, length: number): number {
  if (prefix) {
    b[o++] = t.charCodeAt(0);
    b[o++] = 0x2e;
  }
  o = putAscii(b, o, 'sent ');
  o = putDecimalSpace(b, o, n);
  o = putDecimal(b, o, length);
  b[o++] = 0x0a;
  return o;
}

/** What a service runs as, for the line after `starting`. */
export interface RunMode {
  readonly mode: 'iterative' | 'forward-only';
  /** This process's share of CACHESIZE. */
  readonly cacheSize: number;
  /** Files in servers/, entries in ip/, routes in the routes file. */
  readonly servers: number;
  readonly ip: number;
  readonly routes: number;
  /** Routes are read from etcd too. */
  readonly etcd: boolean;
}

/** The events dnscache logs, formatted its way (djbdnscurve6's lines; DjbdnsLog writes 1.05's). */
export class Log {
  /** `u.`/`t.`/`e.` before query, sent and drop (djbdnscurve6); dnscache 1.05 writes none. */
  protected readonly transportPrefix: boolean = true;

  constructor(private readonly sink: LineSink) {}

  line(text: string): void {
    this.sink.write(text);
  }

  starting(listenIp: string, sendIp: string, udpMax: number): void {
    this.line(
      `starting dnscache listening on ip ${hexIp(listenIp)} sending queries from ip ${hexIp(sendIp)} udp maxsize = ${udpMax}`,
    );
  }

  /** What runs, after `starting`: the mode, the cache's budget and the policy files read. */
  running(mode: RunMode): void {
    this.line(
      `running ${mode.mode} cachesize ${mode.cacheSize} servers ${mode.servers} ip ${mode.ip} routes ${mode.routes}${mode.etcd ? ' etcd' : ''}`,
    );
  }

  query(n: number, t: Transport, edns: boolean, ip: string, port: number, id: number, qtype: number, name: Name): void {
    writeLatin1(wireScratch, name, 0);
    const ipHex = hexIp(ip);
    const b = this.sink.reserve(2 * name.length + ipHex.length + 48);
    this.sink.commit(
      putQueryLine(b, this.sink.used, this.transportPrefix, n, t, edns, ipHex, port, id, qtype, wireScratch, 0).end,
    );
  }

  /**
   * A query answered from the reply cache: `query`, `cached` and `sent`.
   * Like every per-query line, formatted byte by byte into the sink: their
   * string forms were most of what a hit allocated (profiled with V8's
   * sampling heap profiler). The name comes from the client's own question
   * (uncompressed on the hit path), so cache entries keep no text for it.
   */
  cacheHit(
    n: number,
    t: Transport,
    edns: boolean,
    ip: string,
    port: number,
    id: number,
    qtype: number,
    query: Buffer,
    length: number,
    _rcode: number,
  ): void {
    const ipHex = hexIp(ip);
    const b = this.sink.reserve(2 * (query.length + 8) + ipHex.length + 96);
    const q = putQueryLine(
      b,
      this.sink.used,
      this.transportPrefix,
      n,
      t,
      edns,
      ipHex,
      port,
      id,
      qtype,
      query,
      HEADER_LENGTH,
    );
    let o = putAscii(b, q.end, 'cached ');
    for (let i = q.question; i < q.end; i++) b[o++] = b[i]!;
    this.sink.commit(putSentLine(b, o, this.transportPrefix, n, t, length));
  }

  /** A reply sent: its length (and, for the JSON form, its RCODE). */
  sent(n: number, t: Transport, length: number, _rcode: number): void {
    const b = this.sink.reserve(48);
    this.sink.commit(putSentLine(b, this.sink.used, this.transportPrefix, n, t, length));
  }

  drop(n: number, t: Transport, reason: string): void {
    this.line(this.transportPrefix ? `${t}.drop ${n} ${reason}` : `drop ${n} ${reason}`);
  }

  /** A client refused (no ip/ entry, or a source port dnscache never answers); `others` refused since, not logged. */
  refused(ip: string, t: Transport, reason: string, others: number): void {
    this.line(`refused ${hexIp(ip)} ${t} ${reason}${others > 0 ? ` (and ${others} more not logged)` : ''}`);
  }

  tcpopen(ip: string, port: number): void {
    this.line(`tcpopen ${hexIp(ip)}:${hex4(port)}`);
  }

  tcpclose(ip: string, port: number, reason: string): void {
    this.line(`tcpclose ${hexIp(ip)}:${hex4(port)} ${reason}`);
  }

  tx(
    level: number,
    qtype: number,
    name: Name,
    control: Name,
    servers: readonly string[],
    mode: TxMode = 'plain',
  ): void {
    const b = this.sink.reserve(2 * NAME_ROOM + 33 * servers.length + 40);
    let o = putAscii(b, this.sink.used, 'tx ');
    o = putDecimalSpace(b, o, level);
    o = putDecimalSpace(b, o, qtype);
    o = putName(b, o, name);
    b[o++] = 0x20;
    o = putName(b, o, control);
    // djbdnscurve6's DNSCurve flag; dnscache 1.05's line has none.
    if (this.transportPrefix) {
      b[o++] = 0x20;
      o = putAscii(b, o, TX_FLAG[mode]);
    }
    for (const server of servers) {
      b[o++] = 0x20;
      o = putAscii(b, o, hexIp(server));
    }
    b[o++] = 0x0a;
    this.sink.commit(o);
  }

  cached(type: number, name: Name): void {
    this.line(`cached ${type} ${logName(name)}`);
  }

  cachedCname(name: Name, target: Name): void {
    this.line(`cached cname ${logName(name)} ${logName(target)}`);
  }

  cachedNs(control: Name, ns: Name): void {
    this.line(`cached ns ${logName(control)} ${logName(ns)}`);
  }

  cachedNxdomain(name: Name): void {
    this.line(`cached nxdomain ${logName(name)}`);
  }

  rr(server: string, ttl: number, type: number, name: Name, rdata: Buffer): void {
    const ipHex = hexIp(server);
    const b = this.sink.reserve(ipHex.length + 300 + RR_DATA_MAX + 40);
    let o = putAscii(b, this.sink.used, 'rr ');
    o = putAscii(b, o, ipHex);
    b[o++] = 0x20;
    o = putDecimalSpace(b, o, ttl);
    o = putRrText(b, o, type, name, rdata);
    b[o++] = 0x0a;
    this.sink.commit(o);
  }

  // nxdomain, nodata and stats end most misses: written in place, like
  // tx and rr, rather than built as strings first.
  nxdomain(server: string, ttl: number, name: Name): void {
    putNegativeLine(this.sink, 'nxdomain ', server, ttl, null, name);
  }

  nodata(server: string, ttl: number, type: number, name: Name): void {
    putNegativeLine(this.sink, 'nodata ', server, ttl, type, name);
  }

  lame(server: string, control: Name, referral: Name): void {
    this.line(`lame ${hexIp(server)} ${logName(control)} ${logName(referral)}`);
  }

  ignoredReferral(server: string, control: Name, referral: Name): void {
    this.line(`ignored referral ${hexIp(server)} ${logName(control)} ${logName(referral)}`);
  }

  servfail(name: Name, reason: string): void {
    this.line(`servfail ${logName(name)} ${reason}`);
  }

  stats(queries: number, motion: number, udpActive: number, ednsActive: number, tcpActive: number): void {
    const b = this.sink.reserve(5 * 17 + 16);
    let o = putAscii(b, this.sink.used, 'stats ');
    o = putDecimalSpace(b, o, queries);
    o = putDecimalSpace(b, o, motion);
    o = putDecimalSpace(b, o, udpActive);
    // djbdnscurve6's EDNS count; dnscache 1.05 has four fields.
    if (this.transportPrefix) o = putDecimalSpace(b, o, ednsActive);
    o = putDecimal(b, o, tcpActive);
    b[o++] = 0x0a;
    this.sink.commit(o);
  }

  warning(text: string): void {
    this.line(`dnscache: warning: ${text}`);
  }
}

// ---------------------------------------------------------------- JSON

const NON_ASCII = /[\u007f-\uffff]/g;

/**
 * A JSON string literal in ASCII only: the sink writes latin1, so anything
 * beyond 0x7e is escaped (\uXXXX) rather than mangled.
 */
export function jsonString(s: string): string {
  const json = JSON.stringify(s);
  NON_ASCII.lastIndex = 0;
  return NON_ASCII.test(json)
    ? json.replace(NON_ASCII, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
    : json;
}

/** `"transport":"u","edns":false` - query lines print `e.` for UDP with EDNS; JSON keeps the two apart. */
function jsonQuery(
  n: number,
  t: Transport,
  edns: boolean,
  ip: string,
  port: number,
  id: number,
  type: number,
  nameJson: string,
): string {
  return `{"event":"query","n":${n},"transport":"${t}","edns":${edns},"ip":"${ip}","port":${port},"id":${id},"type":"${typeName(type)}","name":${nameJson}}`;
}

function jsonSent(n: number, t: Transport, length: number, rcode: number): string {
  return `{"event":"sent","n":${n},"transport":"${t}","bytes":${length},"rcode":"${rcodeName(rcode)}"}`;
}

/**
 * LOGFORMAT=json: the same events, one JSON object per line, for machines:
 * each starts with `time` (ISO 8601, UTC, milliseconds) and `event`;
 * addresses as text, ports and IDs as numbers, types and RCODEs by name,
 * names in dnscache's form. Chosen once at start (createLog): dnscache's
 * format pays nothing for it. Field names are documented in README.md
 * ("Metrics and log format").
 */
export class JsonLog extends Log {
  /** `now`: the time a line carries (injectable for tests). */
  constructor(
    sink: LineSink,
    private readonly now: () => number = Date.now,
  ) {
    super(sink);
  }

  override line(text: string): void {
    this.json(`{"event":"line","text":${jsonString(text)}}`);
  }

  /** Writes already formatted JSON objects, one per line, each given the time first. */
  private json(text: string): void {
    const time = `{"time":"${new Date(this.now()).toISOString()}",`;
    super.line(time + text.slice(1).replaceAll('\n{', `\n${time}`));
  }

  override starting(listenIp: string, sendIp: string, udpMax: number): void {
    this.json(`{"event":"starting","ip":"${listenIp}","sendip":"${sendIp}","udpmax":${udpMax}}`);
  }

  override running(m: RunMode): void {
    this.json(
      `{"event":"running","mode":"${m.mode}","cachesize":${m.cacheSize},"servers":${m.servers},"ip":${m.ip},"routes":${m.routes},"etcd":${m.etcd}}`,
    );
  }

  override query(
    n: number,
    t: Transport,
    edns: boolean,
    ip: string,
    port: number,
    id: number,
    qtype: number,
    name: Name,
  ): void {
    this.json(jsonQuery(n, t, edns, ip, port, id, qtype, jsonString(logName(name))));
  }

  override cacheHit(
    n: number,
    t: Transport,
    edns: boolean,
    ip: string,
    port: number,
    id: number,
    qtype: number,
    query: Buffer,
    length: number,
    rcode: number,
  ): void {
    const name = jsonString(logNameAt(query, HEADER_LENGTH));
    this.json(
      `${jsonQuery(n, t, edns, ip, port, id, qtype, name)}\n{"event":"cached","type":"${typeName(qtype)}","name":${name}}\n${jsonSent(n, t, length, rcode)}`,
    );
  }

  override sent(n: number, t: Transport, length: number, rcode: number): void {
    this.json(jsonSent(n, t, length, rcode));
  }

  override drop(n: number, t: Transport, reason: string): void {
    this.json(`{"event":"drop","n":${n},"transport":"${t}","reason":${jsonString(reason)}}`);
  }

  override refused(ip: string, t: Transport, reason: string, others: number): void {
    this.json(
      `{"event":"refused","ip":"${ip}","transport":"${t}","reason":${jsonString(reason)},"unlogged":${others}}`,
    );
  }

  override tcpopen(ip: string, port: number): void {
    this.json(`{"event":"tcpopen","ip":"${ip}","port":${port}}`);
  }

  override tcpclose(ip: string, port: number, reason: string): void {
    this.json(`{"event":"tcpclose","ip":"${ip}","port":${port},"reason":${jsonString(reason)}}`);
  }

  override tx(
    level: number,
    qtype: number,
    name: Name,
    control: Name,
    servers: readonly string[],
    mode: TxMode = 'plain',
  ): void {
    const list = servers.map((s) => `"${s}"`).join(',');
    this.json(
      `{"event":"tx","level":${level},"type":"${typeName(qtype)}","name":${jsonString(logName(name))},"control":${jsonString(logName(control))},"mode":"${mode}","servers":[${list}]}`,
    );
  }

  override cached(type: number, name: Name): void {
    this.json(`{"event":"cached","type":"${typeName(type)}","name":${jsonString(logName(name))}}`);
  }

  override cachedCname(name: Name, target: Name): void {
    this.json(`{"event":"cached_cname","name":${jsonString(logName(name))},"target":${jsonString(logName(target))}}`);
  }

  override cachedNs(control: Name, ns: Name): void {
    this.json(`{"event":"cached_ns","control":${jsonString(logName(control))},"ns":${jsonString(logName(ns))}}`);
  }

  override cachedNxdomain(name: Name): void {
    this.json(`{"event":"cached_nxdomain","name":${jsonString(logName(name))}}`);
  }

  override rr(server: string, ttl: number, type: number, name: Name, rdata: Buffer): void {
    this.json(
      `{"event":"rr","server":"${server}","ttl":${ttl},"type":"${typeName(type)}","name":${jsonString(logName(name))},"data":${jsonString(rrData(type, rdata))}}`,
    );
  }

  override nxdomain(server: string, ttl: number, name: Name): void {
    this.json(`{"event":"nxdomain","server":"${server}","ttl":${ttl},"name":${jsonString(logName(name))}}`);
  }

  override nodata(server: string, ttl: number, type: number, name: Name): void {
    this.json(
      `{"event":"nodata","server":"${server}","ttl":${ttl},"type":"${typeName(type)}","name":${jsonString(logName(name))}}`,
    );
  }

  override lame(server: string, control: Name, referral: Name): void {
    this.json(
      `{"event":"lame","server":"${server}","control":${jsonString(logName(control))},"referral":${jsonString(logName(referral))}}`,
    );
  }

  override ignoredReferral(server: string, control: Name, referral: Name): void {
    this.json(
      `{"event":"ignored_referral","server":"${server}","control":${jsonString(logName(control))},"referral":${jsonString(logName(referral))}}`,
    );
  }

  override servfail(name: Name, reason: string): void {
    this.json(`{"event":"servfail","name":${jsonString(logName(name))},"reason":${jsonString(reason)}}`);
  }

  override stats(queries: number, motion: number, udpActive: number, ednsActive: number, tcpActive: number): void {
    this.json(
      `{"event":"stats","queries":${queries},"motion":${motion},"udp_active":${udpActive},"edns_active":${ednsActive},"tcp_active":${tcpActive}}`,
    );
  }

  override warning(text: string): void {
    this.json(`{"event":"warning","text":${jsonString(text)}}`);
  }
}

/** The Log for LOGFORMAT: chosen once, at start. */
/**
 * LOGFORMAT=djbdns: exactly the lines of dnscache 1.05 (Debian's `dnscache`),
 * for tooling written against it (`awk '$3=="query"'` after tai64nlocal):
 * `starting`, `query`, `sent` and `drop` without djbdnscurve6's `u.`/`t.`/`e.`,
 * `tx` without its DNSCurve flag, `stats` with four fields; lines of events
 * 1.05 does not have (`running`, `refused`) are left out.
 */
export class DjbdnsLog extends Log {
  protected override readonly transportPrefix = false;

  override starting(_listenIp: string, _sendIp: string, _udpMax: number): void {
    this.line('starting');
  }

  override running(_mode: RunMode): void {
    // not a dnscache 1.05 line
  }

  override refused(_ip: string, _t: Transport, _reason: string, _others: number): void {
    // not a dnscache 1.05 line (counted in metrics all the same)
  }
}

export function createLog(format: LogFormat, sink: LineSink): Log {
  if (format === 'json') return new JsonLog(sink);
  return format === 'djbdns' ? new DjbdnsLog(sink) : new Log(sink);
}

/** A fatal start-up message in the chosen format (written by the caller, unbatched). */
export function fatalLine(format: LogFormat, message: string): string {
  return format === 'json'
    ? `{"time":"${new Date().toISOString()}","event":"fatal","text":${jsonString(message)}}`
    : `dnscache: fatal: ${message}`;
}
