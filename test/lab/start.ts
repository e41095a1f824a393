// `npm start`: the offline demo. Starts the lab's upstream DNS server on a
// loopback address and the real dnscache process on 127.0.0.1 port 5300 with
// this checkout as its root directory (ip/ allows localhost, servers/@ lists
// only the lab's loopback server). Nothing leaves the machine.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DEMO_UPSTREAM, demoZones } from './demo-zones';
import { LabServer } from './server';

const CHECKOUT = join(__dirname, '..', '..', '..');
const LISTEN = { address: '127.0.0.1', port: 5300 };

async function main(): Promise<void> {
  const upstream = await LabServer.start({ ...DEMO_UPSTREAM, zones: demoZones(), recursionAvailable: true });
  const child = spawn(process.execPath, [join(CHECKOUT, 'dist', 'src', 'cli', 'dnscache.js')], {
    env: { ...process.env, IP: LISTEN.address, PORT: String(LISTEN.port), ROOT: CHECKOUT, CACHESIZE: '1000000', FORWARDONLY: '1' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const dig = `dig @${LISTEN.address} -p ${LISTEN.port}`;
  process.stdout.write(
    [
      `lab upstream: ${upstream.address} port ${upstream.port} (zone example.test)`,
      `dnscache-ts:  ${LISTEN.address} port ${LISTEN.port}, ROOT=${CHECKOUT}, FORWARDONLY`,
      '',
      'Try, in another terminal:',
      `  ${dig} www.example.test            # forwarded, then cached (run it twice: the TTL counts down)`,
      `  ${dig} chain.example.test          # a CNAME chain`,
      `  ${dig} nosuch.example.test         # NXDOMAIN with the SOA in the authority section`,
      `  ${dig} big.example.test +ignore +noedns   # 60 records: truncated for a 512-byte client`,
      `  ${dig} big.example.test +tcp       # the whole answer over TCP`,
      `  ${dig} localhost                   # answered internally`,
      '',
      'dnscache log lines follow. Ctrl-C stops both.',
      '',
    ].join('\n'),
  );
  const stop = (): void => {
    child.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', async (code) => {
    await upstream.stop();
    process.exit(code ?? 0);
  });
}

main().catch((err: Error) => {
  process.stderr.write(`npm start: ${err.message}\n`);
  process.exit(1);
});
