// The generator, and dnscache's seed on standard input: mixed in, never relied on, never read from a terminal.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../src/random/random';

const fixedSystem = (n: number): Buffer => Buffer.alloc(n, 0x5a);
const seed = (byte: number): Buffer => Buffer.alloc(128, byte);

describe('Random.bytes', () => {
  it('gives the requested number of bytes, different each time, across pool refills', () => {
    const r = new Random(null);
    const a = r.bytes(32);
    const b = r.bytes(5000);
    assert.equal(a.length, 32);
    assert.equal(b.length, 5000);
    assert.notDeepEqual(a, r.bytes(32));
    assert.ok(new Set(b).size > 200, 'bytes look random');
  });
});

describe('the seed', () => {
  it('is mixed in: with the system source held fixed, another seed gives other bytes, the same seed the same', () => {
    const out = (s: Buffer | null): Buffer => new Random(s, fixedSystem).bytes(64);
    assert.deepEqual(out(seed(1)), out(seed(1)));
    assert.notDeepEqual(out(seed(1)), out(seed(2)));
    assert.notDeepEqual(out(seed(1)), out(null));
  });

  it('is never relied on alone: the same seed with the system source gives different bytes every time', () => {
    const outs = new Set(Array.from({ length: 8 }, () => new Random(seed(7)).bytes(32).toString('hex')));
    assert.equal(outs.size, 8);
  });
});

describe('readSeed', () => {
  it('never reads a terminal: under a pseudo-terminal nobody types on, there is no seed, at once', async () => {
    // util-linux's script(1) gives the child a pty as standard input; the test keeps its own end open and silent.
    // Reading that terminal would wait for a line forever, so the 5 s below only catches that hang.
    const random = join(__dirname, '../../src/random/random.js');
    const program = `require(${JSON.stringify(random)}).readSeed().then((s) => console.log(s === null ? "no seed" : "seed " + s.length))`;
    const child = spawn('script', ['-qfec', `${process.execPath} -e '${program}'`, '/dev/null'], { stdio: 'pipe' });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5000);
      child.on('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    child.kill('SIGKILL');
    assert.equal(exited, true, `readSeed still waiting on the terminal; printed ${JSON.stringify(out)}`);
    assert.equal(out.trim(), 'no seed');
  });
});
