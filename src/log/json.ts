// LOGFORMAT=json: dnscache's events as one JSON object a line, for machines.

import { HEADER_LENGTH } from '../wire/constants';
import { rcodeName, typeName } from '../wire/mnemonics';
import { Name } from '../wire/name';
import { Log, RunMode, Transport, TxMode } from './dnscache';
import { logName, logNameAt, rrData } from './fields';
import { LineSink } from './sink';

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

function jsonSent(n: number, t: Transport, length: number, rcode: number, ms: number): string {
  return `{"event":"sent","n":${n},"transport":"${t}","bytes":${length},"rcode":"${rcodeName(rcode)}","ms":${ms}}`;
}

/**
 * LOGFORMAT=json: the same events, one JSON object per line, for machines:
 * each starts with `time` (ISO 8601, UTC, milliseconds) and `event`;
 * addresses as text, ports and IDs as numbers, types and RCODEs by name,
 * names in dnscache's form. Chosen once at start (createLog): dnscache's
 * format pays nothing for it. Field names are documented in README.md
 * ("Logs: `LOGFORMAT`").
 */
export class JsonLog extends Log {
  /**
   * `now`: the time a line carries; `monotonic`: the scale of Engine.now(),
   * from which a reply's wait is measured (both injectable for tests).
   */
  constructor(
    sink: LineSink,
    private readonly now: () => number = Date.now,
    private readonly monotonic: () => number = () => performance.now(),
  ) {
    super(sink);
  }

  /** Milliseconds since `since` (Engine.now()'s scale), to the microsecond. */
  private waited(since: number): number {
    return Math.max(0, Math.round((this.monotonic() - since) * 1000) / 1000);
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
    since: number,
  ): void {
    const name = jsonString(logNameAt(query, HEADER_LENGTH));
    this.json(
      `${jsonQuery(n, t, edns, ip, port, id, qtype, name)}\n{"event":"cached","type":"${typeName(qtype)}","name":${name}}\n${jsonSent(n, t, length, rcode, this.waited(since))}`,
    );
  }

  override sent(n: number, t: Transport, length: number, rcode: number, since: number): void {
    this.json(jsonSent(n, t, length, rcode, this.waited(since)));
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
