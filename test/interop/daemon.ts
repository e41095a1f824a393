// Real DNS servers (NSD, Unbound) as child processes for the interop suite:
// finding their binaries, running them in their own process group so that
// every process they fork is stopped with them, and collecting their output.

import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { delimiter, join } from 'node:path';

const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/** Absolute path of an executable on PATH (or in the sbin directories, which a non-root PATH may lack); null if missing. */
export function findBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Why a Debian package's binaries are unusable, or null when all of them are there. */
export function missingPackage(pkg: string, binaries: string[]): string | null {
  const missing = binaries.filter((b) => findBinary(b) === null);
  if (missing.length === 0) return null;
  return `${pkg} not installed (apt-get install ${pkg}): ${missing.join(', ')} not found`;
}

/** Runs a command to completion (for nsd-checkzone, unbound-checkconf). */
export function runSync(binary: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(binary, args, { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}

const live = new Set<Daemon>();
process.on('exit', () => {
  for (const d of live) d.killNow();
});

/** A server process started in its own process group. */
export class Daemon {
  /** stdout and stderr, as received. */
  output = '';
  readonly exited: Promise<number | null>;
  private hasExited = false;
  private stopping: Promise<void> | null = null;
  private readonly child: ChildProcess;

  constructor(
    readonly name: string,
    binary: string,
    args: string[],
  ) {
    this.child = spawn(binary, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this);
    const collect = (chunk: Buffer): void => {
      if (this.output.length < 100_000) this.output += chunk.toString('utf8');
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.child.on('error', (err) => {
      this.output += `spawn error: ${err.message}\n`;
    });
    // 'close' comes when every process holding the pipes (its forked children too) is gone.
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code) => {
        this.hasExited = true;
        live.delete(this);
        resolve(code);
      });
    });
  }

  get alive(): boolean {
    return !this.hasExited;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined || this.hasExited) return;
    try {
      process.kill(-pid, signal); // the group we created: the daemon and what it forked
    } catch {
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
    }
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once all are gone. Safe to call twice. */
  stop(graceMs = 3000): Promise<void> {
    if (!this.stopping) {
      this.stopping = (async () => {
        this.signalGroup('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), graceMs);
        });
        const how = await Promise.race([this.exited.then(() => 'exited' as const), timeout]);
        clearTimeout(timer);
        if (how === 'timeout') {
          this.signalGroup('SIGKILL');
          await Promise.race([this.exited, new Promise((r) => setTimeout(r, 1000))]);
        }
        live.delete(this);
      })();
    }
    return this.stopping;
  }

  killNow(): void {
    this.signalGroup('SIGKILL');
  }
}

/** Polls `probe` until it returns true; fails with `describe()` if the deadline passes or `alive()` turns false. */
export async function waitUntil(
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; alive: () => boolean; describe: () => string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (!opts.alive()) throw new Error(`exited before it answered: ${opts.describe()}`);
    if (Date.now() > deadline) throw new Error(`no answer within ${opts.timeoutMs} ms: ${opts.describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A server that a test stops and starts again with the files it had: they
 * live in `dir`, which stop() removes. resume() starts it (again).
 */
export abstract class Restartable {
  protected daemon: Daemon | null = null;

  constructor(protected readonly dir: string) {}

  abstract resume(): Promise<void>;

  /** Stops it; its files stay for resume(). */
  async pause(): Promise<void> {
    await this.daemon?.stop();
    this.daemon = null;
  }

  async stop(): Promise<void> {
    await this.pause();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
