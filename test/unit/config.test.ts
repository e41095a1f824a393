import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CACHESIZE_MAX,
  CACHESIZE_MIN,
  ConfigError,
  Env,
  ServerAddress,
  isLoopback,
  loadConfig,
  parseEnv,
  parseIPv4,
  parseIPv6,
  parseIp,
  parseServerEntry,
  parseServersFile,
  readServersDir,
} from '../../src/config';
import { ROOT, nameFromText, nameToText } from '../../src/wire/name';

// ---------------------------------------------------------------- helpers

const tmpBase = fs.mkdtempSync(path.join(os.tmpdir(), 'dnscache-config-test-'));
after(() => fs.rmSync(tmpBase, { recursive: true, force: true }));
let tmpCount = 0;

/** Creates ROOT with servers/ holding the given files (name → contents). */
function makeRoot(files: Record<string, string>): string {
  const root = path.join(tmpBase, `root${++tmpCount}`);
  fs.mkdirSync(path.join(root, 'servers'), { recursive: true });
  fs.mkdirSync(path.join(root, 'ip'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(root, 'servers', name), text);
  return root;
}

/** Asserts fn throws a ConfigError whose message contains every fragment. */
function throwsConfig(fn: () => unknown, ...fragments: string[]): string {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.name, 'ConfigError');
  for (const f of fragments) {
    assert.ok(caught.message.includes(f), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(f)}`);
  }
  return caught.message;
}

const BASE: Env = { IP: '127.0.0.1', ROOT: '/nonexistent-root-not-read-by-parseEnv' };
const env = (extra: Env): Env => ({ ...BASE, ...extra });

const srv = (address: string, port = 53, family: 4 | 6 = address.includes(':') ? 6 : 4): ServerAddress => ({
  address,
  port,
  family,
});

// djbdns 1.05 dnsroots.global: 13 IPv4 lines, nothing else.
const DJBDNS_ROOTS = [
  '198.41.0.4',
  '128.9.0.107',
  '192.33.4.12',
  '128.8.10.90',
  '192.203.230.10',
  '192.5.5.241',
  '192.112.36.4',
  '128.63.2.53',
  '192.36.148.17',
  '192.58.128.30',
  '193.0.14.129',
  '198.32.64.12',
  '202.12.27.33',
];

// ---------------------------------------------------------------- address.ts

describe('address: IPv4', () => {
  it('accepts strict dotted quads and returns them canonical', () => {
    for (const a of ['0.0.0.0', '127.0.0.1', '255.255.255.255', '10.20.30.40', '1.0.0.9']) {
      assert.equal(parseIPv4(a), a);
    }
  });
  it('rejects everything else', () => {
    for (const a of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1.2.3.256',
      '1.2.3.-1',
      '0x7f.0.0.1',
      '127.1',
      '1..2.3',
      '1.2.3.4 ',
      ' 1.2.3.4',
      '1.2.3.4a',
      '1.2.3.4.',
      '+1.2.3.4',
      '1234.1.1.1',
      '010.0.0.1',
      '1.2.3.00',
    ]) {
      assert.equal(parseIPv4(a), undefined, a);
    }
  });
  it('explains why a leading zero is refused', () => {
    const r = parseIp('010.0.0.1');
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : '', /leading zeros/);
  });
});

describe('address: IPv6', () => {
  it('canonicalises (RFC 5952, lower case)', () => {
    assert.equal(parseIPv6('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(parseIPv6('::'), '::');
    assert.equal(parseIPv6('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(parseIPv6('FE80::ABCD'), 'fe80::abcd');
    assert.equal(parseIPv6('1:2:3:4:5:6:7:8'), '1:2:3:4:5:6:7:8');
  });
  it('keeps a %scope (interface name or number)', () => {
    assert.equal(parseIPv6('fe80::1%eth0'), 'fe80::1%eth0');
    assert.equal(parseIPv6('FE80::1%eth0.100'), 'fe80::1%eth0.100');
    assert.equal(parseIPv6('fe80::1%2'), 'fe80::1%2');
  });
  it('rejects malformed text', () => {
    for (const a of [
      '',
      ':',
      ':::1',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '12345::1',
      'g::1',
      '::1%',
      '::1%eth 0',
      '::1%a%b',
      '[::1]',
      '::ffff:010.1.1.1',
      '::ffff:127.1',
      '1.2.3.4',
      ' ::1',
    ]) {
      assert.equal(parseIPv6(a), undefined, a);
    }
  });
  it('parseIp maps ::ffff:a.b.c.d to IPv4 and keeps other IPv6 as IPv6', () => {
    assert.deepEqual(parseIp('::ffff:10.1.2.3'), { ok: true, value: { address: '10.1.2.3', family: 4 } });
    assert.deepEqual(parseIp('::FFFF:a01:203'), { ok: true, value: { address: '10.1.2.3', family: 4 } });
    assert.deepEqual(parseIp('::1'), { ok: true, value: { address: '::1', family: 6 } });
    assert.deepEqual(parseIp('9.8.7.6'), { ok: true, value: { address: '9.8.7.6', family: 4 } });
    assert.equal(parseIp('example.com').ok, false);
  });
});

describe('address: server entries', () => {
  const good: [string, ServerAddress][] = [
    ['1.2.3.4', srv('1.2.3.4')],
    ['1.2.3.4:5353', srv('1.2.3.4', 5353)],
    ['1.2.3.4:1', srv('1.2.3.4', 1)],
    ['1.2.3.4:65535', srv('1.2.3.4', 65535)],
    ['::1', srv('::1')],
    ['[::1]', srv('::1')],
    ['[::1]:5353', srv('::1', 5353)],
    ['2001:DB8::53', srv('2001:db8::53')],
    ['fe80::1%eth0', srv('fe80::1%eth0')],
    ['[fe80::1%eth0]:5300', srv('fe80::1%eth0', 5300)],
    ['::ffff:192.0.2.1', srv('192.0.2.1', 53, 4)],
    ['[::ffff:192.0.2.1]:54', srv('192.0.2.1', 54, 4)],
  ];
  for (const [text, want] of good) {
    it(`parses ${text}`, () => {
      assert.deepEqual(parseServerEntry(text), { ok: true, value: want });
    });
  }
  it('rejects bad entries with a reason', () => {
    const bad: [string, RegExp][] = [
      ['10.0.0.x', /not an IPv4 or IPv6 address/],
      ['1.2.3.4:0', /port "0" is not a number from 1 to 65535/],
      ['1.2.3.4:65536', /port "65536"/],
      ['1.2.3.4:', /port ""/],
      ['1.2.3.4:dns', /port "dns"/],
      ['[::1]:0', /port "0"/],
      ['[::1', /missing "\]"/],
      ['[::1]x', /unexpected "x"/],
      ['[1.2.3.4]:53', /only an IPv6 address/],
      ['[::g]:53', /not an IPv4 or IPv6 address/],
      ['example.com', /not an IPv4 or IPv6 address/],
      ['example.com:53', /not an IPv4 or IPv6 address/],
      ['010.0.0.1', /leading zeros/],
      ['fe80::1%', /not an IPv4 or IPv6 address/],
    ];
    for (const [text, why] of bad) {
      const r = parseServerEntry(text);
      assert.equal(r.ok, false, text);
      assert.match(r.ok ? '' : r.reason, why, text);
    }
  });
});

// ---------------------------------------------------------------- env.ts

describe('env: defaults', () => {
  it('needs only IP and ROOT and fills in every default', () => {
    const s = parseEnv(BASE);
    assert.deepEqual(s, {
      listen: { address: '127.0.0.1', port: 53, family: 4 },
      sendFrom: { v4: '0.0.0.0', v6: '::' },
      root: BASE.ROOT,
      cacheSize: 1000000,
      workers: 1,
      dataLimit: undefined,
      hideTtl: false,
      forwardOnly: false,
      maxUdp: 400,
      maxTcp: 40,
      serverPort: 53,
      qmin: true,
      stale: 86400,
      minTtl: 0,
      maxTtl: 604800,
      queryLocalhost: true,
      uid: undefined,
      gid: undefined,
      routing: { etcd: [], etcdPrefix: '/dnsrouter/', routeOnly: false, checkSeconds: 2 },
      health: { name: ROOT, type: 6, intervalMs: 1000 },
      curve: { txtFormat: false, uz5Fallback: 0, flaggedServers: false },
      warnings: [],
    });
  });
  it('ignores variables it does not know', () => {
    const s = parseEnv(env({ PATH: '/bin', ip: 'garbage', IP4: '1.2.3.4', Port: 'x', cachesize: 'x' }));
    assert.deepEqual(s, parseEnv(BASE));
  });
  it('does not look at the file system (ROOT is checked by loadConfig)', () => {
    assert.equal(parseEnv(env({ ROOT: 'relative/never/created' })).root, 'relative/never/created');
  });
});

describe('env: IP', () => {
  it('is required', () => {
    const m = throwsConfig(() => parseEnv({ ROOT: '/' }), 'IP: not set');
    assert.match(m, /expected/);
  });
  it('matches the documented message for a bad address', () => {
    throwsConfig(() => parseEnv(env({ IP: '1.2.3' })));
    assert.throws(() => parseEnv(env({ IP: '1.2.3' })), {
      message: 'IP: unable to parse IP address "1.2.3" (expected an IPv4 or IPv6 address)',
    });
  });
  it('rejects every malformed value, naming it', () => {
    for (const v of [
      '',
      'localhost',
      '1.2.3.4.5',
      '300.1.1.1',
      '127.1',
      '::1::',
      '1.2.3.4:53',
      '[::1]',
      ' 127.0.0.1',
    ]) {
      throwsConfig(
        () => parseEnv(env({ IP: v })),
        'IP: unable to parse IP address',
        JSON.stringify(v),
        'expected an IPv4 or IPv6 address',
      );
    }
  });
  it('adds a hint for leading zeros', () => {
    throwsConfig(() => parseEnv(env({ IP: '127.000.000.001' })), '"127.000.000.001"', 'leading zeros');
  });
  it('accepts IPv4, IPv6 and IPv6 with scope', () => {
    assert.deepEqual(parseEnv(env({ IP: '0.0.0.0' })).listen, { address: '0.0.0.0', port: 53, family: 4 });
    assert.deepEqual(parseEnv(env({ IP: '::1' })).listen, { address: '::1', port: 53, family: 6 });
    assert.deepEqual(parseEnv(env({ IP: '::' })).listen, { address: '::', port: 53, family: 6 });
    assert.deepEqual(parseEnv(env({ IP: 'FE80::1%lo' })).listen, { address: 'fe80::1%lo', port: 53, family: 6 });
  });
  it('treats an IPv4-mapped address as IPv4', () => {
    assert.deepEqual(parseEnv(env({ IP: '::ffff:127.0.0.1' })).listen, { address: '127.0.0.1', port: 53, family: 4 });
  });
});

describe('env: PORT', () => {
  it('accepts 1..65535', () => {
    for (const [v, n] of [
      ['1', 1],
      ['53', 53],
      ['5353', 5353],
      ['65535', 65535],
      ['00053', 53],
    ] as const) {
      assert.equal(parseEnv(env({ PORT: v })).listen.port, n);
    }
  });
  it('rejects 0, out of range and non-digits, naming the value', () => {
    for (const v of ['0', '65536', '99999999999']) {
      throwsConfig(() => parseEnv(env({ PORT: v })), 'PORT:', JSON.stringify(v), 'out of range', '1 to 65535');
    }
    for (const v of ['', 'dns', '53x', '-1', '+53', ' 53', '5.3', '0x35']) {
      throwsConfig(() => parseEnv(env({ PORT: v })), 'PORT:', JSON.stringify(v), 'not a decimal number', '1 to 65535');
    }
  });
});

describe('env: SERVERPORT', () => {
  it('defaults to 53 and accepts 1..65535', () => {
    assert.equal(parseEnv(env({})).serverPort, 53);
    assert.equal(parseEnv(env({ SERVERPORT: '5053' })).serverPort, 5053);
  });
  it('rejects 0 and non-digits, naming the variable and value', () => {
    throwsConfig(() => parseEnv(env({ SERVERPORT: '0' })), 'SERVERPORT:', '"0"', '1 to 65535');
    throwsConfig(() => parseEnv(env({ SERVERPORT: 'x' })), 'SERVERPORT:', '"x"', 'not a decimal number');
  });
});

describe('env: MINTTL and MAXTTL', () => {
  it('default to none and a week', () => {
    const s = parseEnv(env({}));
    assert.deepEqual([s.minTtl, s.maxTtl], [0, 604800]);
  });
  it('accept seconds up to a week, MINTTL up to MAXTTL', () => {
    const s = parseEnv(env({ MINTTL: '300', MAXTTL: '600' }));
    assert.deepEqual([s.minTtl, s.maxTtl], [300, 600]);
    assert.deepEqual(
      [parseEnv(env({ MINTTL: '60', MAXTTL: '60' })).minTtl, parseEnv(env({ MAXTTL: '1' })).maxTtl],
      [60, 1],
    );
    assert.equal(parseEnv(env({ MINTTL: '604800' })).minTtl, 604800);
  });
  it('reject non-digits and values out of range, naming variable and value', () => {
    for (const v of ['', '5m', '-1', '1e3', ' 60']) {
      throwsConfig(
        () => parseEnv(env({ MINTTL: v })),
        'MINTTL:',
        JSON.stringify(v),
        'not a decimal number',
        '0 to 604800',
      );
      throwsConfig(
        () => parseEnv(env({ MAXTTL: v })),
        'MAXTTL:',
        JSON.stringify(v),
        'not a decimal number',
        '1 to 604800',
      );
    }
    throwsConfig(() => parseEnv(env({ MINTTL: '604801' })), 'MINTTL:', '"604801"', 'out of range', '0 to 604800');
    throwsConfig(() => parseEnv(env({ MAXTTL: '0' })), 'MAXTTL:', '"0"', 'out of range', '1 to 604800');
    throwsConfig(() => parseEnv(env({ MAXTTL: '604801' })), 'MAXTTL:', '"604801"', 'out of range');
  });
  it('reject MINTTL above MAXTTL', () => {
    assert.throws(() => parseEnv(env({ MINTTL: '700', MAXTTL: '600' })), {
      message: 'MINTTL: "700" is above MAXTTL 600 (expected MINTTL at most MAXTTL)',
    });
    throwsConfig(() => parseEnv(env({ MINTTL: '3600', MAXTTL: '60' })), 'MINTTL: "3600" is above MAXTTL 60');
  });
});

describe('isLoopback', () => {
  it('is 127.0.0.0/8 and ::1, however written', () => {
    for (const a of [
      '127.0.0.1',
      '127.255.255.254',
      '127.53.0.1',
      '::1',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
    ])
      assert.equal(isLoopback(a), true, a);
  });
  it('is nothing else', () => {
    for (const a of [
      '126.255.255.255',
      '128.0.0.1',
      '0.0.0.0',
      '::',
      '::2',
      '192.0.2.1',
      'fe80::1%lo',
      '::ffff:192.0.2.1',
      'not an address',
      '',
    ])
      assert.equal(isLoopback(a), false, a);
  });
});

describe('env: QUERY_LOCALHOST', () => {
  it('defaults to allowed; 0 forbids, 1 allows', () => {
    assert.equal(parseEnv(env({})).queryLocalhost, true);
    assert.equal(parseEnv(env({ QUERY_LOCALHOST: '0' })).queryLocalhost, false);
    assert.equal(parseEnv(env({ QUERY_LOCALHOST: '1' })).queryLocalhost, true);
  });
  it('rejects anything but 0 and 1, naming variable and value', () => {
    for (const v of ['', 'no', 'yes', ' 0', 'false', '-1']) {
      throwsConfig(
        () => parseEnv(env({ QUERY_LOCALHOST: v })),
        'QUERY_LOCALHOST:',
        JSON.stringify(v),
        'not a decimal number',
        'expected 0 to never send queries to 127.0.0.0/8 and ::1, or 1 to allow it',
      );
    }
    throwsConfig(
      () => parseEnv(env({ QUERY_LOCALHOST: '2' })),
      'QUERY_LOCALHOST:',
      '"2"',
      'out of range',
      'expected 0 to never',
    );
  });
});

describe('env: IPSEND', () => {
  const cases: [string | undefined, { v4: string; v6: string }][] = [
    [undefined, { v4: '0.0.0.0', v6: '::' }],
    ['0.0.0.0', { v4: '0.0.0.0', v6: '::' }],
    ['10.0.0.5', { v4: '10.0.0.5', v6: '::' }],
    ['::', { v4: '0.0.0.0', v6: '::' }],
    ['0:0::0', { v4: '0.0.0.0', v6: '::' }],
    ['2001:DB8::5', { v4: '0.0.0.0', v6: '2001:db8::5' }],
    ['fe80::5%eth1', { v4: '0.0.0.0', v6: 'fe80::5%eth1' }],
    ['::ffff:192.0.2.7', { v4: '192.0.2.7', v6: '::' }],
  ];
  for (const [v, want] of cases) {
    it(`IPSEND=${String(v)} → ${JSON.stringify(want)}`, () => {
      assert.deepEqual(parseEnv(env({ IPSEND: v })).sendFrom, want);
    });
  }
  it('rejects a bad address, naming it', () => {
    for (const v of ['', 'any', '1.2.3', '::g']) {
      throwsConfig(
        () => parseEnv(env({ IPSEND: v })),
        'IPSEND: unable to parse IP address',
        JSON.stringify(v),
        'expected an IPv4 or IPv6 address',
      );
    }
  });
});

describe('env: ROOT', () => {
  it('is required and must not be empty', () => {
    throwsConfig(() => parseEnv({ IP: '127.0.0.1' }), 'ROOT: not set', 'expected');
    throwsConfig(() => parseEnv(env({ ROOT: '' })), 'ROOT:', '""', 'expected');
  });
});

describe('env: CACHESIZE', () => {
  it('accepts values in range without warnings', () => {
    for (const [v, n] of [
      ['100', 100],
      ['5000', 5000],
      ['1000000', 1000000],
      ['1000000000', 1000000000],
    ] as const) {
      const s = parseEnv(env({ CACHESIZE: v }));
      assert.equal(s.cacheSize, n);
      assert.deepEqual(s.warnings, []);
    }
  });
  it('clamps like dnscache and reports it as a warning', () => {
    const cases: [string, number, RegExp][] = [
      ['0', CACHESIZE_MIN, /CACHESIZE: 0 is below the minimum 100; using 100/],
      ['99', CACHESIZE_MIN, /CACHESIZE: 99 is below the minimum 100/],
      ['1000000001', CACHESIZE_MAX, /CACHESIZE: 1000000001 is above the maximum 1000000000; using 1000000000/],
      ['99999999999999999999999', CACHESIZE_MAX, /above the maximum/],
    ];
    for (const [v, n, warning] of cases) {
      const s = parseEnv(env({ CACHESIZE: v }));
      assert.equal(s.cacheSize, n, v);
      assert.equal(s.warnings.length, 1);
      assert.match(s.warnings[0]!, warning);
    }
  });
  it('rejects anything but decimal digits', () => {
    for (const v of ['', '1e6', '1000000 ', '-100', '100k', '0x1000', '1,000']) {
      throwsConfig(
        () => parseEnv(env({ CACHESIZE: v })),
        'CACHESIZE:',
        JSON.stringify(v),
        'not a decimal number',
        'expected',
      );
    }
  });
});

describe('env: DATALIMIT', () => {
  it('is optional and numeric', () => {
    assert.equal(parseEnv(env({ DATALIMIT: '3000000' })).dataLimit, 3000000);
    assert.equal(parseEnv(env({ DATALIMIT: '0' })).dataLimit, 0);
  });
  it('rejects non-digits and unsafe numbers', () => {
    for (const v of ['', '3M', 'unlimited', '-1']) {
      throwsConfig(
        () => parseEnv(env({ DATALIMIT: v })),
        'DATALIMIT:',
        JSON.stringify(v),
        'not a decimal number',
        'expected',
      );
    }
    throwsConfig(() => parseEnv(env({ DATALIMIT: '99999999999999999999' })), 'DATALIMIT:', 'out of range');
  });
});

describe('env: HIDETTL and FORWARDONLY', () => {
  it('are true when present, whatever the value (even empty)', () => {
    for (const v of ['', '1', 'yes', 'anything']) {
      const s = parseEnv(env({ HIDETTL: v, FORWARDONLY: v }));
      assert.equal(s.hideTtl, true);
      assert.equal(s.forwardOnly, true);
    }
    assert.equal(parseEnv(env({ HIDETTL: '0' })).hideTtl, true);
  });
  it('FORWARDONLY=0, no, false or off is refused: it would turn forwarding on', () => {
    for (const v of ['0', 'no', 'False', ' off ']) {
      assert.throws(
        () => parseEnv(env({ FORWARDONLY: v })),
        (e: Error) =>
          e instanceof ConfigError &&
          e.message.startsWith(
            `FORWARDONLY: ${JSON.stringify(v)} would turn it on: it is on when set at all, as in dnscache (expected it unset for off`,
          ),
      );
    }
  });
  it('are independent', () => {
    const a = parseEnv(env({ HIDETTL: '' }));
    assert.equal(a.hideTtl, true);
    assert.equal(a.forwardOnly, false);
    const b = parseEnv(env({ FORWARDONLY: '' }));
    assert.equal(b.hideTtl, false);
    assert.equal(b.forwardOnly, true);
  });
});

describe('env: MAXUDP and MAXTCP', () => {
  it('accept 1..100000', () => {
    const s = parseEnv(env({ MAXUDP: '1', MAXTCP: '100000' }));
    assert.equal(s.maxUdp, 1);
    assert.equal(s.maxTcp, 100000);
    const t = parseEnv(env({ MAXUDP: '800', MAXTCP: '2' }));
    assert.equal(t.maxUdp, 800);
    assert.equal(t.maxTcp, 2);
  });
  it('reject 0, too large and non-digits', () => {
    for (const name of ['MAXUDP', 'MAXTCP']) {
      for (const v of ['0', '100001'])
        throwsConfig(() => parseEnv(env({ [name]: v })), `${name}:`, JSON.stringify(v), 'out of range', '1 to 100000');
      for (const v of ['', 'many', '-5', '1.5'])
        throwsConfig(() => parseEnv(env({ [name]: v })), `${name}:`, JSON.stringify(v), 'not a decimal number');
    }
  });
});

describe('env: UID and GID', () => {
  it('are optional numbers', () => {
    const s = parseEnv(env({ UID: '65534', GID: '0' }));
    assert.equal(s.uid, 65534);
    assert.equal(s.gid, 0);
    assert.equal(parseEnv(env({ UID: '1000' })).gid, undefined);
  });
  it('reject names, negatives and (uid_t)-1', () => {
    for (const name of ['UID', 'GID']) {
      for (const v of ['nobody', '', '-1', '12abc'])
        throwsConfig(
          () => parseEnv(env({ [name]: v })),
          `${name}:`,
          JSON.stringify(v),
          'not a decimal number',
          'expected',
        );
      throwsConfig(() => parseEnv(env({ [name]: '4294967295' })), `${name}:`, '"4294967295"', 'out of range');
    }
  });
});

describe('env: DNSCurve variables', () => {
  it('USETEXTFORMAT and USETXTFORMAT both select the TXT format', () => {
    assert.equal(parseEnv(env({ USETEXTFORMAT: '1' })).curve.txtFormat, true);
    assert.equal(parseEnv(env({ USETXTFORMAT: '' })).curve.txtFormat, true);
  });
  it('FLAGEDSERVER is a presence flag', () => {
    assert.equal(parseEnv(env({ FLAGEDSERVER: '' })).curve.flaggedServers, true);
    assert.equal(parseEnv(env({ FLAGGEDSERVER: '1' })).curve.flaggedServers, false);
  });
  it('UZ5FALLBACK is a non-negative integer', () => {
    assert.deepEqual(parseEnv(env({ UZ5FALLBACK: '2', USETEXTFORMAT: '1', FLAGEDSERVER: '1' })).curve, {
      txtFormat: true,
      uz5Fallback: 2,
      flaggedServers: true,
    });
    assert.equal(parseEnv(env({ UZ5FALLBACK: '0' })).curve.uz5Fallback, 0);
    for (const v of ['', 'yes', '-1']) {
      throwsConfig(
        () => parseEnv(env({ UZ5FALLBACK: v })),
        'UZ5FALLBACK:',
        JSON.stringify(v),
        'not a decimal number',
        'expected',
      );
    }
  });
});

// ---------------------------------------------------------------- servers.ts

describe('servers: file parsing', () => {
  it('parses a djbdns-style root list (13 IPv4 lines, no comments) unchanged', () => {
    const list = parseServersFile(DJBDNS_ROOTS.join('\n') + '\n', 'servers/@');
    assert.deepEqual(
      list,
      DJBDNS_ROOTS.map((a) => srv(a)),
    );
  });
  it('skips blank lines and comments, allows trailing comments, CRLF and a BOM', () => {
    const text = [
      '\uFEFF# root servers',
      '',
      '   # indented comment',
      '198.41.0.4',
      '  192.33.4.12  ',
      '\t',
      '199.7.91.13 # d.root',
      '192.203.230.10\t#e',
      '192.5.5.241#f',
      '2001:500:2f::f  # f, v6',
      '192.112.36.4\r',
      '#198.97.190.53',
    ].join('\n');
    assert.deepEqual(parseServersFile(text, 'servers/@'), [
      srv('198.41.0.4'),
      srv('192.33.4.12'),
      srv('199.7.91.13'),
      srv('192.203.230.10'),
      srv('192.5.5.241'),
      srv('2001:500:2f::f'),
      srv('192.112.36.4'),
    ]);
  });
  it('handles ports, IPv6, brackets and %scope', () => {
    const text = '127.0.0.1:5353\n::1\n[::1]:5354\nfe80::53%eth0\n[fe80::53%eth0]:5355\n';
    assert.deepEqual(parseServersFile(text, 'servers/example.com'), [
      srv('127.0.0.1', 5353),
      srv('::1'),
      srv('::1', 5354),
      srv('fe80::53%eth0'),
      srv('fe80::53%eth0', 5355),
    ]);
  });
  it('removes duplicates, keeping the first, after normalisation', () => {
    const text = [
      '10.0.0.1',
      '10.0.0.2:5353',
      '10.0.0.1:53',
      '::ffff:10.0.0.1',
      '10.0.0.2:5353 # again',
      '10.0.0.2',
      '2001:db8::1',
      '2001:DB8:0:0::1',
      '[2001:db8::1]:53',
    ].join('\n');
    assert.deepEqual(parseServersFile(text, 'servers/@'), [
      srv('10.0.0.1'),
      srv('10.0.0.2', 5353),
      srv('10.0.0.2'),
      srv('2001:db8::1'),
    ]);
  });
  it('keeps many entries (no 16/32 cut-off here)', () => {
    const lines = Array.from({ length: 40 }, (_, i) => `10.0.${i}.1`);
    assert.equal(parseServersFile(lines.join('\n'), 'servers/@').length, 40);
  });
  it('names file, line and value for a bad line', () => {
    assert.throws(() => parseServersFile('10.0.0.1\n# ok\n10.0.0.x\n', 'servers/@'), {
      name: 'ConfigError',
      message:
        'servers/@ line 3: "10.0.0.x" is not an address (expected IPv4, IPv6 or [IPv6]:port, optionally followed by key=value options (order, weight, qps) and a # comment)',
    });
  });
  it('rejects trailing text that is not a # comment', () => {
    throwsConfig(
      () => parseServersFile('\n\n\n\n1.2.3.4 ns1\n', 'servers/example.org'),
      'servers/example.org line 5',
      '"1.2.3.4 ns1"',
      'expected',
    );
    throwsConfig(() => parseServersFile('1.2.3.4; x\n', 'servers/@'), 'servers/@ line 1', '"1.2.3.4; x"');
  });
  it('gives the reason for bad ports and leading zeros', () => {
    throwsConfig(
      () => parseServersFile('1.2.3.4\n1.2.3.4:0', 'servers/@'),
      'servers/@ line 2',
      '"1.2.3.4:0"',
      'port "0"',
      '1 to 65535',
    );
    throwsConfig(() => parseServersFile('[::1]:99999', 'servers/x'), 'servers/x line 1', 'port "99999"');
    throwsConfig(() => parseServersFile('010.0.0.1', 'servers/@'), 'servers/@ line 1', '"010.0.0.1"', 'leading zeros');
  });
  it('says a binary file is not a text file; quotes a long or odd line escaped and cut', () => {
    throwsConfig(
      () => parseServersFile('\x7fELF\x02\x01\x00\x00', 'servers/@'),
      'servers/@: not a text file (a NUL character at offset 6; expected one address per line)',
    );
    const err = throwsConfig(() => parseServersFile(`\u00e9${'x'.repeat(200)}`, 'servers/@'), 'servers/@ line 1');
    assert.match(err, /^servers\/@ line 1: "\\u00e9x{79}"\.\.\. \(201 characters\) is not an address/);
  });
  it('rejects a file without any address', () => {
    for (const text of ['', '\n\n', '# nothing here\n   # still nothing\n']) {
      throwsConfig(() => parseServersFile(text, 'servers/example.net'), 'servers/example.net: no server addresses');
    }
  });
  it('returns frozen entries', () => {
    const [first] = parseServersFile('1.2.3.4', 'servers/@');
    assert.ok(Object.isFrozen(first));
  });
});

describe('servers: directory', () => {
  it('reads @ and other domains into a Name-keyed table', () => {
    const root = makeRoot({ '@': DJBDNS_ROOTS.join('\n') + '\n', 'example.com': '10.0.0.1\n10.0.0.2:5353\n' });
    const table = readServersDir(root);
    assert.equal(table.size, 2);
    assert.deepEqual(
      table.get(ROOT),
      DJBDNS_ROOTS.map((a) => srv(a)),
    );
    assert.deepEqual(table.get(nameFromText('example.com')), [srv('10.0.0.1'), srv('10.0.0.2', 5353)]);
  });
  it('matches file names case-insensitively', () => {
    const table = readServersDir(makeRoot({ '@': '1.1.1.1', 'Example.COM': '10.0.0.1' }));
    assert.deepEqual(table.get(nameFromText('example.com')), [srv('10.0.0.1')]);
    assert.equal(nameToText([...table.keys()].find((k) => k !== ROOT)!), 'example.com.');
  });
  it('accepts a trailing dot', () => {
    const table = readServersDir(makeRoot({ '@': '1.1.1.1', 'example.org.': '10.0.0.3' }));
    assert.deepEqual(table.get(nameFromText('example.org')), [srv('10.0.0.3')]);
  });
  it('decodes \\ooo octal escapes in file names', () => {
    const table = readServersDir(
      makeRoot({ '@': '1.1.1.1', '\\101bc.example': '10.0.0.4', 'a\\056b.example': '10.0.0.5' }),
    );
    assert.deepEqual(table.get(nameFromText('abc.example')), [srv('10.0.0.4')]);
    const dotted = nameFromText('a\\056b.example', 'octal');
    assert.equal(nameToText(dotted), 'a\\.b.example.');
    assert.deepEqual(table.get(dotted), [srv('10.0.0.5')]);
    assert.equal(table.get(nameFromText('a.b.example')), undefined);
  });
  it('refuses two files naming the same domain', () => {
    const root = makeRoot({ '@': '1.1.1.1', 'Example.COM': '10.0.0.1', 'example.com': '10.0.0.2' });
    throwsConfig(() => readServersDir(root), 'servers/example.com', 'servers/Example.COM', '"example.com."');
  });
  it('ignores names starting with a dot, files and directories alike', () => {
    const root = makeRoot({ '@': '1.1.1.1', '.hidden': 'not an address at all', '.@.swp': '' });
    fs.mkdirSync(path.join(root, 'servers', '.git'));
    const table = readServersDir(root);
    assert.deepEqual([...table.keys()], [ROOT]);
  });
  it('requires servers/@', () => {
    const root = makeRoot({ 'example.com': '10.0.0.1' });
    assert.throws(() => readServersDir(root), {
      name: 'ConfigError',
      message:
        'servers/@: missing (expected the root servers or, with FORWARDONLY, the upstream caches, one address per line)',
    });
  });
  it('requires the servers/ directory', () => {
    const root = path.join(tmpBase, 'no-servers');
    fs.mkdirSync(root);
    throwsConfig(
      () => readServersDir(root),
      'servers/',
      JSON.stringify(path.join(root, 'servers')),
      'does not exist',
      'expected',
    );
    const root2 = path.join(tmpBase, 'servers-is-file');
    fs.mkdirSync(root2);
    fs.writeFileSync(path.join(root2, 'servers'), '1.2.3.4');
    throwsConfig(() => readServersDir(root2), 'servers/', 'is not a directory');
  });
  it('refuses a sub-directory, naming it', () => {
    const root = makeRoot({ '@': '1.1.1.1' });
    fs.mkdirSync(path.join(root, 'servers', 'sub.example'));
    throwsConfig(() => readServersDir(root), 'servers/sub.example: is a directory', 'expected a file');
  });
  it('refuses an unreadable file (dangling symlink), naming it', () => {
    const root = makeRoot({ '@': '1.1.1.1' });
    fs.symlinkSync(path.join(root, 'nowhere'), path.join(root, 'servers', 'broken.example'));
    throwsConfig(() => readServersDir(root), 'servers/broken.example: unable to read', 'ENOENT');
  });
  it('follows a symlink to a regular file', () => {
    const root = makeRoot({ '@': '1.1.1.1' });
    fs.writeFileSync(path.join(root, 'shared-list'), '10.9.8.7\n');
    fs.symlinkSync(path.join(root, 'shared-list'), path.join(root, 'servers', 'linked.example'));
    assert.deepEqual(readServersDir(root).get(nameFromText('linked.example')), [srv('10.9.8.7')]);
  });
  it('refuses a file name that is not a domain', () => {
    const root = makeRoot({ '@': '1.1.1.1', 'a..b': '10.0.0.1' });
    throwsConfig(() => readServersDir(root), 'servers/a..b', 'not a domain name', 'expected');
    const long = makeRoot({ '@': '1.1.1.1', ['x'.repeat(64) + '.example']: '10.0.0.1' });
    throwsConfig(() => readServersDir(long), `servers/${'x'.repeat(64)}.example`, 'label longer than 63');
  });
  it('reports a bad line with the file name and line number', () => {
    const root = makeRoot({ '@': '1.1.1.1', 'example.com': '10.0.0.1\nns1.example.com\n' });
    throwsConfig(() => readServersDir(root), 'servers/example.com line 2', '"ns1.example.com"', 'is not an address');
  });
  it('reports an empty file', () => {
    throwsConfig(
      () => readServersDir(makeRoot({ '@': '1.1.1.1', 'empty.example': '' })),
      'servers/empty.example: no server addresses',
    );
    throwsConfig(() => readServersDir(makeRoot({ '@': '# roots to be added\n' })), 'servers/@: no server addresses');
  });
  it('returns a read-only table', () => {
    const table = readServersDir(makeRoot({ '@': '1.1.1.1' }));
    const asMap = table as Map<unknown, unknown>;
    assert.throws(() => asMap.set(ROOT, []), TypeError);
    assert.throws(() => asMap.delete(ROOT), TypeError);
    assert.throws(() => asMap.clear(), TypeError);
    assert.ok(Object.isFrozen(table.get(ROOT)));
    assert.equal(table.size, 1);
  });
});

// ---------------------------------------------------------------- loadConfig

describe('loadConfig', () => {
  it('builds a complete, frozen Config', () => {
    const root = makeRoot({ '@': DJBDNS_ROOTS.join('\n'), 'internal.example': '[::1]:5353\n' });
    const config = loadConfig({
      IP: '::1',
      PORT: '5300',
      IPSEND: '127.0.0.1',
      ROOT: root,
      CACHESIZE: '10',
      DATALIMIT: '3000000',
      HIDETTL: '',
      MAXUDP: '10',
      MAXTCP: '5',
      UID: '65534',
      GID: '65533',
      USETXTFORMAT: '1',
      UZ5FALLBACK: '2',
      FLAGEDSERVER: '1',
    });
    assert.deepEqual(config.listen, { address: '::1', port: 5300, family: 6 });
    assert.deepEqual(config.sendFrom, { v4: '127.0.0.1', v6: '::' });
    assert.equal(config.root, root);
    assert.equal(config.cacheSize, 100);
    assert.deepEqual(config.warnings, ['CACHESIZE: 10 is below the minimum 100; using 100']);
    assert.equal(config.dataLimit, 3000000);
    assert.equal(config.hideTtl, true);
    assert.equal(config.forwardOnly, false);
    assert.equal(config.maxUdp, 10);
    assert.equal(config.maxTcp, 5);
    assert.equal(config.uid, 65534);
    assert.equal(config.gid, 65533);
    assert.deepEqual(config.curve, { txtFormat: true, uz5Fallback: 2, flaggedServers: true });
    assert.equal(config.servers.get(ROOT)!.length, 13);
    assert.deepEqual(config.servers.get(nameFromText('internal.example')), [srv('::1', 5353)]);

    for (const part of [config, config.listen, config.sendFrom, config.curve, config.warnings]) {
      assert.ok(Object.isFrozen(part));
    }
    assert.throws(() => {
      (config as { cacheSize: number }).cacheSize = 5;
    }, TypeError);
    assert.throws(() => {
      (config.listen as { port: number }).port = 1;
    }, TypeError);
    assert.equal(config.cacheSize, 100);
  });
  it('resolves a relative ROOT to an absolute path', () => {
    const root = makeRoot({ '@': '1.1.1.1' });
    const relative = path.relative(process.cwd(), root);
    const config = loadConfig({ IP: '127.0.0.1', ROOT: relative });
    assert.ok(path.isAbsolute(config.root));
    assert.equal(config.root, root);
  });
  it('checks that ROOT exists and is a directory', () => {
    const missing = path.join(tmpBase, 'missing-root');
    throwsConfig(
      () => loadConfig({ IP: '127.0.0.1', ROOT: missing }),
      'ROOT:',
      JSON.stringify(missing),
      'does not exist',
      'expected',
    );
    const file = path.join(tmpBase, 'root-is-a-file');
    fs.writeFileSync(file, '');
    throwsConfig(
      () => loadConfig({ IP: '127.0.0.1', ROOT: file }),
      'ROOT:',
      JSON.stringify(file),
      'is not a directory',
      'expected',
    );
  });
  it('reports environment errors before looking at ROOT', () => {
    throwsConfig(() => loadConfig({ ROOT: path.join(tmpBase, 'missing-root') }), 'IP: not set');
    throwsConfig(
      () => loadConfig({ IP: 'x', ROOT: path.join(tmpBase, 'missing-root') }),
      'IP: unable to parse IP address "x"',
    );
  });
  it('propagates servers/ errors', () => {
    const root = makeRoot({ 'example.com': '10.0.0.1' });
    throwsConfig(() => loadConfig({ IP: '127.0.0.1', ROOT: root }), 'servers/@: missing');
    const bad = makeRoot({ '@': '1.1.1.1\n1.1.1.1.1\n' });
    throwsConfig(() => loadConfig({ IP: '127.0.0.1', ROOT: bad }), 'servers/@ line 2', '"1.1.1.1.1"');
  });
  it('accepts process.env-shaped input and a FORWARDONLY service directory', () => {
    const root = makeRoot({ '@': '192.0.2.53\n192.0.2.54\n' });
    const processLike: NodeJS.ProcessEnv = {
      IP: '127.0.0.1',
      ROOT: root,
      FORWARDONLY: '',
      IPSEND: '0.0.0.0',
      CACHESIZE: '1000000',
    };
    const config = loadConfig(processLike);
    assert.equal(config.forwardOnly, true);
    assert.deepEqual(config.servers.get(ROOT), [srv('192.0.2.53'), srv('192.0.2.54')]);
    assert.deepEqual(config.warnings, []);
  });
});
