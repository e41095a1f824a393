// The whole service (server/service.ts, as cli/dnscache.ts puts it
// together) in the test's own process, on real loopback sockets, with a
// clock the test moves: for end-to-end behaviour that waits on time
// (timeouts, rate limits, health intervals), which a child process could
// only show after real seconds of sleep.

import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { Log, MemorySink } from '../../src/log/log';
import { Random } from '../../src/random/random';
import { Service } from '../../src/server/service';
import { ManualClock } from '../clock';
import { freeLoopback } from '../lab/addresses';
import { CleanupScope, DNSCACHE_PORT, RootLayout, writeRoot } from './harness';

export interface InProcess {
  readonly service: Service;
  readonly clock: ManualClock;
  /** Where it listens (UDP and TCP). */
  readonly address: string;
  readonly port: number;
  /** Every log line so far. */
  logs(): string[];
}

/**
 * A started service forwarding as `layout` says (FORWARDONLY unless `env`
 * says otherwise), after `prepare` has written what else ROOT should hold;
 * stopped by `scope`.
 */
export async function startInProcess(
  scope: CleanupScope,
  layout: RootLayout,
  env: Record<string, string> = {},
  prepare: (root: string) => void = () => {},
): Promise<InProcess> {
  const root = fs.mkdtempSync(join(tmpdir(), 'dnscache-inprocess-'));
  scope.after(() => fs.rmSync(root, { recursive: true, force: true }));
  writeRoot(root, layout);
  prepare(root);
  const address = await freeLoopback(DNSCACHE_PORT);
  const config = loadConfig({
    IP: address,
    PORT: String(DNSCACHE_PORT),
    ROOT: root,
    IPSEND: '127.0.0.1',
    FORWARDONLY: '1',
    ...env,
  });
  const sink = new MemorySink();
  const clock = new ManualClock();
  const service = new Service(config, new Log(sink), new Random(null), clock);
  await service.start();
  scope.after(() => service.stop());
  return { service, clock, address, port: DNSCACHE_PORT, logs: () => sink.lines };
}
