// Start-up and shutdown of the real process: a bad configuration stops it
// with a non-zero status and a message naming the culprit; SIGTERM and
// SIGINT stop it cleanly and free its port.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { canBind } from '../lab/addresses';
import { runDnscacheExpectingFailure, startDnscache, writeRoot } from './harness';

/** A root whose servers/@ has `text` (and a valid ip/). */
function serversAt(text: string): (root: string) => void {
  return (root) => writeRoot(root, { upstreams: text });
}

const cases: Array<{
  label: string;
  env?: Record<string, string | undefined>;
  root?: (root: string) => void;
  message: RegExp;
}> = [
  { label: 'IP unset', env: { IP: undefined }, message: /\bIP: not set/ },
  { label: 'IP=1.2.3', env: { IP: '1.2.3' }, message: /\bIP: unable to parse IP address "1\.2\.3"/ },
  { label: 'CACHESIZE=abc', env: { CACHESIZE: 'abc' }, message: /\bCACHESIZE: "abc" is not a decimal number/ },
  { label: 'PORT=99999', env: { PORT: '99999' }, message: /\bPORT: "99999" is out of range/ },
  {
    label: 'servers/@ missing',
    root: (root) => {
      writeRoot(root, { upstreams: '' });
      fs.rmSync(join(root, 'servers', '@'));
    },
    message: /servers\/@: missing/,
  },
  {
    label: 'servers/@ with only comments',
    root: serversAt('# no servers yet\n\n   # really\n'),
    message: /servers\/@: no server addresses/,
  },
  {
    label: 'servers/@ with a malformed line',
    root: serversAt('# forwarders\n127.0.0.1:5353\nnot-an-address\n'),
    message: /servers\/@ line 3: "not-an-address" is not an address/,
  },
];

describe('bad configuration stops start-up', { concurrency: true }, () => {
  for (const c of cases) {
    test(c.label, async () => {
      const { code, stderr } = await runDnscacheExpectingFailure(c.env ?? {}, c.root);
      assert.equal(code, 111, stderr); // dnscache's exit status for fatal errors
      assert.match(stderr, /^dnscache: fatal: /m);
      assert.match(stderr, c.message);
    });
  }
});

describe('signals', { concurrency: true }, () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} → exit status 0, and the port is free again`, async (t) => {
      const dns = await startDnscache({ upstreams: '127.0.0.1:53\n' }, t);
      assert.equal(await canBind(dns.address, dns.port), false, 'dnscache holds its port while running');
      assert.equal(await dns.stop(signal), 0, dns.logs.join('\n'));
      assert.equal(await canBind(dns.address, dns.port), true, 'UDP and TCP port free after exit');
    });
  }
});
