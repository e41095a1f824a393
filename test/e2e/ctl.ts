// Talking to a test's dnscache through its control socket: with the
// protocol client, or with the real dnscache-ctl command.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { controlRequest } from '../../src/control/client';
import { ControlRequest } from '../../src/control/protocol';
import { CleanupScope } from './harness';

const CTL_JS = join(__dirname, '..', '..', 'src', 'cli', 'dnscache-ctl.js');

/** A fresh directory for a control socket, removed afterwards. */
export function socketDir(scope: CleanupScope): string {
  const dir = fs.mkdtempSync(join(tmpdir(), 'dnscache-ctl-'));
  scope.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function ok(socket: string, req: ControlRequest): Promise<Record<string, any>> {
  const res = await controlRequest(socket, req);
  assert.equal(res.ok, true, JSON.stringify(res));
  return res as Record<string, any>;
}

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** dnscache-ctl with `args`; `input` (for load -) on its standard input. */
export function ctl(args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CTL_JS, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (input !== undefined) child.stdin!.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}
