// A dnscache-ts service inside the benchmark process, forwarding to NSD
// with the benchmark zone, both on loopback: the setup of the in-process
// measurements (hit-cost.ts, miss-alloc.ts), which look at the engine
// without a load generator in the way.

import * as dgram from 'node:dgram';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config';
import { Log, StreamSink } from '../src/log/log';
import { realClock } from '../src/platform/clock';
import { Random } from '../src/random/random';
import { Service } from '../src/server/service';
import { freeLoopback } from '../test/lab/addresses';
import { startNsd } from './backend';
import { stopAll } from './resolvers';

export interface InProcess {
  readonly service: Service;
  /** The log sink (to /dev/null): flush it now and then, as the event loop would. */
  readonly sink: StreamSink;
  /** Sends each query over real UDP, at most `window` unanswered at a time, and waits for every answer. */
  ask: (queries: readonly Buffer[], window: number) => Promise<void>;
}

/** Runs `body` with the service up; stops everything and removes the work directory after. */
export async function withInProcessService(body: (p: InProcess) => Promise<void>): Promise<void> {
  const work = mkdtempSync(join(os.tmpdir(), 'dnscache-inprocess-'));
  try {
    const nsd = await startNsd(join(work, 'nsd'), { address: await freeLoopback(5354), port: 5354 });
    const root = join(work, 'root');
    mkdirSync(join(root, 'servers'), { recursive: true });
    mkdirSync(join(root, 'ip'));
    writeFileSync(join(root, 'servers', '@'), `${nsd.address}:${nsd.port}\n`);
    writeFileSync(join(root, 'ip', '127.0.0.1'), '');
    const listen = await freeLoopback(5300);
    const config = loadConfig({
      IP: listen,
      PORT: '5300',
      ROOT: root,
      FORWARDONLY: '1',
      CACHESIZE: '100000000',
      IPSEND: '127.0.0.1',
    });
    const sink = new StreamSink(createWriteStream('/dev/null'));
    const service = new Service(config, new Log(sink), new Random(null), realClock);
    await service.start();
    const client = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    let outstanding = 0;
    let wake: (() => void) | null = null;
    client.on('message', () => {
      outstanding--;
      wake?.();
    });
    const waitFor = (done: () => boolean): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${outstanding} queries unanswered after 10 s`)), 10_000);
        const check = (): void => {
          if (!done()) return;
          clearTimeout(timer);
          wake = null;
          resolve();
        };
        wake = check;
        check();
      });
    const ask = async (queries: readonly Buffer[], window: number): Promise<void> => {
      for (const q of queries) {
        if (outstanding >= window) await waitFor(() => outstanding < window);
        outstanding++;
        client.send(q, 5300, listen);
      }
      await waitFor(() => outstanding === 0);
    };
    try {
      await body({ service, sink, ask });
    } finally {
      client.close();
      await service.stop();
    }
  } finally {
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}
