// LOGFORMAT=json: every Log method writes JSON objects (one per line) with
// the documented fields and the same encodings as dnscache's lines; the
// default format is untouched.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLog, fatalLine, JsonLog, jsonString, Log, MemorySink, TxMode } from '../../src/log/log';
import { nameFromLabels, ROOT } from '../../src/wire/name';
import { ipv4, mxRdata, n, nameRdata, rawQuery, soaRdata } from './helpers';

type Json = Record<string, unknown>;

/** The documented fields of each event, in order (README.md, "Metrics and log format"). */
const FIELDS: Record<string, string[]> = {
  starting: ['event', 'ip', 'sendip', 'udpmax'],
  running: ['event', 'mode', 'cachesize', 'servers', 'ip', 'routes', 'etcd'],
  query: ['event', 'n', 'transport', 'edns', 'ip', 'port', 'id', 'type', 'name'],
  cached: ['event', 'type', 'name'],
  sent: ['event', 'n', 'transport', 'bytes'],
  drop: ['event', 'n', 'transport', 'reason'],
  refused: ['event', 'ip', 'transport', 'reason', 'unlogged'],
  tcpopen: ['event', 'ip', 'port'],
  tcpclose: ['event', 'ip', 'port', 'reason'],
  tx: ['event', 'level', 'type', 'name', 'control', 'mode', 'servers'],
  cached_cname: ['event', 'name', 'target'],
  cached_ns: ['event', 'control', 'ns'],
  cached_nxdomain: ['event', 'name'],
  rr: ['event', 'server', 'ttl', 'type', 'name', 'data'],
  nxdomain: ['event', 'server', 'ttl', 'name'],
  nodata: ['event', 'server', 'ttl', 'type', 'name'],
  lame: ['event', 'server', 'control', 'referral'],
  ignored_referral: ['event', 'server', 'control', 'referral'],
  servfail: ['event', 'name', 'reason'],
  stats: ['event', 'queries', 'motion', 'udp_active', 'edns_active', 'tcp_active'],
  warning: ['event', 'text'],
  line: ['event', 'text'],
};

/** One call of every Log method, and the events it must write. */
const CALLS: Record<string, [(l: Log) => void, string[]]> = {
  line: [(l) => l.line('free text "quoted"'), ['line']],
  starting: [(l) => l.starting('127.0.0.1', '::', 1232), ['starting']],
  running: [(l) => l.running({ mode: 'forward-only', cacheSize: 1000000, servers: 2, ip: 1, routes: 0, etcd: false }), ['running']],
  query: [(l) => l.query(1, 'u', false, '127.0.0.1', 0xd6ed, 0x119b, 1, n('www.example.test')), ['query']],
  cacheHit: [(l) => l.cacheHit(2, 't', true, '::1', 53, 7, 28, rawQuery('WWW.Example.test', 28), 99), ['query', 'cached', 'sent']],
  sent: [(l) => l.sent(1, 'u', 48), ['sent']],
  drop: [(l) => l.drop(1, 'u', 'timed out'), ['drop']],
  refused: [(l) => l.refused('192.0.2.7', 'u', 'no ip/ entry', 3), ['refused']],
  tcpopen: [(l) => l.tcpopen('127.0.0.1', 40000), ['tcpopen']],
  tcpclose: [(l) => l.tcpclose('127.0.0.1', 40000, 'broken pipe'), ['tcpclose']],
  tx: [(l) => l.tx(0, 1, n('www.deleg.test'), n('deleg.test'), ['127.0.0.3', '2001:db8::1']), ['tx']],
  cached: [(l) => l.cached(1, n('www.example.test')), ['cached']],
  cachedCname: [(l) => l.cachedCname(n('a.test'), n('b.test')), ['cached_cname']],
  cachedNs: [(l) => l.cachedNs(n('deleg.test'), n('ns1.deleg.test')), ['cached_ns']],
  cachedNxdomain: [(l) => l.cachedNxdomain(n('nx.test')), ['cached_nxdomain']],
  rr: [(l) => l.rr('127.0.0.2', 3600, 1, n('ns1.deleg.test'), ipv4('127.0.0.3')), ['rr']],
  nxdomain: [(l) => l.nxdomain('127.0.0.2', 300, n('nx.test')), ['nxdomain']],
  nodata: [(l) => l.nodata('127.0.0.2', 300, 15, n('www.test')), ['nodata']],
  lame: [(l) => l.lame('127.0.0.2', n('deleg.test'), ROOT), ['lame']],
  ignoredReferral: [(l) => l.ignoredReferral('127.0.0.2', ROOT, n('test')), ['ignored_referral']],
  servfail: [(l) => l.servfail(n('www.test'), 'timed out'), ['servfail']],
  stats: [(l) => l.stats(10, 2048, 3, 1, 2), ['stats']],
  warning: [(l) => l.warning('ip/: something odd'), ['warning']],
};

function jsonLines(fn: (log: Log) => void): Json[] {
  const sink = new MemorySink();
  fn(createLog('json', sink));
  return sink.lines.flatMap((l) => l.split('\n')).map((l) => {
    assert.match(l, /^[\x20-\x7e]+$/, `printable ASCII only: ${l}`);
    return JSON.parse(l) as Json;
  });
}

const logMethods = Object.getOwnPropertyNames(Log.prototype).filter((m) => m !== 'constructor');

describe('JSON log lines', () => {
  it('JsonLog overrides every Log method, and the test calls each', () => {
    for (const m of logMethods) {
      assert.ok(Object.prototype.hasOwnProperty.call(JsonLog.prototype, m), `JsonLog does not override ${m}`);
      assert.ok(m in CALLS, `no test call for Log.${m}`);
    }
  });

  for (const [method, [call, events]] of Object.entries(CALLS)) {
    it(`${method}: ${events.join(', ')} with the documented fields`, () => {
      const objects = jsonLines(call);
      assert.deepEqual(
        objects.map((o) => o.event),
        events,
      );
      for (const o of objects) assert.deepEqual(Object.keys(o), FIELDS[o.event as string], `fields of ${String(o.event)}`);
    });
  }

  it('the issue example: a UDP query', () => {
    assert.deepEqual(jsonLines((l) => l.query(1, 'u', false, '127.0.0.1', 0xd6ed, 0x119b, 1, n('www.example.test'))), [
      { event: 'query', n: 1, transport: 'u', edns: false, ip: '7f000001', port: 'd6ed', id: '119b', type: 1, name: 'www.example.test.' },
    ]);
  });

  it('values use dnscache encodings: hex addresses, hex ports and IDs, dnscache names', () => {
    const [q, cached, sent] = jsonLines((l) => l.cacheHit(2, 't', true, '::1', 53, 7, 28, rawQuery('WWW.Example.test', 28), 99));
    assert.deepEqual(q, { event: 'query', n: 2, transport: 't', edns: true, ip: '00000000000000000000000000000001', port: '0035', id: '0007', type: 28, name: 'www.example.test.' });
    assert.deepEqual(cached, { event: 'cached', type: 28, name: 'www.example.test.' });
    assert.deepEqual(sent, { event: 'sent', n: 2, transport: 't', bytes: 99 });
    assert.deepEqual(jsonLines((l) => l.tx(1, 28, n('NS.Outside.example'), ROOT, ['127.0.0.2', '2001:db8::1'])), [
      { event: 'tx', level: 1, type: 28, name: 'ns.outside.example.', control: '.', mode: 'plain', servers: ['7f000002', '20010db8000000000000000000000001'] },
    ]);
    assert.deepEqual(
      ['streamlined', 'txt', 'fallback'].map((mode) => jsonLines((l) => l.tx(0, 1, n('x.test'), n('test'), ['127.0.0.2'], mode as TxMode))[0]!.mode),
      ['streamlined', 'txt', 'fallback'],
    );
    assert.deepEqual(jsonLines((l) => l.stats(10, 2048, 3, 1, 2)), [{ event: 'stats', queries: 10, motion: 2048, udp_active: 3, edns_active: 1, tcp_active: 2 }]);
  });

  it('rr data: names, MX, SOA and hex as the text lines print them, with the numeric type', () => {
    const data = (type: number, rdata: Buffer): unknown => jsonLines((l) => l.rr('127.0.0.2', 60, type, n('x.test'), rdata))[0]!.data;
    assert.equal(data(1, ipv4('192.0.2.1')), 'c0000201');
    assert.equal(data(2, nameRdata('ns.example')), 'ns.example.');
    assert.equal(data(5, nameRdata('target.example')), 'target.example.');
    assert.equal(data(15, mxRdata(10, 'mx.example')), '10 mx.example.');
    assert.equal(data(6, soaRdata()), soaText());
    assert.equal(data(99, Buffer.alloc(40, 0xab)), 'ab'.repeat(32) + '...');
  });

  it('names with quotes, backslashes and odd bytes stay valid JSON', () => {
    const odd = nameFromLabels(['a"b\\c', 'x\x00\xff', 'z']);
    const [o] = jsonLines((l) => l.cached(1, odd));
    assert.equal(o!.name, 'a"b\\c.x??.z.');
    const [w] = jsonLines((l) => l.warning('file \u00e9t\u00e9 \u2603 \ud83d\ude00 "x"\n'));
    assert.equal(w!.text, 'file \u00e9t\u00e9 \u2603 \ud83d\ude00 "x"\n');
  });

  it('jsonString escapes everything beyond ASCII', () => {
    assert.equal(jsonString('a\u00e9\u2603'), '"a\\u00e9\\u2603"');
    assert.equal(jsonString('\x7f'), '"\\u007f"');
    assert.equal(jsonString('plain'), '"plain"');
  });

  it('fatal lines in either format', () => {
    assert.equal(fatalLine('dnscache', 'IP: not set'), 'dnscache: fatal: IP: not set');
    assert.deepEqual(JSON.parse(fatalLine('json', 'IP: "x"')), { event: 'fatal', text: 'IP: "x"' });
  });

  it('LOGFORMAT=dnscache gives the plain Log and its lines', () => {
    const sink = new MemorySink();
    const log = createLog('dnscache', sink);
    assert.equal(Object.getPrototypeOf(log), Log.prototype);
    log.query(1, 'u', false, '127.0.0.1', 0xd6ed, 0x119b, 1, n('www.example.test'));
    assert.deepEqual(sink.lines, ['u.query 1 7f000001:d6ed:119b 1 www.example.test.']);
  });
});

/** The text form's SOA tail, for comparison: the same fields after "soa <owner> ". */
function soaText(): string {
  const sink = new MemorySink();
  new Log(sink).rr('127.0.0.2', 60, 6, n('x.test'), soaRdata());
  return sink.lines[0]!.replace(/^rr 7f000002 60 soa x\.test\. /, '');
}
