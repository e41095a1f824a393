// METRICS and LOGFORMAT: accepted spellings, and errors that name the
// variable, the value and what was expected.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig, parseLogFormat, parseMetricsAddress, parseObservability } from '../../src/config';

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('no error');
}

describe('METRICS', () => {
  it('takes IPv4:port and [IPv6]:port', () => {
    assert.deepEqual(parseMetricsAddress('127.0.0.1:9153'), { address: '127.0.0.1', port: 9153, family: 4 });
    assert.deepEqual(parseMetricsAddress('[::1]:9153'), { address: '::1', port: 9153, family: 6 });
    assert.deepEqual(parseMetricsAddress('[0:0:0:0:0:0:0:1]:1'), { address: '::1', port: 1, family: 6 });
    assert.deepEqual(parseMetricsAddress('0.0.0.0:65535'), { address: '0.0.0.0', port: 65535, family: 4 });
    assert.deepEqual(parseMetricsAddress('[::]:9153'), { address: '::', port: 9153, family: 6 });
    assert.deepEqual(parseMetricsAddress('[::ffff:127.0.0.1]:9153'), { address: '127.0.0.1', port: 9153, family: 4 });
  });

  const bad: Array<[string, RegExp]> = [
    ['', /is empty/],
    ['127.0.0.1', /has no port/],
    ['127.0.0.1:', /port ""/],
    ['127.0.0.1:0', /port "0"/],
    ['127.0.0.1:65536', /port "65536"/],
    ['127.0.0.1:9153x', /port "9153x"/],
    ['::1:9153', /IPv6 address without brackets/],
    ['::1', /IPv6 address without brackets/],
    ['[::1]', /has no port/],
    ['[::1]9153', /after "\]"/],
    ['[::1:9153', /no "\]"/],
    ['[127.0.0.1]:9153', /IPv4 address in brackets/],
    ['localhost:9153', /"localhost", which is not an IP address/],
    ['1.2.3:9153', /not an IP address/],
    ['010.0.0.1:9153', /leading zeros/],
    [':9153', /"", which is not an IP address/],
  ];
  for (const [value, why] of bad) {
    it(`refuses ${JSON.stringify(value)}`, () => {
      const m = configError(() => parseMetricsAddress(value));
      assert.ok(m.startsWith(`METRICS: ${JSON.stringify(value)} `), m);
      assert.match(m, why);
      assert.match(m, /expected host:port .* 127\.0\.0\.1:9153 or \[::1\]:9153/);
    });
  }
});

describe('LOGFORMAT', () => {
  it('dnscache (the default) or json', () => {
    assert.equal(parseLogFormat(undefined), 'dnscache');
    assert.equal(parseLogFormat('dnscache'), 'dnscache');
    assert.equal(parseLogFormat('json'), 'json');
  });

  for (const value of ['', 'JSON', 'text', 'json ', 'logfmt']) {
    it(`refuses ${JSON.stringify(value)}, naming the accepted values`, () => {
      assert.equal(
        configError(() => parseLogFormat(value)),
        `LOGFORMAT: ${JSON.stringify(value)} is not a log format (expected one of "dnscache", "djbdns", "json")`,
      );
    });
  }
});

describe('loadConfig', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dnscache-metrics-config-'));
  fs.mkdirSync(path.join(root, 'servers'));
  fs.mkdirSync(path.join(root, 'ip'));
  fs.writeFileSync(path.join(root, 'servers', '@'), '127.0.0.1\n');
  process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  const base = { IP: '127.0.0.1', ROOT: root };

  it('defaults: no metrics, dnscache lines', () => {
    const c = loadConfig(base);
    assert.equal(c.metrics, null);
    assert.equal(c.logFormat, 'dnscache');
    assert.deepEqual(parseObservability({}), { metrics: null, logFormat: 'dnscache' });
  });

  it('carries METRICS and LOGFORMAT, frozen', () => {
    const c = loadConfig({ ...base, METRICS: '[::1]:9153', LOGFORMAT: 'json' });
    assert.deepEqual(c.metrics, { address: '::1', port: 9153, family: 6 });
    assert.ok(Object.isFrozen(c.metrics));
    assert.equal(c.logFormat, 'json');
  });

  it('a bad value stops loading', () => {
    assert.match(
      configError(() => loadConfig({ ...base, METRICS: 'x' })),
      /^METRICS: "x"/,
    );
    assert.match(
      configError(() => loadConfig({ ...base, LOGFORMAT: 'xml' })),
      /^LOGFORMAT: "xml"/,
    );
  });
});
