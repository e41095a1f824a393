import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/errors';
import { parseEtcdEndpoints, parseEnv } from '../../src/config/env';
import { parseRoute, parseRoutesFile, Route } from '../../src/config/routes';
import { BackendHealth, checkQuery } from '../../src/route/health';
import { Router } from '../../src/route/router';
import { literalTail, RouteTable } from '../../src/route/table';
import { ManualClock } from '../clock';

function route(value: string, source = 'test'): Route {
  const r = parseRoute(value, source);
  if (!r.ok) throw new Error(r.reason);
  return r.route;
}

describe("route values (dnsrouter's ADDRESS:PORT,REGEX)", () => {
  it('parses an address, a port and a pattern; IPv6 in brackets', () => {
    const r = route('127.0.0.1:5300,^[ab]*\\.miek\\.nl\\.$');
    assert.deepEqual(r.backend, { address: '127.0.0.1', port: 5300, family: 4 });
    assert.equal(r.pattern.source, '^[ab]*\\.miek\\.nl\\.$');
    assert.equal(route('[::1]:53,\\.test\\.$').backend.family, 6);
  });

  for (const [value, why] of [
    ['127.0.0.1:5300', /no comma/],
    ['127.0.0.1,^a\\.$', /names no port/],
    ['example.net:53,^a\\.$', /names no backend/],
    ['127.0.0.1:99999,^a\\.$', /names no backend/],
    ['127.0.0.1:53,', /empty pattern/],
    ['127.0.0.1:53,^(a', /not a regular expression/],
    [`127.0.0.1:53,${'a'.repeat(5000)}`, /longer than 4096/],
  ] as const) {
    it(`refuses ${JSON.stringify(value.slice(0, 40))}, saying why and what was expected`, () => {
      const r = parseRoute(value, 'etcd key /dnsrouter/x');
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.match(r.reason, why);
        assert.match(r.reason, /^etcd key \/dnsrouter\/x: /);
        assert.match(r.reason, /expected ADDRESS:PORT,REGEX/);
      }
    });
  }

  it('the routes file: comments and blank lines skipped, a bad line named by number', () => {
    const routes = parseRoutesFile(
      '# backends\n\n127.0.0.1:5300,^a\\.$\r\n  # more\n127.0.0.2:5300,^b\\.$\n',
      'routes',
    );
    assert.deepEqual(
      routes.map((r) => [r.source, r.backend.address]),
      [
        ['routes line 3', '127.0.0.1'],
        ['routes line 5', '127.0.0.2'],
      ],
    );
    assert.throws(
      () => parseRoutesFile('127.0.0.1:5300,^a\\.$\nnonsense\n', 'routes'),
      (e: Error) => e instanceof ConfigError && /^routes line 2: "nonsense" has no comma/.test(e.message),
    );
    assert.throws(() => parseRoutesFile('a\0b', 'routes'), /not a text file/);
  });

  it('a pattern that backtracks catastrophically ends at once (V8 falls back to its linear engine)', () => {
    const r = route('127.0.0.1:53,^(a+)+$');
    const started = performance.now();
    assert.equal(r.pattern.test('a'.repeat(60) + '.'), false);
    // Backtracking would take longer than the universe has left; linear is microseconds.
    assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms`);
  });
});

describe('ETCD, ETCD_PREFIX, ROUTEONLY, ROUTECHECK', () => {
  it('endpoints are http://host:port, several with commas', () => {
    assert.deepEqual(parseEtcdEndpoints('http://127.0.0.1:2379, http://[::1]:2379'), ['127.0.0.1:2379', '[::1]:2379']);
    assert.throws(() => parseEtcdEndpoints('127.0.0.1:2379'), /ETCD: "127.0.0.1:2379" is not (a URL|http:\/\/)/);
    assert.throws(() => parseEtcdEndpoints('https://127.0.0.1:2379'), /TLS to etcd is not supported/);
    assert.throws(() => parseEtcdEndpoints('http://127.0.0.1'), /must be scheme:\/\/host:port/);
    assert.throws(() => parseEtcdEndpoints('http://127.0.0.1:2379/v3'), /must be scheme:\/\/host:port/);
  });

  it("defaults: no etcd, dnsrouter's prefix, routing first but not only, checks every 2 s", () => {
    const s = parseEnv({ IP: '127.0.0.1', ROOT: '/' }).routing;
    assert.deepEqual(s, { etcd: [], etcdPrefix: '/dnsrouter/', routeOnly: false, checkSeconds: 2 });
    const t = parseEnv({
      IP: '127.0.0.1',
      ROOT: '/',
      ETCD: 'http://127.0.0.1:2379',
      ETCD_PREFIX: '/routes/',
      ROUTEONLY: '1',
      ROUTECHECK: '5',
    }).routing;
    assert.deepEqual(t, { etcd: ['127.0.0.1:2379'], etcdPrefix: '/routes/', routeOnly: true, checkSeconds: 5 });
    assert.throws(() => parseEnv({ IP: '127.0.0.1', ROOT: '/', ROUTECHECK: '0' }), /ROUTECHECK/);
    assert.throws(() => parseEnv({ IP: '127.0.0.1', ROOT: '/', ETCD_PREFIX: '' }), /ETCD_PREFIX: is empty/);
  });
});

describe('RouteTable', () => {
  it('literalTail: the literals before an end anchor, whole when anchored at both ends', () => {
    assert.deepEqual(literalTail('^[ab]*\\.miek\\.nl\\.$'), { tail: '.miek.nl.', whole: false });
    assert.deepEqual(literalTail('^miek\\.nl\\.$'), { tail: 'miek.nl.', whole: true });
    assert.deepEqual(literalTail('x-y\\.test\\.$'), { tail: 'x-y.test.', whole: false });
    assert.deepEqual(literalTail('\\d\\.test\\.$'), { tail: '.test.', whole: false }, '\\d is a class, not a d');
    assert.deepEqual(literalTail('a?\\.test\\.$').tail, '.test.');
    assert.deepEqual(literalTail('a|b\\.test\\.$').tail, '', 'the anchor binds only the last alternative');
    assert.deepEqual(literalTail('(a|b)\\.test\\.$').tail, '.test.');
    assert.deepEqual(literalTail('\\.test\\.'), { tail: '', whole: false }, 'not anchored');
    assert.deepEqual(literalTail('\\.test\\$').tail, '', 'an escaped dollar is a dollar');
    assert.deepEqual(literalTail('[.]test\\.$').tail, 'test.');
  });

  it("matches exactly what testing every pattern matches, in the table's order", () => {
    const patterns = [
      '^[ab]*\\.miek\\.nl\\.$',
      '^miek\\.nl\\.$',
      'iek\\.nl\\.$',
      '\\.nl\\.$',
      'nl\\.$',
      'a|b\\.nl\\.$',
      '^www\\.',
      '(x|y)\\.nl\\.$',
      '.*',
      '\\d+\\.test\\.$',
      '^a\\.b\\.c\\.$',
      'c\\.$',
    ];
    const routes = patterns.map((p, i) => route(`127.0.0.${i + 1}:53,${p}`, `line ${i + 1}`));
    const table = new RouteTable(routes);
    const names = [
      'miek.nl.',
      'a.miek.nl.',
      'ab.miek.nl.',
      'c.miek.nl.',
      'xmiek.nl.',
      'nl.',
      'www.example.',
      'x.nl.',
      '12.test.',
      'a.test.',
      'a.b.c.',
      'c.',
      '.',
      'b.nl.',
      'a.',
      'foo\\.nl.',
    ];
    for (const name of names) {
      const naive = routes.filter((r) => r.pattern.test(name));
      assert.deepEqual(
        table.match(name).map((r) => r.source),
        naive.map((r) => r.source),
        name,
      );
    }
  });
});

describe('BackendHealth and Router', () => {
  /** Health whose checks say what `alive` says, run when the test ticks. */
  function health(alive: Set<string>, changes: string[]): { health: BackendHealth; tick: () => Promise<void> } {
    const clock = new ManualClock();
    const h = new BackendHealth(
      async (x) => alive.has(x.address),
      1000,
      (x, up) => changes.push(`${x.address} ${up ? 'up' : 'down'}`),
      clock,
    );
    return {
      health: h,
      tick: async () => {
        clock.advance(1000);
        await h.checkAll();
      },
    };
  }

  it('routes take turns among those whose backend is up; a backend down is out until it answers again', async () => {
    const alive = new Set(['127.0.0.1', '127.0.0.2']);
    const changes: string[] = [];
    const { health: h, tick } = health(alive, changes);
    const router = new Router(h);
    router.setFileRoutes([route('127.0.0.1:5300,\\.test\\.$', 'file a')]);
    router.setEtcdRoute('/dnsrouter/b', route('127.0.0.2:5300,\\.test\\.$', 'etcd b'));
    await tick();
    assert.deepEqual(changes, [], 'a backend found up at its first check is no news');
    const first = (): string => {
      const r = router.route('x.test.');
      return r.kind === 'routed' ? r.backends[0]!.address : r.kind;
    };
    assert.deepEqual([first(), first(), first(), first()], ['127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.2']);
    const both = router.route('x.test.');
    assert.equal(both.kind === 'routed' && both.backends.length, 2, 'the other backend follows, for a retry');
    alive.delete('127.0.0.2');
    await tick();
    assert.deepEqual(changes, [], 'one missed check is not enough');
    const still = router.route('x.test.');
    assert.equal(still.kind === 'routed' && still.backends.length, 2, 'both still in rotation');
    await tick();
    assert.deepEqual(changes, ['127.0.0.2 down']);
    assert.deepEqual([first(), first(), first()], ['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    alive.delete('127.0.0.1');
    await tick();
    await tick();
    assert.equal(router.route('x.test.').kind, 'down');
    assert.equal(router.route('x.example.').kind, 'none');
    alive.add('127.0.0.2');
    await tick();
    assert.deepEqual(changes, ['127.0.0.2 down', '127.0.0.1 down', '127.0.0.2 up']);
    assert.equal(first(), '127.0.0.2');
    assert.deepEqual(
      router.report().map((r) => [r.source, r.health]),
      [
        ['file a', 'down'],
        ['etcd b', 'up'],
      ],
    );
    // A deleted etcd route's backend is no longer checked.
    router.setEtcdRoute('/dnsrouter/b', null);
    assert.deepEqual(
      router.report().map((r) => r.source),
      ['file a'],
    );
  });

  it('checkQuery: id.server CH TXT', () => {
    const q = checkQuery(0x1234);
    assert.equal(q.readUInt16BE(0), 0x1234);
    assert.equal(q.readUInt16BE(4), 1);
    assert.equal(q.subarray(12, 12 + 11).toString('latin1'), '\x02id\x06server\x00');
    assert.deepEqual([q.readUInt16BE(23), q.readUInt16BE(25)], [16, 3]);
  });
});
