// A real etcd (Debian etcd-server) for the route tests: one member on its
// own loopback address, its data in a temporary directory that outlives a
// stop, so a test can stop it and start it again with the keys it had.

import { connect } from 'node:net';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopback } from '../lab/addresses';
import { Daemon, findBinary, missingPackage, Restartable, runSync, waitUntil } from './daemon';

export const ETCD_CLIENT_PORT = 2379;
const ETCD_PEER_PORT = 2380;

/** Why the etcd tests cannot run here, or null. */
export function etcdMissing(): string | null {
  return missingPackage('etcd-server', ['etcd']) ?? missingPackage('etcd-client', ['etcdctl']);
}

function accepts(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class Etcd extends Restartable {
  private constructor(
    readonly address: string,
    dir: string,
  ) {
    super(dir);
  }

  /** `http://address:2379`, as ETCD takes it. */
  get url(): string {
    return `http://${this.address}:${ETCD_CLIENT_PORT}`;
  }

  static async start(): Promise<Etcd> {
    const address = await freeLoopback(ETCD_CLIENT_PORT);
    const etcd = new Etcd(address, fs.mkdtempSync(join(tmpdir(), 'dnscache-etcd-')));
    await etcd.resume();
    return etcd;
  }

  /** Starts the member (again), with the keys it had. */
  async resume(): Promise<void> {
    const peer = `http://${this.address}:${ETCD_PEER_PORT}`;
    const daemon = new Daemon('etcd', findBinary('etcd')!, [
      '--name',
      'lab',
      '--data-dir',
      join(this.dir, 'data'),
      '--listen-client-urls',
      this.url,
      '--advertise-client-urls',
      this.url,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `lab=${peer}`,
      '--log-level',
      'error',
    ]);
    this.daemon = daemon;
    await waitUntil(
      async () => (await accepts(this.address, ETCD_CLIENT_PORT)) && this.ctl(['endpoint', 'health']).status === 0,
      {
        timeoutMs: 15000,
        alive: () => daemon.alive,
        describe: () => `etcd on ${this.url}; output:\n${daemon.output}`,
      },
    );
  }

  /** etcdctl against this member (the v3 API). */
  ctl(args: string[]): { status: number | null; output: string } {
    const r = runSync(findBinary('etcdctl')!, ['--endpoints', this.url, ...args]);
    return r;
  }

  put(key: string, value: string): void {
    const r = this.ctl(['put', key, value]);
    if (r.status !== 0) throw new Error(`etcdctl put ${key}: ${r.output}`);
  }

  del(key: string): void {
    const r = this.ctl(['del', key]);
    if (r.status !== 0) throw new Error(`etcdctl del ${key}: ${r.output}`);
  }
}
