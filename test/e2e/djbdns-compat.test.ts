// A service directory as djbdns's own dnscache-conf makes it - its `run`
// script word for word (envdir, envuidgid, softlimit -d 3000000), plain
// djbdns file formats, port 53 - runs unchanged with dnscache-ts's launcher
// (bin/dnscache) in place of dnscache. Needs root (port 53, chroot) and
// daemontools; skipped otherwise, saying which.

import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freeLoopback } from '../lab/addresses';
import { query, records } from '../lab/client';
import { startLab, suiteScope } from './fixtures';

const LAUNCHER = join(__dirname, '..', '..', '..', 'bin', 'dnscache');

/** djbdnscurve6's dnscache-conf run script, with the path of the dnscache being replaced. */
function runScript(dnscache: string): string {
  return `#!/bin/sh\nexec 2>&1\nexec <seed\nexec envdir ./env sh -c '\n  exec envuidgid nobody softlimit -o250 -d "$DATALIMIT" ${dnscache}\n'\n`;
}

function missing(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (port 53, chroot, envuidgid)';
  for (const tool of ['envdir', 'envuidgid', 'softlimit']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (apt-get install daemontools)`;
    }
  }
  return false;
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${seen}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const line = seen.split('\n').find((l) => pattern.test(l));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}; output:\n${seen}`));
    });
  });
}

describe('a djbdns service directory', { skip: missing() }, async () => {
  const scope = suiteScope();

  it('runs unchanged with bin/dnscache in place of dnscache', async () => {
    // The upstream on port 53 of its own loopback address: plain djbdns servers/@ syntax.
    const lab = await startLab(scope, { address: await freeLoopback(53), port: 53 });
    const listen = await freeLoopback(53);
    const d = fs.mkdtempSync(join(tmpdir(), 'djbdns-service-'));
    scope.after(() => fs.rmSync(d, { recursive: true, force: true }));
    fs.chmodSync(d, 0o755);
    const files: Record<string, string> = {
      'env/IP': listen,
      'env/IPSEND': '0.0.0.0',
      'env/ROOT': join(d, 'root'),
      'env/CACHESIZE': '1000000',
      'env/DATALIMIT': '3000000',
      'env/FORWARDONLY': '1\n', // envdir unsets a variable whose file is empty
      'root/servers/@': `${lab.address}\n`,
      'root/ip/127.0.0.1': '',
    };
    for (const [path, text] of Object.entries(files)) {
      fs.mkdirSync(join(d, path, '..'), { recursive: true, mode: 0o755 });
      fs.writeFileSync(join(d, path), text);
    }
    fs.chmodSync(join(d, 'root'), 0o755);
    fs.writeFileSync(join(d, 'seed'), randomBytes(128), { mode: 0o600 });
    fs.writeFileSync(join(d, 'run'), runScript(LAUNCHER), { mode: 0o755 });

    const child = spawn('sh', ['./run'], { cwd: d, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    scope.after(() => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    });
    await waitForLine(child, /^starting dnscache/, 10000);

    const reply = await query({ address: listen, port: 53 }, 'www.example.test', 'A', { source: '127.0.0.1' });
    assert.equal(reply.packet.rcode, 'NOERROR');
    assert.deepEqual(
      records(reply.packet.answers, 'A').map((r) => r.data),
      ['192.0.2.80'],
    );
    assert.ok(
      lab.queries.some((q) => q.rd),
      'forwarded with RD=1 (FORWARDONLY from env/)',
    );

    // envuidgid's account and ROOT took effect: the process is chrooted and unprivileged.
    // run execs all the way down (envdir, sh, envuidgid, softlimit, bin/dnscache, node).
    const pid = child.pid!;
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const nobody = Number(execFileSync('id', ['-u', 'nobody']).toString());
    assert.match(status, new RegExp(`^Uid:\\s+${nobody}\\s+${nobody}\\s+${nobody}\\s+${nobody}$`, 'm'));
    assert.equal(fs.readlinkSync(`/proc/${pid}/root`), join(d, 'root'));
  });
});
