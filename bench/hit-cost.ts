// `node dist/bench/hit-cost.js [rounds]`: the JavaScript cost of one cache hit,
// without the network. Starts NSD with the benchmark zone on loopback and a
// dnscache-ts service in this process forwarding to it, caches 1,000 names
// through a real UDP socket, then calls the engine's handle() on those
// queries - parse, lookup, reply bytes, log lines into a real sink - in
// rounds of 500,000 and prints the minimum and median per hit. The minimum
// is the figure to compare between versions: this 2-core machine's noise
// only ever adds time. Profile it with `node --cpu-prof dist/bench/hit-cost.js`.

import * as dgram from 'node:dgram';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config';
import { Log, StreamSink } from '../src/log/log';
import { Random } from '../src/random/random';
import { Service } from '../src/server/service';
import { freeLoopback } from '../test/lab/addresses';
import { rawQuery } from '../test/unit/helpers';
import { startNsd, zoneName } from './backend';
import { stopAll } from './resolvers';

const PER_ROUND = 500_000;
const NAMES = 1000;

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 16);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds: expected a positive integer, got ${process.argv[2]}`);
  const work = mkdtempSync(join(os.tmpdir(), 'dnscache-hitcost-'));
  try {
    const nsd = await startNsd(join(work, 'nsd'), { address: await freeLoopback(5354), port: 5354 });
    const root = join(work, 'root');
    mkdirSync(join(root, 'servers'), { recursive: true });
    mkdirSync(join(root, 'ip'));
    writeFileSync(join(root, 'servers', '@'), `${nsd.address}:${nsd.port}\n`);
    writeFileSync(join(root, 'ip', '127.0.0.1'), '');
    const listen = await freeLoopback(5300);
    const config = loadConfig({ IP: listen, PORT: '5300', ROOT: root, FORWARDONLY: '1', CACHESIZE: '10000000', IPSEND: '127.0.0.1' });
    const sink = new StreamSink(createWriteStream('/dev/null'));
    const service = new Service(config, new Log(sink), new Random(null));
    await service.start();
    try {
      const queries = Array.from({ length: NAMES }, (_, i) => rawQuery(zoneName(i), 1, { id: i }));
      const client = dgram.createSocket('udp4');
      let answered = 0;
      client.on('message', () => answered++);
      await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
      for (const q of queries) client.send(q, 5300, listen);
      for (let waited = 0; answered < NAMES; waited += 20) {
        if (waited > 10_000) throw new Error(`only ${answered} of ${NAMES} warm-up queries answered`);
        await new Promise((r) => setTimeout(r, 20));
      }
      client.close();

      const engine = service.engine;
      const perHit: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < PER_ROUND; i++) {
          const reply = engine.handle(queries[i % NAMES]!, '127.0.0.1', 40000 + (i & 1023), 'u');
          if (!Buffer.isBuffer(reply)) throw new Error('a warmed-up name was not a cache hit');
          if ((i & 4095) === 0) sink.flush();
        }
        perHit.push(Number(process.hrtime.bigint() - t0) / PER_ROUND);
        await new Promise((r) => setTimeout(r, 20));
      }
      perHit.sort((a, b) => a - b);
      process.stdout.write(`hit cost (JS, in process): min ${perHit[0]!.toFixed(0)} ns, median ${perHit[Math.floor(rounds / 2)]!.toFixed(0)} ns over ${rounds} rounds of ${PER_ROUND.toLocaleString('en-US')}\n`);
    } finally {
      await service.stop();
    }
  } finally {
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`hit-cost: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
