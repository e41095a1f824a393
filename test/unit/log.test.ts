import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { DjbdnsLog, hex4, hexIp, Log, logName, MemorySink, rrText, StreamSink } from '../../src/log/log';
import { nameFromLabels, nameFromText, ROOT } from '../../src/wire/name';
import { ipv4, mxRdata, n, nameRdata, rawQuery, soaRdata } from './helpers';

describe('hexIp', () => {
  it('IPv4: 8 hex digits', () => {
    assert.equal(hexIp('127.0.0.1'), '7f000001');
    assert.equal(hexIp('10.0.0.255'), '0a0000ff');
    assert.equal(hexIp('0.0.0.0'), '00000000');
  });

  it('v4-mapped IPv6 in any spelling: 8 hex digits', () => {
    assert.equal(hexIp('::ffff:127.0.0.1'), '7f000001');
    assert.equal(hexIp('::FFFF:192.0.2.1'), 'c0000201');
    assert.equal(hexIp('::ffff:7f00:1'), '7f000001');
    assert.equal(hexIp('0:0:0:0:0:ffff:c000:0201'), 'c0000201');
  });

  it('other IPv6: 32 hex digits, scope dropped', () => {
    assert.equal(hexIp('::1'), '00000000000000000000000000000001');
    assert.equal(hexIp('2001:db8::53'), '20010db8000000000000000000000053');
    assert.equal(hexIp('fe80::1%eth0'), 'fe800000000000000000000000000001');
    assert.equal(hexIp('::'), '0'.repeat(32));
    // IPv4-compatible (deprecated) is not v4-mapped.
    assert.equal(hexIp('::7f00:1'), '0000000000000000000000007f000001');
  });

  it('hex4: 4 lower-case hex digits', () => {
    assert.equal(hex4(53), '0035');
    assert.equal(hex4(0xbeef), 'beef');
    assert.equal(hex4(0), '0000');
  });
});

describe('logName', () => {
  it('prints labels each followed by a dot; the root is "."', () => {
    assert.equal(logName(n('WWW.Example.COM')), 'www.example.com.');
    assert.equal(logName(ROOT), '.');
  });

  it("replaces bytes <= 32 and >= 127 by '?', keeps a literal dot", () => {
    assert.equal(logName(nameFromLabels(['a b', 'x\x00\x1f\x7f\x80\xff', 'c!~'])), 'a?b.x?????.c!~.');
    assert.equal(logName(nameFromText('a\\056b.c')), 'a.b.c.');
  });
});

describe('rrText', () => {
  const owner = n('example.com');

  it('A and other plain types: type number and hex', () => {
    assert.equal(rrText(1, n('ns1.deleg.test'), ipv4('127.0.0.3')), '1 ns1.deleg.test. 7f000003');
    assert.equal(
      rrText(28, owner, Buffer.from('20010db8000000000000000000000001', 'hex')),
      '28 example.com. 20010db8000000000000000000000001',
    );
    assert.equal(rrText(16, owner, Buffer.alloc(0)), '16 example.com. ');
  });

  it('cuts hex at 32 bytes with "..."', () => {
    const bytes = (len: number): Buffer => Buffer.from(Array.from({ length: len }, (_, i) => i));
    const hex = (len: number): string => bytes(len).toString('hex');
    assert.equal(rrText(16, owner, bytes(31)), `16 example.com. ${hex(31)}`);
    assert.equal(rrText(16, owner, bytes(32)), `16 example.com. ${hex(32)}...`);
    assert.equal(rrText(16, owner, bytes(33)), `16 example.com. ${hex(32)}...`);
    assert.equal(rrText(99, owner, bytes(300)), `99 example.com. ${hex(32)}...`);
  });

  it('NS, CNAME, PTR: the target name', () => {
    assert.equal(rrText(2, n('deleg.test'), nameRdata('ns1.deleg.test')), 'ns deleg.test. ns1.deleg.test.');
    assert.equal(
      rrText(5, n('www.example.com'), nameRdata('web.example.com')),
      'cname www.example.com. web.example.com.',
    );
    assert.equal(
      rrText(12, n('1.0.0.127.in-addr.arpa'), nameRdata('localhost')),
      'ptr 1.0.0.127.in-addr.arpa. localhost.',
    );
  });

  it('MX: preference and exchange', () => {
    assert.equal(rrText(15, owner, mxRdata(10, 'mail.example.com')), 'mx example.com. 10 mail.example.com.');
  });

  it('malformed RDATA prints what is there, bounded, and never throws', () => {
    // A label running past the end, no terminating zero, a too-short MX and SOA.
    assert.equal(rrText(2, owner, Buffer.from('\x05ab', 'latin1')), 'ns example.com. ab.');
    assert.equal(rrText(5, owner, Buffer.from('\x02ab', 'latin1')), 'cname example.com. ab.');
    assert.equal(rrText(2, owner, Buffer.alloc(0)), 'ns example.com. .');
    assert.equal(rrText(15, owner, Buffer.from([0, 10])), 'mx example.com. 000a');
    assert.equal(
      rrText(6, owner, Buffer.from('\x01a\x00\x01b\x00\x00\x00', 'latin1')),
      'soa example.com. 0161000162000000',
    );
    assert.ok(rrText(2, owner, Buffer.alloc(300, 63)).length < 400);
  });

  it('SOA: both names and the five numbers', () => {
    const soa = soaRdata({
      mname: 'ns1.example.com',
      rname: 'hostmaster.example.com',
      serial: 2024010101,
      refresh: 7200,
      retry: 900,
      expire: 1209600,
      minimum: 300,
    });
    assert.equal(
      rrText(6, owner, soa),
      'soa example.com. ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300',
    );
  });
});

describe('Log lines', () => {
  function logged(fn: (log: Log) => void): string[] {
    const sink = new MemorySink();
    fn(new Log(sink));
    return sink.lines;
  }

  it('query / sent / drop with transport prefixes', () => {
    assert.deepEqual(
      logged((l) => {
        l.query(3, 'u', false, '127.0.0.1', 0xb6e6, 0xdd92, 1, n('www.deleg.test'));
        l.query(4, 'u', true, '::1', 53, 1, 28, n('Example.com'));
        l.query(5, 't', true, '::ffff:10.0.0.1', 1024, 0xffff, 255, ROOT);
        l.sent(3, 'u', 48, 0, 0);
        l.sent(5, 't', 666, 0, 0);
        l.drop(1, 'u', 'timed out');
        l.drop(2, 't', 'permission denied');
      }),
      [
        'u.query 3 7f000001:b6e6:dd92 1 www.deleg.test.',
        'e.query 4 00000000000000000000000000000001:0035:0001 28 example.com.',
        't.query 5 0a000001:0400:ffff 255 .',
        'u.sent 3 48',
        't.sent 5 666',
        'u.drop 1 timed out',
        't.drop 2 permission denied',
      ],
    );
  });

  it('a cache hit: the same query, cached and sent lines, formatted in place', () => {
    const query = rawQuery('WWW.Example.com', 28);
    assert.deepEqual(
      logged((l) => {
        l.cacheHit(7, 'u', false, '127.0.0.1', 0xb6e6, 0xdd92, 28, query, 61, 0, 10);
        l.cacheHit(9007199254740991, 'u', true, '2001:db8::1', 53, 0, 28, query, 0, 0, 10);
        l.cacheHit(10, 't', true, '::ffff:10.0.0.1', 1024, 0xffff, 255, rawQuery('.', 255), 512, 0, 10);
        l.sent(11, 'u', 48, 0, 0);
      }),
      [
        'u.query 7 7f000001:b6e6:dd92 28 www.example.com.',
        'cached 28 www.example.com.',
        'u.sent 7 61',
        'e.query 9007199254740991 20010db8000000000000000000000001:0035:0000 28 www.example.com.',
        'cached 28 www.example.com.',
        'u.sent 9007199254740991 0',
        't.query 10 0a000001:0400:ffff 255 .',
        'cached 255 .',
        't.sent 10 512',
        'u.sent 11 48',
      ],
    );
    // Past the end of a slab: the line moves to a fresh one, whole.
    const long = Array.from({ length: 4 }, (_, i) => `${'A'.repeat(59)}${i === 0 ? '\x01' : i}`).join('.');
    const lines = logged((l) => {
      for (let i = 0; i < 400; i++) l.cacheHit(i, 'u', false, '127.0.0.1', 1024, i, 1, rawQuery(long, 1), 300, 0, 10);
    });
    assert.equal(lines.length, 1200);
    const text = `1 ${logName(nameFromText(long))}`;
    assert.equal(text, `1 ${'a'.repeat(59)}?.${'a'.repeat(59)}1.${'a'.repeat(59)}2.${'a'.repeat(59)}3.`);
    assert.deepEqual(lines.slice(1197), [`u.query 399 7f000001:0400:018f ${text}`, `cached ${text}`, 'u.sent 399 300']);
  });

  it('TCP connections', () => {
    assert.deepEqual(
      logged((l) => {
        l.tcpopen('127.0.0.1', 40000);
        l.tcpclose('127.0.0.1', 40000, 'broken pipe');
      }),
      ['tcpopen 7f000001:9c40', 'tcpclose 7f000001:9c40 broken pipe'],
    );
  });

  it('resolution events', () => {
    assert.deepEqual(
      logged((l) => {
        l.tx(0, 1, n('www.deleg.test'), n('deleg.test'), ['127.0.0.3']);
        l.tx(1, 1, n('ns.outside.example'), ROOT, ['127.0.0.2', '2001:db8::1']);
        l.tx(0, 1, n('www.curve.test'), n('curve.test'), ['127.0.0.4'], 'streamlined');
        l.tx(0, 1, n('www.curve.test'), n('curve.test'), ['127.0.0.4'], 'txt');
        l.tx(0, 1, n('www.curve.test'), n('curve.test'), ['127.0.0.4'], 'fallback');
        l.rr('127.0.0.2', 3600, 1, n('ns1.deleg.test'), ipv4('127.0.0.3'));
        l.rr('127.0.0.2', 3600, 2, n('deleg.test'), nameRdata('ns.outside.example'));
        l.nxdomain('127.0.0.2', 30, n('ns.outside.example'));
        l.nodata('127.0.0.3', 300, 15, n('www.deleg.test'));
        l.lame('127.0.0.2', ROOT, ROOT);
        l.ignoredReferral('127.0.0.2', ROOT, n('com'));
        l.servfail(n('www.example.com'), 'input/output error');
        l.stats(3, 187, 1, 0, 0);
      }),
      [
        'tx 0 1 www.deleg.test. deleg.test. - 7f000003',
        'tx 1 1 ns.outside.example. . - 7f000002 20010db8000000000000000000000001',
        'tx 0 1 www.curve.test. curve.test. + 7f000004',
        'tx 0 1 www.curve.test. curve.test. * 7f000004',
        'tx 0 1 www.curve.test. curve.test. ~ 7f000004',
        'rr 7f000002 3600 1 ns1.deleg.test. 7f000003',
        'rr 7f000002 3600 ns deleg.test. ns.outside.example.',
        'nxdomain 7f000002 30 ns.outside.example.',
        'nodata 7f000003 300 15 www.deleg.test.',
        'lame 7f000002 . .',
        'ignored referral 7f000002 . com.',
        'servfail www.example.com. input/output error',
        'stats 3 187 1 0 0',
      ],
    );
  });

  it('cache hits', () => {
    assert.deepEqual(
      logged((l) => {
        l.cached(1, n('ns1.deleg.test'));
        l.cached(28, n('www.example.com'));
        l.cachedCname(n('www.example.com'), n('web.example.com'));
        l.cachedNs(n('deleg.test'), n('ns1.deleg.test'));
        l.cachedNxdomain(n('ns.outside.example'));
      }),
      [
        'cached 1 ns1.deleg.test.',
        'cached 28 www.example.com.',
        'cached cname www.example.com. web.example.com.',
        'cached ns deleg.test. ns1.deleg.test.',
        'cached nxdomain ns.outside.example.',
      ],
    );
  });

  it('start-up and warnings', () => {
    assert.deepEqual(
      logged((l) => {
        l.starting('127.0.0.1', '0.0.0.0', 1232);
        l.warning('client blocked: 10.0.0.9');
      }),
      [
        'starting dnscache listening on ip 7f000001 sending queries from ip 00000000 udp maxsize = 1232',
        'dnscache: warning: client blocked: 10.0.0.9',
      ],
    );
  });
});

describe("DjbdnsLog (LOGFORMAT=djbdns): dnscache 1.05's lines", () => {
  it('query, sent, drop without a transport prefix; tx without the DNSCurve flag; stats with four fields; no running or refused lines', () => {
    const sink = new MemorySink();
    const log = new DjbdnsLog(sink);
    log.starting('127.0.0.1', '0.0.0.0', 1232);
    log.running({ mode: 'forward-only', cacheSize: 1000000, servers: 1, ip: 1, routes: 0, etcd: false });
    log.query(1, 'u', true, '127.0.0.1', 0xd6ed, 0x119b, 1, n('www.example.test'));
    log.tx(0, 1, n('www.example.test'), ROOT, ['127.0.0.2'], 'streamlined');
    log.stats(1, 44, 1, 1, 0);
    log.sent(1, 'u', 50, 0, 0);
    log.cacheHit(2, 't', false, '127.0.0.1', 53, 7, 1, rawQuery('www.example.test', 1), 50, 0, 10);
    log.drop(3, 'u', 'timed out');
    log.refused('192.0.2.7', 'u', 'no ip/ entry', 0);
    assert.deepEqual(sink.lines, [
      'starting',
      'query 1 7f000001:d6ed:119b 1 www.example.test.',
      'tx 0 1 www.example.test. . 7f000002',
      'stats 1 44 1 0',
      'sent 1 50',
      'query 2 7f000001:0035:0007 1 www.example.test.',
      'cached 1 www.example.test.',
      'sent 2 50',
      'drop 3 timed out',
    ]);
  });
});

describe('StreamSink', () => {
  it('writes each line once, newline-terminated, batched per event-loop turn', async () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c.toString()));
    const sink = new StreamSink(stream);
    sink.write('one');
    sink.write('two');
    assert.deepEqual(chunks, []);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(chunks, ['one\ntwo\n']);
    sink.write('three');
    sink.flush();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(chunks.join(''), 'one\ntwo\nthree\n');
  });
});

describe('StreamSink across flushes and slabs', () => {
  it('hands out each line once, and never rewrites bytes already handed to the stream', async () => {
    const chunks: Buffer[] = [];
    const stream = { write: (b: Buffer) => chunks.push(b) } as unknown as NodeJS.WritableStream;
    const sink = new StreamSink(stream);
    const lines: string[] = [];
    // Several flushes per slab, and enough bytes to need several slabs.
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 50; i++) {
        const line = `u.query ${round * 50 + i} ${'x'.repeat(i)}`;
        lines.push(line);
        sink.write(line);
      }
      await new Promise((r) => setImmediate(r));
    }
    sink.flush();
    assert.ok(chunks.length >= 40);
    // Checked only now: a reused region would show as corrupted earlier chunks.
    assert.equal(Buffer.concat(chunks).toString('latin1'), lines.join('\n') + '\n');
  });
});

describe('StreamSink with atomic writes (WORKERS: several processes, one pipe)', () => {
  it('writes whole lines, at most PIPE_BUF (4096) bytes at a time; a longer line goes alone, in one write', () => {
    const chunks: Buffer[] = [];
    const stream = { write: (b: Buffer) => chunks.push(Buffer.from(b)) } as unknown as NodeJS.WritableStream;
    const sink = new StreamSink(stream, true);
    const lines: string[] = [];
    for (let i = 0; i < 500; i++) lines.push(`rr 7f000001 300 1 n${i}.example.test. ${'a'.repeat(i % 90)}`);
    lines.splice(250, 0, `tx 0 1 long.example.test. . - ${'7f000001 '.repeat(600).trim()}`); // 5,3xx bytes
    for (const l of lines) sink.write(l);
    sink.flush();
    assert.ok(chunks.length > 5);
    for (const c of chunks) {
      assert.equal(c[c.length - 1], 0x0a, 'ends with a whole line');
      const text = c.toString('latin1');
      if (c.length > 4096) assert.equal(text.indexOf('\n'), text.length - 1, 'only a single line may exceed PIPE_BUF');
    }
    assert.equal(Buffer.concat(chunks).toString('latin1'), lines.join('\n') + '\n');
  });
});
