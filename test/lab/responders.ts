// Starting, stopping and restarting responder.ts processes: real upstreams
// a test can kill mid-run and bring back on the same address.

import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const RESPONDER_JS = join(__dirname, 'responder.js');

export class Responder {
  private child: ChildProcess | null = null;
  private lines: string[] = [];
  private waiters: Array<() => void> = [];

  constructor(
    readonly address: string,
    readonly port: number,
    readonly delayMs = 0,
  ) {}

  /** Starts the process and waits until it listens on UDP and TCP. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, [RESPONDER_JS, this.address, String(this.port), String(this.delayMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child = child;
    child.stdout.setEncoding('utf8');
    let partial = '';
    child.stdout.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
      for (const w of this.waiters.splice(0)) w();
    });
    await this.line(/^ready /, 10000);
  }

  private line(re: RegExp, timeoutMs: number, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`responder ${this.address}:${this.port}: no line matching ${re} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const check = (): void => {
        const found = this.lines.slice(from).find((l) => re.test(l));
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Queries answered since start, health checks (`. SOA`) apart (asks the process: SIGUSR2). */
  async counts(): Promise<{ queries: number; checks: number }> {
    const from = this.lines.length;
    this.child!.kill('SIGUSR2');
    const words = (await this.line(/^queries /, 5000, from)).split(' ');
    return { queries: Number(words[1]), checks: Number(words[3]) };
  }

  /** Queries answered since start, health checks apart. */
  async queries(): Promise<number> {
    return (await this.counts()).queries;
  }

  /** Kills the process (SIGKILL: as a crash) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    this.child = null;
    this.lines = [];
  }

  /** As a servers/ line. */
  get serverLine(): string {
    return `${this.address}:${this.port}`;
  }
}
