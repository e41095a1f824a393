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
  starting: ['time', 'event', 'ip', 'sendip', 'udpmax'],
  running: ['time', 'event', 'mode', 'cachesize', 'servers', 'ip', 'routes', 'etcd'],
  query: ['time', 'event', 'n', 'transport', 'edns', 'ip', 'port', 'id', 'type', 'name'],
  cached: ['time', 'event', 'type', 'name'],
  sent: ['time', 'event', 'n', 'transport', 'bytes', 'rcode', 'ms'],
  drop: ['time', 'event', 'n', 'transport', 'reason'],
  refused: ['time', 'event', 'ip', 'transport', 'reason', 'unlogged'],
  tcpopen: ['time', 'event', 'ip', 'port'],
  tcpclose: ['time', 'event', 'ip', 'port', 'reason'],
  tx: ['time', 'event', 'level', 'type', 'name', 'control', 'mode', 'servers'],
  cached_cname: ['time', 'event', 'name', 'target'],
  cached_ns: ['time', 'event', 'control', 'ns'],
  cached_nxdomain: ['time', 'event', 'name'],
  rr: ['time', 'event', 'server', 'ttl', 'type', 'name', 'data'],
  nxdomain: ['time', 'event', 'server', 'ttl', 'name'],
  nodata: ['time', 'event', 'server', 'ttl', 'type', 'name'],
  lame: ['time', 'event', 'server', 'control', 'referral'],
  ignored_referral: ['time', 'event', 'server', 'control', 'referral'],
  servfail: ['time', 'event', 'name', 'reason'],
  stats: ['time', 'event', 'queries', 'motion', 'udp_active', 'edns_active', 'tcp_active'],
  warning: ['time', 'event', 'text'],
  line: ['time', 'event', 'text'],
};

/** One call of every Log method, and the events it must write. */
const CALLS: Record<string, [(l: Log) => void, string[]]> = {
  line: [(l) => l.line('free text "quoted"'), ['line']],
  starting: [(l) => l.starting('127.0.0.1', '::', 1232), ['starting']],
  running: [
    (l) => l.running({ mode: 'forward-only', cacheSize: 1000000, servers: 2, ip: 1, routes: 0, etcd: false }),
    ['running'],
  ],
  query: [(l) => l.query(1, 'u', false, '127.0.0.1', 0xd6ed, 0x119b, 1, n('www.example.test')), ['query']],
  cacheHit: [
    (l) => l.cacheHit(2, 't', true, '::1', 53, 7, 28, rawQuery('WWW.Example.test', 28), 99, 0, 10),
    ['query', 'cached', 'sent'],
  ],
  sent: [(l) => l.sent(1, 'u', 48, 0, 0), ['sent']],
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
  // The clock at 1.5 s past the epoch: every line's time is this one.
  // The monotonic clock reads 12.3456789 ms: a reply whose turn began at 10 ms waited 2.346 ms.
  fn(
    new JsonLog(
      sink,
      () => 1500,
      () => 12.3456789,
    ),
  );
  return sink.lines
    .flatMap((l) => l.split('\n'))
    .map((l) => {
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
      for (const o of objects)
        assert.deepEqual(Object.keys(o), FIELDS[o.event as string], `fields of ${String(o.event)}`);
    });
  }

  it('the issue example: a UDP query', () => {
    assert.deepEqual(
      jsonLines((l) => l.query(1, 'u', false, '127.0.0.1', 0xd6ed, 0x119b, 1, n('www.example.test'))),
      [
        {
          time: '1970-01-01T00:00:01.500Z',
          event: 'query',
          n: 1,
          transport: 'u',
          edns: false,
          ip: '127.0.0.1',
          port: 0xd6ed,
          id: 0x119b,
          type: 'A',
          name: 'www.example.test.',
        },
      ],
    );
  });

  it('values for machines: the time, addresses as text, ports and IDs as numbers, types and RCODEs by name, dnscache names', () => {
    const [q, cached, sent] = jsonLines((l) =>
      l.cacheHit(2, 't', true, '::1', 53, 7, 28, rawQuery('WWW.Example.test', 28), 99, 3, 10),
    );
    assert.deepEqual(q, {
      time: '1970-01-01T00:00:01.500Z',
      event: 'query',
      n: 2,
      transport: 't',
      edns: true,
      ip: '::1',
      port: 53,
      id: 7,
      type: 'AAAA',
      name: 'www.example.test.',
    });
    assert.deepEqual(cached, {
      time: '1970-01-01T00:00:01.500Z',
      event: 'cached',
      type: 'AAAA',
      name: 'www.example.test.',
    });
    assert.deepEqual(sent, {
      time: '1970-01-01T00:00:01.500Z',
      event: 'sent',
      n: 2,
      transport: 't',
      bytes: 99,
      rcode: 'NXDOMAIN',
      ms: 2.346,
    });
    assert.deepEqual(
      jsonLines((l) => l.tx(1, 65, n('NS.Outside.example'), ROOT, ['127.0.0.2', '2001:db8::1'])),
      [
        {
          time: '1970-01-01T00:00:01.500Z',
          event: 'tx',
          level: 1,
          type: 'TYPE65',
          name: 'ns.outside.example.',
          control: '.',
          mode: 'plain',
          servers: ['127.0.0.2', '2001:db8::1'],
        },
      ],
    );
    assert.deepEqual(
      ['streamlined', 'txt', 'fallback'].map(
        (mode) => jsonLines((l) => l.tx(0, 1, n('x.test'), n('test'), ['127.0.0.2'], mode as TxMode))[0]!.mode,
      ),
      ['streamlined', 'txt', 'fallback'],
    );
    assert.deepEqual(
      jsonLines((l) => l.stats(10, 2048, 3, 1, 2)),
      [
        {
          time: '1970-01-01T00:00:01.500Z',
          event: 'stats',
          queries: 10,
          motion: 2048,
          udp_active: 3,
          edns_active: 1,
          tcp_active: 2,
        },
      ],
    );
  });

  it('rr data: names, MX, SOA and hex as the text lines print them', () => {
    const data = (type: number, rdata: Buffer): unknown =>
      jsonLines((l) => l.rr('127.0.0.2', 60, type, n('x.test'), rdata))[0]!.data;
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
    const fatal = JSON.parse(fatalLine('json', 'IP: "x"')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(fatal), ['time', 'event', 'text']);
    assert.deepEqual([fatal.event, fatal.text], ['fatal', 'IP: "x"']);
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
