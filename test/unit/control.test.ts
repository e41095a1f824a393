// Reload and control, piece by piece: the ring of recent queries, cache
// flushing, the dump format (round trip and every kind of bad line), the
// request parser, paths inside ROOT, the CONTROL settings and the
// swappable servers/ table.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cache, RANK } from '../../src/cache/cache';
import { flushAll, flushName, flushSubtree } from '../../src/cache/flush';
import { CacheSnapshotEntry, gradualSnapshot, restore, snapshot } from '../../src/cache/snapshot';
import { makeReplyEntry, renderReply } from '../../src/cache/replies';
import { confinedFile, fileInRoot } from '../../src/control/commands';
import {
  checkHeader,
  DUMP_SLICE,
  DUMP_TURN_LINES,
  DUMP_TURN_MS,
  dumpTurn,
  DumpFileError,
  DumpLineError,
  entryLine,
  headerLine,
  loadDump,
  parseEntryLine,
  writeDump,
  writeDumpLines,
} from '../../src/control/dumpfile';
import { parseRequest, RequestError } from '../../src/control/protocol';
import { RecentQueries } from '../../src/control/recent';
import { readReloadable, SwappableServerTable } from '../../src/config/reload';
import { controlSettings } from '../../src/control/settings';
import { ConfigError, readServersDir } from '../../src/config';
import { closestServers } from '../../src/resolve/zones';
import { readName } from '../../src/wire/name';
import { MessageWriter, Section } from '../../src/wire/writer';
import { FakeClock, ipv4, n, nameRdata, rawQuery, replyWriter, soaRdata } from './helpers';

const A = 1;
const NS = 2;
const CNAME = 5;
const AAAA = 28;
const TXT = 16;

function cache(maxBytes = 1_000_000): { c: Cache; clock: FakeClock } {
  const clock = new FakeClock();
  return { c: new Cache(maxBytes, clock.now), clock };
}

const tmpDirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(join(tmpdir(), 'dnscache-control-'));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A reply for `question` (first asker's case kept): CNAME www → web, A web, an NS in authority. */
function builtReply(question = 'WWW.Example.com') {
  const first = rawQuery(question, A, { id: 0x1111 });
  const w = replyWriter(first);
  w.record({ name: n('www.example.com'), type: CNAME, ttl: 300, rdata: nameRdata('web.example.com') });
  w.record({ name: n('web.example.com'), type: A, ttl: 60, rdata: ipv4('192.0.2.80') });
  w.startSection(Section.Authority);
  w.record({ name: n('example.com'), type: NS, ttl: 86400, rdata: nameRdata('ns1.example.com') });
  return w.finish();
}

/** Puts one entry of every kind into `c`. */
function fill(c: Cache, clock: FakeClock): void {
  c.putRRset(n('www.example.com'), A, 300, [ipv4('192.0.2.1'), ipv4('192.0.2.2')], RANK.ANSWER_AA);
  c.putRRset(n('www.example.com'), AAAA, 300, [Buffer.alloc(16, 1)], RANK.ANSWER_AA);
  c.putRRset(n('example.com'), NS, 3600, [nameRdata('ns1.example.com')], RANK.ANSWER_AA);
  c.putRRset(n('deep.www.example.com'), TXT, 100, [Buffer.from('\x05hello')], RANK.ANSWER_AA);
  c.putNxdomain(n('nx.example.com'), 60, { name: n('example.com'), type: 6, rdata: soaRdata() });
  c.putNodata(n('www.example.com'), TXT, 60, null);
  c.putFailure(n('www.example.com'), 99, 5);
  c.putRRset(n('www.example.org'), A, 300, [ipv4('192.0.2.9')], RANK.ANSWER_AA);
  const entry = makeReplyEntry(builtReply(), 60, clock.now());
  c.putReply(n('www.example.com'), A, entry!);
}

describe('RecentQueries', () => {
  it('counts clients and names over the last N questions, busiest first, ties in key order', () => {
    const r = new RecentQueries(5);
    r.record('10.0.0.1', A, n('a.test'));
    r.record('10.0.0.2', A, n('b.test'));
    r.record('10.0.0.2', AAAA, n('b.test'));
    r.record('10.0.0.3', A, n('c.test'));
    const top = r.top();
    assert.equal(top.queries, 4);
    assert.deepEqual(top.clients, [
      { key: '10.0.0.2', count: 2 },
      { key: '10.0.0.1', count: 1 },
      { key: '10.0.0.3', count: 1 },
    ]);
    assert.deepEqual(top.names[0], { key: 'b.test.', count: 2 });
    assert.deepEqual(r.top(1).clients, [{ key: '10.0.0.3', count: 1 }], 'only the newest question');
    assert.equal(r.top(100, 1).clients.length, 1, 'limit');
    assert.equal(r.typeAt(0), A);
    assert.equal(r.typeAt(1), AAAA);
  });

  it('keeps only the last `size` questions once the ring wraps', () => {
    const r = new RecentQueries(3);
    for (let i = 0; i < 10; i++) r.record(`10.0.0.${i}`, A, n(`n${i}.test`));
    const top = r.top();
    assert.equal(top.queries, 3);
    assert.equal(top.total, 10);
    assert.deepEqual(top.clients.map((x) => x.key).sort(), ['10.0.0.7', '10.0.0.8', '10.0.0.9']);
    assert.deepEqual(new RecentQueries(4).top().clients, [], 'empty ring');
  });
});

describe('cache flushing', () => {
  it('flushName removes every kind of entry for that name and nothing else', () => {
    const { c, clock } = cache();
    fill(c, clock);
    const before = c.stats().entries;
    const removed = flushName(c, n('WWW.example.com'));
    assert.equal(removed, 5, 'A, AAAA, NODATA TXT, failure, reply');
    assert.equal(c.stats().entries, before - 5);
    assert.equal(c.getRRset(n('www.example.com'), A), null);
    assert.equal(c.getNodata(n('www.example.com'), TXT), null);
    assert.equal(c.hasFailure(n('www.example.com'), 99), false);
    assert.equal(c.getReply(n('www.example.com'), A), undefined);
    assert.ok(c.getRRset(n('deep.www.example.com'), TXT), 'a name below is kept');
    assert.ok(c.getRRset(n('example.com'), NS), 'the parent is kept');
  });

  it('flushSubtree removes a name and everything below it, label-aligned', () => {
    const { c, clock } = cache();
    fill(c, clock);
    c.putRRset(n('notexample.com'), A, 300, [ipv4('192.0.2.3')], RANK.ANSWER_AA);
    assert.equal(flushSubtree(c, n('www.example.com')), 6);
    assert.ok(c.getRRset(n('example.com'), NS));
    assert.equal(flushSubtree(c, n('example.com')), 2, 'NS and NXDOMAIN left');
    assert.ok(c.getRRset(n('notexample.com'), A), 'not below example.com');
    assert.ok(c.getRRset(n('www.example.org'), A));
  });

  it('flushing a name also removes replies whose answer went through it, by a CNAME or its records', () => {
    const { c, clock } = cache();
    fill(c, clock);
    // The reply stored for www is CNAME www -> web, A web (its question in the first asker's case).
    assert.equal(flushName(c, n('Web.Example.COM')), 1, 'the www reply, and nothing else');
    assert.equal(c.getReply(n('www.example.com'), A), undefined);
    assert.ok(c.getRRset(n('www.example.com'), A), "www's own records stay");

    // A CNAME to a name that has no records of its own (here NXDOMAIN): the target is in the CNAME's data only.
    const q = rawQuery('alias.example.org', A, { id: 7 });
    const w = new MessageWriter(7, 0, q[2]!, q[3]!, q.subarray(12), readName(q, 12).name);
    w.record({ name: n('alias.example.org'), type: CNAME, ttl: 300, rdata: nameRdata('gone.example.net') });
    c.putReply(n('alias.example.org'), A, makeReplyEntry(w.finish(), 60, clock.now())!);
    c.putReply(n('www.example.com'), A, makeReplyEntry(builtReply(), 60, clock.now())!);
    assert.equal(flushName(c, n('example.net')), 0, 'a parent of the target is not the target');
    assert.equal(
      flushSubtree(c, n('ne.example.net')),
      0,
      'label-aligned: gone.example.net is not below ne.example.net',
    );
    assert.equal(flushSubtree(c, n('example.net')), 1);
    assert.equal(c.getReply(n('alias.example.org'), A), undefined);
    assert.ok(c.getReply(n('www.example.com'), A), 'a reply that never went there stays');
  });

  it('flushAll empties the cache but keeps the motion counter', () => {
    const { c, clock } = cache();
    fill(c, clock);
    const motion = c.stats().motion;
    assert.equal(flushAll(c), 9);
    assert.equal(c.stats().entries, 0);
    assert.equal(c.stats().bytes, 0);
    assert.equal(c.stats().motion, motion);
  });
});

describe('dump format', () => {
  it('every kind of entry survives a line round trip with its absolute expiry', () => {
    const { c, clock } = cache();
    fill(c, clock);
    clock.advance(3);
    const snap = [...snapshot(c)];
    assert.equal(snap.length, 9);
    const { c: d, clock: clock2 } = cache();
    clock2.t = clock.t;
    for (const e of snap) {
      const line = entryLine(e);
      assert.ok(!line.includes('\n'));
      assert.equal(restore(d, parseEntryLine(line)), true, line);
    }
    assert.deepEqual([...snapshot(d)].map(entryLine), snap.map(entryLine), 'same entries, same order');
    assert.deepEqual(d.stats().bytes, c.stats().bytes, 'same charges');
    assert.equal(d.getRRset(n('www.example.com'), A)!.ttl, 297);
    assert.equal(d.getNxdomain(n('nx.example.com'))!.ttl, 57);
    assert.equal(d.hasFailure(n('www.example.com'), 99), true);
    // The restored reply renders exactly as the original does.
    const q = rawQuery('www.EXAMPLE.com', A, { id: 0x2222 });
    const render = (x: Cache) => renderReply(x.getReply(n('www.example.com'), A)!, q, q.length, 65535, null, clock.t);
    assert.deepEqual(render(d), render(c));
    assert.equal(
      render(d).readUInt32BE(builtReply().ttlOffsets[2]),
      86400 - 3,
      'TTLs counted down from the original build time',
    );
  });

  it('snapshot skips expired entries, restore refuses them and caps expiry at a week', () => {
    const { c, clock } = cache();
    c.putRRset(n('short.test'), A, 5, [ipv4('192.0.2.1')], RANK.ANSWER_AA);
    c.putRRset(n('long.test'), A, 500, [ipv4('192.0.2.2')], RANK.ANSWER_AA);
    clock.advance(10);
    assert.deepEqual(
      [...snapshot(c)].map((e) => e.name),
      [n('long.test')],
    );
    const old: CacheSnapshotEntry = {
      kind: 'rrset',
      name: n('x.test'),
      type: A,
      expires: clock.t,
      rdatas: [ipv4('192.0.2.3')],
      rank: RANK.ANSWER_AA,
      side: 'child',
    };
    assert.equal(restore(c, old), false);
    assert.equal(restore(c, { ...old, expires: clock.t + 10_000_000 }), true);
    assert.equal(c.getRRset(n('x.test'), A)!.ttl, 604800);
  });

  const good = JSON.stringify({
    kind: 'rrset',
    name: 'www.example.com.',
    type: 1,
    expires: 2_000_000,
    rdata: ['c0000201'],
  });
  const bad: Array<[string, string, RegExp]> = [
    ['not JSON', '{"kind":', /not a JSON object/],
    ['an array', '[1,2]', /not a JSON object/],
    ['unknown kind', good.replace('"rrset"', '"bogus"'), /"kind" is "bogus"/],
    ['missing expires', JSON.stringify({ kind: 'failure', name: 'a.', type: 1 }), /missing "expires"/],
    ['fractional expiry', good.replace('2000000', '2000000.5'), /"expires"/],
    ['bad name', good.replace('www.example.com.', 'a..b'), /"name" "a..b" is not a domain name/],
    ['type out of range', good.replace('"type":1', '"type":70000'), /"type" is 70000/],
    ['odd hex', good.replace('c0000201', 'c00002'.slice(0, 5)), /not a hex string/],
    ['short A', good.replace('c0000201', 'c00002'), /A record has 4 bytes/],
    ['empty rdata list', good.replace('["c0000201"]', '[]'), /non-empty array/],
    [
      'CNAME without a name',
      JSON.stringify({ kind: 'rrset', name: 'a.', type: 5, expires: 1, rdata: ['05616263'] }),
      /no valid uncompressed domain name/,
    ],
    [
      'compressed CNAME',
      JSON.stringify({ kind: 'rrset', name: 'a.', type: 5, expires: 1, rdata: ['c00c'] }),
      /no valid uncompressed domain name/,
    ],
    [
      'short SOA',
      JSON.stringify({ kind: 'nxdomain', name: 'a.', expires: 1, soa: { name: 'a.', rdata: '0000' } }),
      /SOA record needs 20 bytes/,
    ],
    [
      'soa not an object',
      JSON.stringify({ kind: 'nodata', name: 'a.', type: 1, expires: 1, soa: 'x' }),
      /"soa" is neither null nor an object/,
    ],
    [
      'rank out of range',
      good.replace('"rdata"', '"rank":9,"rdata"'),
      /"rank" is 9 \(expected an integer from 1 to 5\)/,
    ],
    [
      'unknown side',
      good.replace('"rdata"', '"side":"left","rdata"'),
      /"side" is "left" \(expected "child" or "parent"\)/,
    ],
  ];

  it("reads an RRset's rank and side; a line from before ranks is rank 4, the child's", () => {
    const old = parseEntryLine(good);
    assert.equal(old.kind === 'rrset' && `${old.rank} ${old.side}`, '4 child');
    const parent = parseEntryLine(good.replace('"rdata"', '"rank":2,"side":"parent","rdata"'));
    assert.equal(parent.kind === 'rrset' && `${parent.rank} ${parent.side}`, '2 parent');
    // And back: the line written carries them (side only when it is the parent's).
    assert.match(entryLine(parent), /"rank":2,"side":"parent"/);
    assert.doesNotMatch(entryLine(old), /"side"/);
  });
  for (const [what, line, re] of bad) {
    it(`rejects a line with ${what}`, () => {
      assert.throws(
        () => parseEntryLine(line),
        (err: Error) => err instanceof DumpLineError && re.test(err.message),
      );
    });
  }

  const replyLine = (mutate: (m: Buffer) => Buffer, name = 'www.example.com.', type = 1): string => {
    const msg = mutate(Buffer.from(builtReply().bytes));
    return JSON.stringify({
      kind: 'reply',
      name,
      type,
      expires: 2_000_000,
      built: 1_000_000,
      message: msg.toString('hex'),
    });
  };
  it('accepts a stored reply and derives its TTL offsets from the message', () => {
    const e = parseEntryLine(replyLine((m) => m));
    assert.equal(e.kind, 'reply');
    if (e.kind !== 'reply') return;
    const built = builtReply();
    assert.deepEqual(e.ttlOffsets, built.ttlOffsets);
    assert.equal(e.answerEnd, built.sectionEnds[0]);
    assert.equal(e.message.readUInt16BE(6), 2, 'its ANCOUNT');
  });
  const badReplies: Array<[string, string, RegExp]> = [
    ['another name', replyLine((m) => m, 'web.example.com.'), /question is not the entry's name and type/],
    ['another type', replyLine((m) => m, 'www.example.com.', 28), /question is not the entry's name and type/],
    ['trailing bytes', replyLine((m) => Buffer.concat([m, Buffer.from([0])])), /bytes after its last record/],
    ['a cut record', replyLine((m) => m.subarray(0, m.length - 3)), /runs past the end/],
    ['a query (QR=0)', replyLine((m) => ((m[2] = m[2]! & 0x7f), m)), /not a response/],
    ['two questions', replyLine((m) => (m.writeUInt16BE(2, 4), m)), /exactly one question/],
    ['a header only', replyLine((m) => m.subarray(0, 12)), /shorter than a header/],
    [
      'an OPT record',
      replyLine((m) =>
        Buffer.concat([(m.writeUInt16BE(1, 10), m), Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0])]),
      ),
      /holds an OPT record/,
    ],
    [
      'a forward compression pointer',
      replyLine((m) => {
        const out = Buffer.from(m);
        out.writeUInt16BE(0xc000 | (out.length - 1), 12 + 17 + 4);
        return out;
      }),
      /pointer does not point backwards|runs past/,
    ],
  ];
  for (const [what, line, re] of badReplies) {
    it(`rejects a reply entry with ${what}`, () => {
      assert.throws(
        () => parseEntryLine(line),
        (err: Error) => err instanceof DumpLineError && re.test(err.message),
      );
    });
  }

  it('checks the header line', () => {
    checkHeader(headerLine(5));
    assert.throws(() => checkHeader('{"format":"other"}'), /not a dnscache-ts cache dump/);
    assert.throws(
      () => checkHeader(JSON.stringify({ format: 'dnscache-ts cache dump', version: 2 })),
      /version 2 is not supported/,
    );
    assert.throws(() => checkHeader('garbage'), /not a dnscache-ts cache dump/);
  });
});

describe('dump and load files', () => {
  it('a dump turn ends after DUMP_TURN_MS of work, or at DUMP_TURN_LINES lines if the work is quick', () => {
    const { c } = cache(50_000_000);
    for (let i = 0; i < 2 * DUMP_TURN_LINES; i++)
      c.putRRset(n(`t${i}.test`), 1, 3600, [ipv4('192.0.2.1')], RANK.ANSWER_AA);
    const walk = gradualSnapshot(c)!;
    try {
      // Each slice of DUMP_SLICE entries takes 1 ms on this clock: the turn ends after the slice that reaches DUMP_TURN_MS.
      let ms = 0;
      assert.equal(dumpTurn(walk, () => ms++).length, DUMP_TURN_MS * DUMP_SLICE);
      // Work that takes no time ends at the line cap.
      assert.equal(dumpTurn(walk, () => 0).length, DUMP_TURN_LINES);
    } finally {
      walk.close();
    }
  });

  it('a dump lets the event loop run between turns: what is stored meanwhile is in the dump too', async () => {
    const dir = tmp();
    const file = join(dir, 'cache.dump');
    const { c } = cache(50_000_000);
    for (let i = 0; i < 5 * DUMP_TURN_LINES; i++)
      c.putRRset(n(`e${i}.test`), 1, 3600, [ipv4('192.0.2.1')], RANK.ANSWER_AA);
    let during = 0;
    let done = false;
    const meanwhile = (): void => {
      if (done) return;
      c.putRRset(n(`during${during++}.test`), 1, 3600, [ipv4('192.0.2.2')], RANK.ANSWER_AA);
      setImmediate(meanwhile);
    };
    setImmediate(meanwhile);
    const report = await writeDump(c, file);
    done = true;
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(
      during > 0 && /during\d+\.test/.test(text),
      `stored during the dump: ${during}; dumped: ${(text.match(/during/g) ?? []).length}`,
    );
    assert.equal(text.match(/"e\d+\.test\."/g)?.length, 5 * DUMP_TURN_LINES, 'every entry there at the start, once');
    assert.ok(report.entries >= 5 * DUMP_TURN_LINES);
    // And a second dump may start once the first is over.
    assert.ok((await writeDump(c, file)).entries > 0);
  });

  it('writes atomically (0600, no temporary left) and loads back, counting what it skipped', async () => {
    const dir = tmp();
    const file = join(dir, 'cache.dump');
    const { c, clock } = cache();
    fill(c, clock);
    const report = await writeDump(c, file);
    assert.equal(report.entries, 9);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dir), ['cache.dump']);
    assert.equal(report.bytes, fs.statSync(file).size);

    // Add bad lines, an expired entry and blank lines; the rest still loads.
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.splice(
      3,
      0,
      'not json',
      '',
      JSON.stringify({ kind: 'rrset', name: 'old.test.', type: 1, expires: clock.t - 1, rdata: ['c0000201'] }),
    );
    lines.push(JSON.stringify({ kind: 'rrset', name: 'x.', type: 1, expires: clock.t + 9, rdata: ['c000'] }));
    fs.writeFileSync(file, lines.join('\n'));
    const { c: d, clock: clock2 } = cache();
    clock2.t = clock.t;
    const loaded = await loadDump(d, file);
    assert.equal(loaded.loaded, 9);
    assert.equal(loaded.expired, 1);
    assert.equal(loaded.malformed, 2);
    assert.equal(loaded.skipped, 3);
    assert.deepEqual(
      loaded.errors.map((e) => e.replace(/:.*/, '')),
      ['line 4', 'line 15'],
    );
    assert.equal(d.stats().entries, 9);
  });

  it('refuses a file that is not a dump, an empty one and a missing one, loading nothing', async () => {
    const dir = tmp();
    const { c } = cache();
    fs.writeFileSync(join(dir, 'zone'), '$ORIGIN example.com.\n');
    await assert.rejects(
      loadDump(c, join(dir, 'zone')),
      (e: Error) => e instanceof DumpFileError && /line 1: not a dnscache-ts cache dump/.test(e.message),
    );
    fs.writeFileSync(join(dir, 'empty'), '');
    await assert.rejects(loadDump(c, join(dir, 'empty')), /empty/);
    await assert.rejects(loadDump(c, join(dir, 'missing')), { code: 'ENOENT' });
    assert.equal(c.stats().entries, 0);
  });

  it('an entry bigger than the whole cache is counted as too big', async () => {
    const dir = tmp();
    const { c, clock } = cache(100);
    const file = join(dir, 'd');
    fs.writeFileSync(
      file,
      `${headerLine(clock.t)}\n${JSON.stringify({ kind: 'rrset', name: 'big.test.', type: 16, expires: clock.t + 60, rdata: ['aa'.repeat(200)] })}\n`,
    );
    const r = await loadDump(c, file);
    assert.equal(r.tooBig, 1);
    assert.equal(r.loaded, 0);
  });

  it('a failed dump leaves no temporary file and the old dump intact', async () => {
    const dir = tmp();
    const { c } = cache();
    await assert.rejects(writeDump(c, join(dir, 'no', 'such', 'dir')), { code: 'ENOENT' });
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

describe('control requests', () => {
  it('parses every command', () => {
    assert.deepEqual(parseRequest('{"cmd":"stats"}'), { cmd: 'stats' });
    assert.deepEqual(parseRequest('{"cmd":"flush","name":"a.test"}'), { cmd: 'flush', name: 'a.test' });
    assert.deepEqual(parseRequest('{"cmd":"flush-subtree","name":"test"}'), { cmd: 'flush-subtree', name: 'test' });
    assert.deepEqual(parseRequest('{"cmd":"flush-all"}'), { cmd: 'flush-all' });
    assert.deepEqual(parseRequest('{"cmd":"dump","file":"x"}'), { cmd: 'dump', file: 'x' });
    assert.deepEqual(parseRequest('{"cmd":"load","file":"x"}'), { cmd: 'load', file: 'x' });
    assert.deepEqual(parseRequest('{"cmd":"top"}'), { cmd: 'top' });
    assert.deepEqual(parseRequest('{"cmd":"top","queries":5,"limit":3}'), { cmd: 'top', queries: 5, limit: 3 });
    assert.deepEqual(parseRequest('{"cmd":"reload"}'), { cmd: 'reload' });
  });

  for (const [line, re] of [
    ['', /not JSON/],
    ['stats', /not JSON/],
    ['[]', /not a JSON object/],
    ['{"cmd":"shutdown"}', /unknown command "shutdown"/],
    ['{}', /unknown command undefined/],
    ['{"cmd":"flush"}', /flush: "name" must be a non-empty string/],
    ['{"cmd":"dump","file":""}', /dump: "file" must be a non-empty string/],
    ['{"cmd":"load","file":"a\\u0000b"}', /must not contain NUL/],
    ['{"cmd":"top","queries":0}', /"queries" must be an integer/],
    ['{"cmd":"top","limit":"3"}', /"limit" must be an integer/],
  ] as const) {
    it(`refuses ${JSON.stringify(line)}`, () => {
      assert.throws(
        () => parseRequest(line),
        (e: Error) => e instanceof RequestError && re.test(e.message),
      );
    });
  }

  it('dump and load files stay inside ROOT, with or without a chroot', () => {
    assert.equal(fileInRoot('/srv/root', 'cache.dump'), '/srv/root/cache.dump');
    assert.equal(fileInRoot('/srv/root', '/cache.dump'), '/srv/root/cache.dump');
    assert.equal(fileInRoot('/srv/root', '../../etc/passwd'), '/srv/root/etc/passwd');
    assert.equal(fileInRoot('/', 'dumps/../cache.dump'), '/cache.dump');
  });

  it('a dump writes each chunk as it is made: it never holds more than one', async () => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'dump-chunks-'));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const line = JSON.stringify({ kind: 'failure', name: 'x.'.repeat(40), type: 1, expires: 2_000_000_000 });
    const onDisk: number[] = [];
    function* lines(): Generator<string> {
      for (let i = 0; i < 40_000; i++) {
        // Every 10,000 lines (about 0.8 MB each), what the temporary file holds so far.
        if (i % 10_000 === 0) {
          const tmp = fs.readdirSync(dir).find((f) => f.includes('.tmp.'));
          onDisk.push(tmp === undefined ? -1 : fs.statSync(join(dir, tmp)).size);
        }
        yield line;
      }
    }
    const report = await writeDumpLines(join(dir, 'cache.dump'), 1_000_000, lines());
    assert.equal(report.entries, 40_000);
    assert.ok(
      onDisk[0]! >= 0 && onDisk[3]! >= 2 * 1024 * 1024,
      `on disk while lines were still being made: ${onDisk.join(', ')}`,
    );
  });

  it('a symbolic link inside ROOT that leads out of it is refused for dump and load; one that stays inside is followed', async () => {
    const top = fs.mkdtempSync(join(tmpdir(), 'confined-'));
    after(() => fs.rmSync(top, { recursive: true, force: true }));
    const root = join(top, 'root');
    const outside = join(top, 'outside');
    fs.mkdirSync(join(root, 'dumps'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(join(outside, 'secret'), 'x');
    fs.symlinkSync(outside, join(root, 'out'));
    fs.symlinkSync(join(root, 'dumps'), join(root, 'in'));
    fs.symlinkSync(join(outside, 'secret'), join(root, 'secret-link'));
    const refused = (e: Error): boolean =>
      e instanceof RequestError && /leads outside ROOT through a symbolic link/.test(e.message);
    await assert.rejects(confinedFile(root, 'out/cache.dump', 'write'), refused);
    await assert.rejects(confinedFile(root, 'out/secret', 'read'), refused);
    await assert.rejects(confinedFile(root, 'secret-link', 'read'), refused);
    assert.equal(await confinedFile(root, 'in/cache.dump', 'write'), join(root, 'in/cache.dump'));
    assert.equal(await confinedFile(root, 'cache.dump', 'write'), join(root, 'cache.dump'));
    assert.equal(await confinedFile(root, 'missing/cache.dump', 'read'), join(root, 'missing/cache.dump'));
  });
});

describe('CONTROL settings', () => {
  it('defaults to no socket and a ring of 10000', () => {
    assert.deepEqual(controlSettings({}), { socket: null, ringSize: 10000 });
    assert.deepEqual(controlSettings({ CONTROL: '' }), { socket: null, ringSize: 10000 });
  });

  it('resolves the path and reads CONTROLRING', () => {
    assert.deepEqual(controlSettings({ CONTROL: '/srv/d/control', CONTROLRING: '50' }), {
      socket: '/srv/d/control',
      ringSize: 50,
    });
    assert.equal(controlSettings({ CONTROL: 'control' }).socket, join(process.cwd(), 'control'));
  });

  for (const [env, re] of [
    [{ CONTROLRING: 'ten' }, /CONTROLRING: "ten" is not a decimal number/],
    [{ CONTROLRING: '0' }, /CONTROLRING: "0" is out of range/],
    [{ CONTROLRING: '1000001' }, /out of range/],
    [{ CONTROL: '/' + 'x'.repeat(200) }, /CONTROL: .* is longer than 107 bytes/],
  ] as const) {
    it(`refuses ${JSON.stringify(env)}`, () => {
      assert.throws(
        () => controlSettings(env),
        (e: Error) => e instanceof ConfigError && re.test(e.message),
      );
    });
  }
});

describe('reloading servers/ and ip/', () => {
  function root(servers: Record<string, string>, ip: string[] | null = ['127.0.0.1']): string {
    const r = tmp();
    fs.mkdirSync(join(r, 'servers'));
    for (const [f, text] of Object.entries(servers)) fs.writeFileSync(join(r, 'servers', f), text);
    if (ip) {
      fs.mkdirSync(join(r, 'ip'));
      for (const f of ip) fs.writeFileSync(join(r, 'ip', f), '');
    }
    return r;
  }

  it('the swappable table answers as the table swapped in', () => {
    const t = new SwappableServerTable(readServersDir(root({ '@': '192.0.2.1\n' })));
    assert.equal(closestServers(t, n('www.example.com'))!.servers[0]!.address, '192.0.2.1');
    t.swap(readServersDir(root({ '@': '192.0.2.2\n', 'example.com': '192.0.2.3\n' })));
    assert.equal(closestServers(t, n('www.example.com'))!.servers[0]!.address, '192.0.2.3');
    assert.equal(closestServers(t, n('www.example.org'))!.servers[0]!.address, '192.0.2.2');
    assert.equal(t.size, 2);
    assert.deepEqual([...t.keys()].length, 2);
    let seen = 0;
    t.forEach(() => seen++);
    assert.equal(seen, 2);
  });

  it('readReloadable reads servers/ and counts ip/ entries', () => {
    const r = readReloadable(root({ '@': '192.0.2.1\n', 'corp.example': '192.0.2.2\n' }, ['127.0.0.1', '10', '#10.1']));
    assert.equal(r.servers.size, 2);
    assert.equal(r.ipEntries, 3);
  });

  it('a bad servers/ file or a missing ip/ is a ConfigError naming it', () => {
    assert.throws(
      () => readReloadable(root({ '@': '192.0.2.x\n' })),
      /servers\/@ line 1: "192.0.2.x" is not an address/,
    );
    assert.throws(
      () => readReloadable(root({ '@': '192.0.2.1\n' }, null)),
      (e: Error) => e instanceof ConfigError && /ip\/: unable to read .* \(ENOENT\)/.test(e.message),
    );
  });
});
