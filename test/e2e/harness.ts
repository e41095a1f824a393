// Runs the real dnscache process (dist/src/cli/dnscache.js) for end-to-end
// tests: a temporary ROOT with servers/ and ip/, the environment dnscache
// reads, a free loopback address, and its stderr log collected line by line.
// Every process and directory made here is removed again: by stop(), by the
// cleanup hook the caller passes, and as a last resort when the test process
// exits.

import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopback } from '../lab/addresses';
import { NODE_FLAGS } from '../../src/service-dir/plan';

export const DNSCACHE_JS = join(__dirname, '..', '..', 'src', 'cli', 'dnscache.js');
/** The port dnscache listens on; the address is a random free 127.x.y.z. */
export const DNSCACHE_PORT = 5300;

/** A ceiling that catches a hung start, not a measurement: a loaded machine took over 5 s. */
const START_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 5000;
const START_ATTEMPTS = 4;

export interface Upstream {
  address: string;
  port: number;
}

/** Where cleanup is registered: a TestContext (`t`) or `{ after }` from node:test. */
export interface CleanupScope {
  after(fn: () => unknown): void;
}

export interface RootLayout {
  /** servers/@: upstream servers, or the file's raw text. */
  upstreams: Upstream[] | string;
  /** Other servers/ files: file name → raw text. */
  extraServers?: Record<string, string>;
  /** Entries created (empty) in ip/; default ['127.0.0.1']. */
  ipFiles?: string[];
  /** Other files in ROOT (e.g. routes): name → text. */
  files?: Record<string, string>;
}

export interface StartOptions extends RootLayout {
  /** More environment variables; a value of undefined removes one of ours. */
  env?: Record<string, string | undefined>;
  /** Set FORWARDONLY (default true). */
  forwardOnly?: boolean;
  /** Listen here instead of a random free 127.x.y.z, port 5300 (e.g. [::1]). */
  listen?: Upstream;
  /** A command that runs dnscache (it must exec it, keeping the pid), e.g. ['prlimit', '--data=300000000']. */
  wrap?: string[];
  /** dnscache itself: default node with its flags and this checkout's dist/src/cli/dnscache.js (an installed bin/dnscache, say). */
  command?: string[];
  /**
   * ROOT's mode (default 0700, root's): 0755 when dnscache drops to UID/GID
   * and must still read ip/ inside it.
   */
  rootMode?: number;
  /** Called with ROOT once servers/ and ip/ are written (e.g. to make a dumps/ the UID owns). */
  prepareRoot?: (root: string) => void;
  /** The line that says it started (default `starting`; LOGFORMAT=json writes an object), and how many (WORKERS). */
  started?: { readonly line: RegExp; readonly count: number };
}

/** `address:port` as a servers/ line ([v6]:port for IPv6). */
export function serverLine(u: Upstream): string {
  return net.isIPv6(u.address) ? `[${u.address}]:${u.port}` : `${u.address}:${u.port}`;
}

/** Writes servers/ and ip/ into `root` (which must exist). */
export function writeRoot(root: string, layout: RootLayout): void {
  const servers = join(root, 'servers');
  const ip = join(root, 'ip');
  fs.mkdirSync(servers, { recursive: true });
  fs.mkdirSync(ip, { recursive: true });
  const at =
    typeof layout.upstreams === 'string'
      ? layout.upstreams
      : layout.upstreams.map((u) => serverLine(u) + '\n').join('');
  fs.writeFileSync(join(servers, '@'), at);
  for (const [file, text] of Object.entries(layout.extraServers ?? {})) fs.writeFileSync(join(servers, file), text);
  for (const name of layout.ipFiles ?? ['127.0.0.1']) fs.writeFileSync(join(ip, name), '');
  for (const [name, text] of Object.entries(layout.files ?? {})) fs.writeFileSync(join(root, name), text);
}

function makeTempRoot(): string {
  return fs.mkdtempSync(join(tmpdir(), 'dnscache-e2e-'));
}

/** The environment for a child: only PATH from ours, so a stray IP or ROOT in the caller's shell cannot leak in. */
function childEnv(base: Record<string, string>, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...base };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Splits a stream into lines, calling `onLine` for each complete one. */
function readLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) onLine(line);
  });
  stream.on('end', () => {
    if (partial !== '') onLine(partial);
    partial = '';
  });
}

/** Exit status as a shell reports it: the code, or 128 + signal number. */
function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? (osConstants.signals as Record<string, number>)[signal] : undefined;
  return 128 + (n ?? 0);
}

const live = new Set<Dnscache>();
process.on('exit', () => {
  for (const d of live) d.killNow();
});

interface LogWaiter {
  re: RegExp;
  resolve: (line: string) => void;
}

/** A running dnscache process. */
export class Dnscache {
  /** Every stderr line so far, kept up to date while it runs. */
  readonly logs: string[] = [];
  /** Resolves with the exit status once the process has exited and its stderr is read to the end. */
  readonly exited: Promise<number>;
  private readonly waiters = new Set<LogWaiter>();
  private hasExited = false;
  private stopping: Promise<number> | null = null;

  constructor(
    readonly process: ChildProcess,
    readonly address: string,
    readonly port: number,
    /** The temporary ROOT (servers/, ip/). */
    readonly root: string,
  ) {
    live.add(this);
    readLines(process.stderr!, (line) => {
      this.logs.push(line);
      for (const w of this.waiters) {
        if (w.re.test(line)) {
          this.waiters.delete(w);
          w.resolve(line);
        }
      }
    });
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': only then has all of stderr been read.
      process.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.hasExited = true;
        resolve(exitStatus(code, signal));
      });
    });
  }

  get alive(): boolean {
    return !this.hasExited;
  }

  /** The log lines that match `re`, from line `from` on. */
  linesMatching(re: RegExp, from = 0): string[] {
    return this.logs.slice(from).filter((l) => re.test(l));
  }

  /**
   * The first log line (from line `from` on) matching `re`, waiting up to
   * `timeoutMs` for it. Fails with the recent log if it does not come or the
   * process exits first.
   */
  waitForLog(re: RegExp, timeoutMs = 3000, from = 0): Promise<string> {
    const seen = this.logs.slice(from).find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        reject(
          new Error(`dnscache: no log line matching ${re} ${why}; last lines:\n${this.logs.slice(-30).join('\n')}`),
        );
      };
      const waiter: LogWaiter = {
        re,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => fail(`within ${timeoutMs} ms`), timeoutMs);
      this.waiters.add(waiter);
      void this.exited.then((status) => {
        if (this.waiters.has(waiter)) fail(`before it exited with status ${status}`);
      });
    });
  }

  /** Waits until `count` lines (from line `from` on) match `re`; returns them. */
  async waitForLogs(re: RegExp, count: number, timeoutMs = 3000, from = 0): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.linesMatching(re, from);
      if (lines.length >= count) return lines;
      const left = deadline - Date.now();
      if (left <= 0 || !this.alive) {
        const why = this.alive ? `within ${timeoutMs} ms` : 'before it exited';
        throw new Error(
          `dnscache: ${lines.length} of ${count} log lines matching ${re} ${why}; last lines:\n${this.logs.slice(-30).join('\n')}`,
        );
      }
      // The next matching line after those already counted (or the timeout, or the exit).
      await this.waitForLog(re, left, this.logs.length).catch(() => undefined);
    }
  }

  /** Creates an (empty) entry in ip/. */
  addIpFile(name: string): void {
    fs.writeFileSync(join(this.root, 'ip', name), '');
  }

  removeIpFile(name: string): void {
    fs.rmSync(join(this.root, 'ip', name), { force: true });
  }

  /**
   * Sends `signal` (default SIGTERM), waits for the exit and removes ROOT.
   * Resolves with the exit status. SIGKILL follows if it does not exit in
   * time (the status then shows it). Safe to call more than once.
   */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    if (!this.stopping) this.stopping = this.doStop(signal);
    return this.stopping;
  }

  private async doStop(signal: NodeJS.Signals): Promise<number> {
    if (this.alive) this.process.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.process.kill('SIGKILL');
        resolve();
      }, STOP_TIMEOUT_MS);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    const status = await this.exited;
    live.delete(this);
    fs.rmSync(this.root, { recursive: true, force: true });
    return status;
  }

  /** Synchronous last-resort cleanup (process exit). */
  killNow(): void {
    if (this.alive) this.process.kill('SIGKILL');
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

function spawnDnscache(
  env: NodeJS.ProcessEnv,
  wrap: readonly string[] = [],
  command: readonly string[] = [process.execPath, ...NODE_FLAGS, DNSCACHE_JS],
): ChildProcess {
  const argv = [...wrap, ...command];
  return spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Starts dnscache on a free loopback address, port 5300, and waits for its
 * `starting` line. Registers stop() with `scope` when given.
 */
export async function startDnscache(opts: StartOptions, scope?: CleanupScope): Promise<Dnscache> {
  let lastError: Error | null = null;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const address = opts.listen?.address ?? (await freeLoopback(DNSCACHE_PORT));
    const port = opts.listen?.port ?? DNSCACHE_PORT;
    const root = makeTempRoot();
    if (opts.rootMode !== undefined) fs.chmodSync(root, opts.rootMode);
    writeRoot(root, opts);
    opts.prepareRoot?.(root);
    const base: Record<string, string> = { IP: address, PORT: String(port), ROOT: root, CACHESIZE: '1000000' };
    if (opts.forwardOnly ?? true) base.FORWARDONLY = '1';
    const dns = new Dnscache(spawnDnscache(childEnv(base, opts.env), opts.wrap, opts.command), address, port, root);
    try {
      await dns.waitForLogs(opts.started?.line ?? /^starting/, opts.started?.count ?? 1, START_TIMEOUT_MS);
    } catch (err) {
      const status = await dns.stop('SIGKILL');
      const log = dns.logs.join('\n');
      lastError = new Error(`dnscache did not start (status ${status}):\n${log || (err as Error).message}`);
      // Someone took the port between our check and its bind: try elsewhere.
      if (/unable to listen.*EADDRINUSE/.test(log)) continue;
      throw lastError;
    }
    scope?.after(() => dns.stop());
    return dns;
  }
  throw lastError!;
}

export interface FailedRun {
  /** Exit status (non-zero expected). */
  code: number;
  stderr: string;
}

/**
 * Runs dnscache with a configuration expected to stop start-up. `env`
 * overrides a valid environment (undefined removes a variable); `rootSetup`
 * fills ROOT instead of the valid default layout. Rejects if dnscache
 * starts after all.
 */
export async function runDnscacheExpectingFailure(
  env: Record<string, string | undefined>,
  rootSetup: (root: string) => void = (root) => writeRoot(root, { upstreams: '127.0.0.1:53\n' }),
): Promise<FailedRun> {
  const root = makeTempRoot();
  try {
    rootSetup(root);
    const address = await freeLoopback(DNSCACHE_PORT);
    const base = { IP: address, PORT: String(DNSCACHE_PORT), ROOT: root, CACHESIZE: '1000000', FORWARDONLY: '1' };
    const dns = new Dnscache(spawnDnscache(childEnv(base, env)), address, DNSCACHE_PORT, root);
    // It either exits (waitForLog fails, not alive), starts, or hangs (as bad as starting).
    const started = await dns.waitForLog(/^starting/, START_TIMEOUT_MS).then(
      () => true,
      () => dns.alive,
    );
    const status = await dns.stop('SIGKILL');
    const stderr = dns.logs.join('\n');
    if (started) throw new Error(`dnscache did not fail to start (status ${status}):\n${stderr}`);
    return { code: status, stderr };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
