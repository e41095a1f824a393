import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  isAtOrBelow,
  nameFromLabels,
  nameFromText,
  NameError,
  nameToBuffer,
  nameToText,
  parentName,
  readName,
  ROOT,
  writeName,
} from '../../src/wire/name';
import { Bytes, n, wireName } from './helpers';

const label = (len: number, ch = 'a'): string => ch.repeat(len);

describe('readName', () => {
  it('reads an uncompressed name, lower-cases it and reports the end', () => {
    const buf = new Bytes().u8(0xff, 0xff).name('WwW.Example.COM').u8(0xaa).buffer();
    const r = readName(buf, 2);
    assert.equal(r.name, '\x03www\x07example\x03com\x00');
    assert.equal(r.end, 2 + 17);
  });

  it('reads the root', () => {
    const r = readName(Buffer.from([0x00]), 0);
    assert.equal(r.name, ROOT);
    assert.equal(r.end, 1);
  });

  it('lower-cases only ASCII A-Z', () => {
    // '@' (0x40) and '[' (0x5b) border A-Z; 0xc4 (latin1 'Ä') and 0xdd must stay.
    const buf = new Bytes().u8(6, 0x40, 0x41, 0x5a, 0x5b, 0xc4, 0xdd).u8(0).buffer();
    const r = readName(buf, 0);
    assert.deepEqual(Buffer.from(r.name, 'latin1'), Buffer.from([6, 0x40, 0x61, 0x7a, 0x5b, 0xc4, 0xdd, 0]));
  });

  it('follows a backward pointer; end is just past the pointer', () => {
    const b = new Bytes().name('example.com'); // at 0
    const at = b.length;
    b.labels('www').pointer(0).u8(0xee, 0xee);
    const r = readName(b.buffer(), at);
    assert.equal(r.name, n('www.example.com'));
    assert.equal(r.end, at + 4 + 2);
  });

  it('a name that is only a pointer ends two bytes later', () => {
    const b = new Bytes().header().name('Example.COM').u16(1).u16(1);
    const at = b.length;
    b.pointer(12);
    const r = readName(b.buffer(), at);
    assert.equal(r.name, n('example.com'));
    assert.equal(r.end, at + 2);
  });

  it('follows chained pointers and ends past the first one', () => {
    const b = new Bytes().name('com'); // 0..4
    const mid = b.length;
    b.labels('example').pointer(0); // example.com
    const at = b.length;
    b.labels('a.b').pointer(mid);
    const r = readName(b.buffer(), at);
    assert.equal(r.name, n('a.b.example.com'));
    assert.equal(r.end, at + 4 + 2);
  });

  it('follows forward pointers, as dnscache does', () => {
    const b = new Bytes().labels('www').pointer(10);
    while (b.length < 10) b.u8(0xff);
    b.name('example.org');
    const r = readName(b.buffer(), 0);
    assert.equal(r.name, n('www.example.org'));
    assert.equal(r.end, 6);
  });

  it('rejects a pointer to itself', () => {
    assert.throws(() => readName(new Bytes().pointer(0).buffer(), 0), NameError);
  });

  it('rejects a two-pointer loop', () => {
    const buf = new Bytes().pointer(2).pointer(0).buffer();
    assert.throws(() => readName(buf, 0), /loop/);
  });

  it('rejects a loop through labels (would grow without end)', () => {
    const buf = new Bytes().labels('a').pointer(0).buffer();
    assert.throws(() => readName(buf, 0), NameError);
  });

  for (const type of [0x40, 0x41, 0x7f, 0x80, 0xbf]) {
    it(`rejects label type byte 0x${type.toString(16)}`, () => {
      const buf = Buffer.concat([Buffer.from([type]), Buffer.alloc(200, 0x61), Buffer.from([0])]);
      assert.throws(() => readName(buf, 0), /bad label type/);
    });
  }

  it('accepts a 63-byte label', () => {
    const r = readName(wireName(label(63) + '.com'), 0);
    assert.equal(r.name.length, 1 + 63 + 4 + 1);
  });

  it('accepts exactly 255 bytes and rejects 257', () => {
    const ok = [label(63), label(63), label(63), label(61)].join('.');
    assert.equal(wireName(ok).length, 255);
    assert.equal(readName(wireName(ok), 0).name.length, 255);
    const bad = [label(63), label(63), label(63), label(63)].join('.');
    assert.equal(wireName(bad).length, 257);
    assert.throws(() => readName(wireName(bad), 0), /longer than 255/);
  });

  it('rejects 256 bytes', () => {
    const bad = [label(63), label(63), label(63), label(62)].join('.');
    assert.equal(wireName(bad).length, 256);
    assert.throws(() => readName(wireName(bad), 0), /longer than 255/);
  });

  it('counts the length after decompression', () => {
    // Each part is short on the wire but the expanded name is 257 bytes.
    const b = new Bytes().name([label(63), label(63)].join('.')); // 129 bytes at 0
    const at = b.length;
    b.labels([label(63), label(63)].join('.')).pointer(0);
    assert.throws(() => readName(b.buffer(), at), /longer than 255/);
  });

  it('rejects reads past the end', () => {
    assert.throws(() => readName(Buffer.from([3, 0x61, 0x62]), 0), /past end/); // label cut
    assert.throws(() => readName(Buffer.from([3, 0x61, 0x62, 0x63]), 0), /past end/); // no terminator
    assert.throws(() => readName(Buffer.from([0xc0]), 0), /past end/); // half a pointer
    assert.throws(() => readName(Buffer.from([0xc0, 0x10]), 0), /past end/); // pointer outside
    assert.throws(() => readName(Buffer.from([0]), 1), /past end/);
  });
});

describe('nameFromText', () => {
  it('lower-cases and builds the wire form', () => {
    assert.equal(nameFromText('WWW.Example.Com'), '\x03www\x07example\x03com\x00');
  });

  it('ignores a trailing dot', () => {
    assert.equal(nameFromText('example.com.'), nameFromText('example.com'));
  });

  it("takes '.' and '@' as the root", () => {
    assert.equal(nameFromText('.'), ROOT);
    assert.equal(nameFromText('@'), ROOT);
  });

  it('rejects the empty string and empty labels inside a name', () => {
    assert.throws(() => nameFromText(''), NameError);
    assert.throws(() => nameFromText('a..b'), /empty label/);
    assert.throws(() => nameFromText('www..example.com.'), /empty label/);
  });

  it('decodes octal escapes (djbdns servers/ file names) by default', () => {
    assert.equal(nameFromText('a\\056b.example'), '\x03a.b\x07example\x00');
    assert.equal(nameFromText('\\101bc'), '\x03abc\x00'); // \101 = 'A', lower-cased
    assert.equal(nameFromText('x\\0y'), '\x03x\x00y\x00');
    assert.equal(nameFromText('\\1234'), '\x02s4\x00'); // three digits at most: \123 = 'S', then '4'
  });

  it('takes only 0-7 as octal digits', () => {
    // djbdns reads `\18` as byte 1 followed by '8', and `\9` as a quoted '9'.
    assert.deepEqual(Buffer.from(nameFromText('a\\18'), 'latin1'), Buffer.from([3, 0x61, 1, 0x38, 0]));
    assert.equal(nameFromText('\\9x'), '\x029x\x00');
  });

  it('rejects octal values above 255', () => {
    assert.throws(() => nameFromText('\\400'), /bad escape/);
  });

  it('decodes decimal escapes when asked (RFC 1035 text)', () => {
    assert.equal(nameFromText('a\\046b.example', 'decimal'), '\x03a.b\x07example\x00');
    assert.equal(nameFromText('\\065', 'decimal'), '\x01a\x00');
    assert.deepEqual(Buffer.from(nameFromText('\\255\\000', 'decimal'), 'latin1'), Buffer.from([2, 255, 0, 0]));
    assert.throws(() => nameFromText('\\256', 'decimal'), /bad escape/);
  });

  it('quotes any other character after a backslash', () => {
    assert.equal(nameFromText('a\\.b.com'), '\x03a.b\x03com\x00');
    assert.equal(nameFromText('a\\\\b'), '\x03a\\b\x00');
  });

  it('rejects a trailing backslash and non-latin1 characters', () => {
    assert.throws(() => nameFromText('abc\\'), /trailing backslash/);
    assert.throws(() => nameFromText('b\u0142ad.example'), /non-ASCII/);
  });

  it('accepts 63-byte labels and rejects 64-byte ones', () => {
    assert.equal(nameFromText(label(63)).length, 65);
    assert.throws(() => nameFromText(label(64) + '.com'), /longer than 63/);
  });

  it('accepts 255-byte names and rejects 256-byte ones', () => {
    assert.equal(nameFromText([label(63), label(63), label(63), label(61)].join('.')).length, 255);
    assert.throws(() => nameFromText([label(63), label(63), label(63), label(62)].join('.')), /longer than 255/);
  });
});

describe('isAtOrBelow', () => {
  it('is true for the zone itself and names below it', () => {
    assert.equal(isAtOrBelow(n('example.com'), n('example.com')), true);
    assert.equal(isAtOrBelow(n('www.example.com'), n('example.com')), true);
    assert.equal(isAtOrBelow(n('a.b.c.example.com'), n('example.com')), true);
  });

  it('is label-aligned', () => {
    assert.equal(isAtOrBelow(n('bexample.com'), n('example.com')), false);
    assert.equal(isAtOrBelow(n('xample.com'), n('ample.com')), false);
    // The raw bytes of the zone occur as a suffix, but inside a label.
    const tricky = nameFromText('x\\005ample.com');
    assert.ok(tricky.endsWith(n('ample.com')));
    assert.equal(isAtOrBelow(tricky, n('ample.com')), false);
    assert.equal(isAtOrBelow(tricky, n('com')), true);
  });

  it('is false above or beside the zone', () => {
    assert.equal(isAtOrBelow(n('com'), n('example.com')), false);
    assert.equal(isAtOrBelow(n('example.net'), n('example.com')), false);
    assert.equal(isAtOrBelow(ROOT, n('com')), false);
  });

  it('everything is at or below the root', () => {
    assert.equal(isAtOrBelow(ROOT, ROOT), true);
    assert.equal(isAtOrBelow(n('www.example.com'), ROOT), true);
  });
});

describe('parentName and friends', () => {
  it('drops the first label; the root is its own parent', () => {
    assert.equal(parentName(n('www.example.com')), n('example.com'));
    assert.equal(parentName(n('com')), ROOT);
    assert.equal(parentName(ROOT), ROOT);
  });

  it('nameFromLabels lower-cases and validates', () => {
    assert.equal(nameFromLabels(['WWW', 'example', 'com']), n('www.example.com'));
    assert.equal(nameFromLabels([]), ROOT);
    assert.throws(() => nameFromLabels(['a', '', 'b']), NameError);
    assert.throws(() => nameFromLabels([label(64)]), NameError);
  });

  it('writes the wire bytes', () => {
    const buf = Buffer.alloc(20, 0xee);
    assert.equal(writeName(buf, n('a.bc'), 2), 2 + 6);
    assert.deepEqual(buf.subarray(2, 8), Buffer.from([1, 0x61, 2, 0x62, 0x63, 0]));
    assert.deepEqual(nameToBuffer(n('Example.com')), wireName('example.com'));
  });
});

describe('nameToText', () => {
  it('prints with a trailing dot; the root is "."', () => {
    assert.equal(nameToText(n('WWW.example.com')), 'www.example.com.');
    assert.equal(nameToText(ROOT), '.');
  });

  it('escapes dots, backslashes and unprintable bytes', () => {
    const name = nameFromLabels(['a.b', 'c\\d', 'sp ace', '\x00\x7f\xff']);
    assert.equal(nameToText(name), 'a\\.b.c\\\\d.sp\\032ace.\\000\\127\\255.');
  });

  it('round-trips through nameFromText with decimal escapes', () => {
    const names = [
      n('www.example.com'),
      ROOT,
      nameFromLabels(['a.b', 'c\\d', '@', 'x y', '\x01\x1f\x80\xff', 'z']),
      nameFromLabels([label(63), label(63), label(63), label(61)]),
    ];
    for (const name of names) assert.equal(nameFromText(nameToText(name), 'decimal'), name);
  });

  it('round-trips names read off the wire', () => {
    const buf = new Bytes().u8(5, 0x41, 0x2e, 0x20, 0x5c, 0x80).name('EXAMPLE').buffer();
    const name = readName(buf, 0).name;
    assert.equal(nameToText(name), 'a\\.\\032\\\\\\128.example.');
    assert.equal(nameFromText(nameToText(name), 'decimal'), name);
  });
});
