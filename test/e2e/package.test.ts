// The package as a user installs it: `npm pack`, then `npm install -g` of
// the tarball into a fresh prefix - once with a C compiler (the addons are
// built) and once with nothing on PATH but node, npm and sh (the install
// still succeeds, and the JavaScript fallbacks run). Each installed
// dnscache, dnscache-conf and dnscache-ctl runs from the prefix's bin/, and
// the installed dnscache answers a query.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { query, records } from '../lab/client';
import { freshName, startLab, suiteScope, WILDCARD_ADDRESS } from './fixtures';
import { startDnscache } from './harness';

const CHECKOUT = join(__dirname, '..', '..', '..');

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd = CHECKOUT,
): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

function which(name: string): string {
  const r = run('sh', ['-c', `command -v ${name}`]);
  return r.out.trim();
}

describe('the npm package', () => {
  const scope = suiteScope();
  const dir = fs.mkdtempSync(join(tmpdir(), 'dnscache-package-'));
  scope.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let tarball = '';

  /** npm install -g of the tarball into `prefix`, with `env`; the prefix's bin/. */
  function install(prefix: string, env: NodeJS.ProcessEnv): string {
    if (tarball === '') {
      // dist/ is built already (npm test builds first): pack it as it is.
      const packed = run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--silent']);
      assert.equal(packed.status, 0, packed.out);
      tarball = join(dir, packed.out.trim().split('\n').pop()!);
    }
    const r = run(
      'npm',
      ['install', '-g', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund'],
      env,
      dir,
    );
    assert.equal(r.status, 0, r.out);
    return join(prefix, 'bin');
  }

  async function answers(bin: string): Promise<void> {
    const lab = await startLab(scope);
    const dns = await startDnscache({ upstreams: [lab], command: [join(bin, 'dnscache')] }, scope);
    const r = await query(dns, freshName('pkg'), 'A');
    assert.deepEqual(
      records(r.packet.answers, 'A').map((a) => a.data),
      [WILDCARD_ADDRESS],
    );
  }

  it("installed with a C compiler: the three programs are on the prefix's PATH, with --version and --help, the addons built, and dnscache answers", async () => {
    const bin = install(join(dir, 'with-cc'), process.env);
    for (const program of ['dnscache', 'dnscache-conf', 'dnscache-ctl']) {
      const v = run(join(bin, program), ['--version']);
      assert.equal(v.status, 0, v.out);
      assert.match(v.out, /^dnscache-ts \d+\.\d+\.\d+\n$/);
      const h = run(join(bin, program), ['--help']);
      assert.equal(h.status, 0, h.out);
      assert.match(h.out, new RegExp(`^usage: ${program} |^Usage: ${program} `, 'i'));
    }
    const built = join(dir, 'with-cc', 'lib', 'node_modules', 'dnscache-ts', 'build', 'Release');
    assert.ok(
      fs.existsSync(join(built, 'udpbatch.node')) && fs.existsSync(join(built, 'chroot.node')),
      'the addons were built',
    );
    await answers(bin);
  });

  it('installed with nothing but node, npm and sh on PATH: the install succeeds without the addons, and dnscache answers through node:dgram', async () => {
    const tools = join(dir, 'tools');
    fs.mkdirSync(tools);
    for (const name of ['node', 'npm', 'sh']) fs.symlinkSync(fs.realpathSync(which(name)), join(tools, name));
    const bin = install(join(dir, 'no-cc'), { HOME: process.env.HOME, PATH: tools });
    assert.equal(
      fs.existsSync(join(dir, 'no-cc', 'lib', 'node_modules', 'dnscache-ts', 'build', 'Release', 'udpbatch.node')),
      false,
      'nothing was built',
    );
    await answers(bin);
    // What is lost, said at start: the chroot.
    const lab = await startLab(scope);
    const priv = await startDnscache(
      { upstreams: [lab], command: [join(bin, 'dnscache')], env: { UID: '65534', GID: '65534' } },
      scope,
    ).then(
      () => null,
      (err: Error) => err.message,
    );
    if (process.getuid?.() === 0) assert.match(priv ?? '', /the native chroot addon is not available/);
  });
});
