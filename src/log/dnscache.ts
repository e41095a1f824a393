// dnscache's log lines (spec §8, C6 forms), one per event, on standard error.
// Existing dnscache-log tooling parses these, so field order and encodings
// (hex addresses, hex ports and IDs, '?' for odd bytes in names) are kept.
// Log writes djbdnscurve6's form (the default), DjbdnsLog dnscache 1.05's.

import { HEADER_LENGTH } from '../wire/constants';
import { writeLatin1 } from '../wire/latin1';
import { Name } from '../wire/name';
import {
  hex4,
  hexIp,
  logName,
  NAME_ROOM,
  putAscii,
  putDecimal,
  putDecimalSpace,
  putHex4,
  putLogName,
  putName,
  putRrText,
  RR_DATA_MAX,
  wireScratch,
} from './fields';
import { LineSink } from './sink';

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
    _since: number,
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

  /**
   * A reply sent: its length (and, for the JSON form, its RCODE and how long
   * the client waited: `since` is the Engine.now() its question's turn began).
   */
  sent(n: number, t: Transport, length: number, _rcode: number, _since: number): void {
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
