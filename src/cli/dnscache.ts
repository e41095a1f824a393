#!/usr/bin/env node
// dnscache: started with dnscache's environment (IP, ROOT, CACHESIZE, ...)
// and, on standard input, the seed. Fatal errors go to stderr as
// "dnscache: fatal: ..." with exit status 111, as dnscache does.

import { ConfigError, loadConfig } from '../config';
import { Log, StreamSink } from '../log/log';
import { Random, readSeed } from '../random/random';
import { Service } from '../server/service';

const EXIT_FATAL = 111;

function fatal(message: string): never {
  process.stderr.write(`dnscache: fatal: ${message}\n`);
  process.exit(EXIT_FATAL);
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fatal(err.message);
    throw err;
  }
  if (config.uid !== undefined || config.gid !== undefined) {
    fatal('UID/GID are set but chroot and privilege dropping are not available yet: unset them');
  }
  const sink = new StreamSink(process.stderr);
  const log = new Log(sink);
  for (const w of config.warnings) log.warning(w);
  const random = new Random(await readSeed());
  const service = new Service(config, log, random);
  try {
    await service.start();
  } catch (err) {
    sink.flush();
    fatal(`unable to listen on ${config.listen.address} port ${config.listen.port}: ${(err as Error).message}`);
  }
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    service.stop().then(() => {
      sink.flush();
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: Error) => fatal(err.stack ?? err.message));
