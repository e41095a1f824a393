// `npm start`: the offline demo. Starts the lab's DNS hierarchy (root, TLDs
// and zones - some lame, dead, slow, truncating, poisoning, and with
// Debian's curvedns installed curve.test behind CurveDNS under a uz5 name - on
// 127.53.x.y port 5053 and [::1]:5053) and the real dnscache process on 127.0.0.1
// port 5300, resolving iteratively from the lab's root servers, with this
// checkout as its root directory (ip/ allows localhost, servers/@ lists only
// the lab's loopback roots). Nothing leaves the machine.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../src/service-dir/plan';
import { startHierarchy } from './hierarchy';

const CHECKOUT = join(__dirname, '..', '..', '..');
const LISTEN = { address: '127.0.0.1', port: 5300 };
/** The hierarchy the checkout's servers/@ points at. */
export const DEMO_NET = 53;
export const DEMO_PORT = 5053;

async function main(): Promise<void> {
  const lab = await startHierarchy({ net: DEMO_NET, port: DEMO_PORT, curve: true });
  const child = spawn(process.execPath, [...NODE_FLAGS, join(CHECKOUT, 'dist', 'src', 'cli', 'dnscache.js')], {
    env: {
      ...process.env,
      IP: LISTEN.address,
      PORT: String(LISTEN.port),
      ROOT: CHECKOUT,
      CACHESIZE: '1000000',
      SERVERPORT: String(DEMO_PORT),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const dig = `dig @${LISTEN.address} -p ${LISTEN.port}`;
  process.stdout.write(
    [
      'The lab DNS hierarchy (all on loopback, port ' + DEMO_PORT + '):',
      ...lab.describe().map((l) => '  ' + l),
      '',
      `dnscache-ts: ${LISTEN.address} port ${LISTEN.port}, ROOT=${CHECKOUT}, iterative from servers/@`,
      '',
      'Try, in another terminal, and watch the log lines below:',
      `  ${dig} www.example.test        # root -> test -> example.test: referrals and glue`,
      `  ${dig} www.example.test        # again: from cache, TTL counting down`,
      `  ${dig} www.cname.test          # a CNAME into another zone, chased`,
      `  ${dig} www.glueless.test       # NS without glue: resolved as a sub-query`,
      `  ${dig} www.lame.test           # one server REFUSES (lame): the other answers`,
      `  ${dig} www.dead.test           # one server is silent: one timeout, then the other`,
      `  ${dig} www.poison.test         # answers, but tries to slip in records for example.test:`,
      `  ${dig} www.example.test        #   ... still 192.0.2.80, not 6.6.6.6`,
      `  ${dig} www.v6only.test         # the zone's only server is on [::1]`,
      `  ${dig} big.example.test +tcp   # 60 records (truncated over UDP without EDNS)`,
      `  ${dig} nosuch.example.test     # NXDOMAIN with the SOA`,
      `  ${dig} www.alldead.test        # every server dead: SERVFAIL`,
      lab.curve
        ? `  ${dig} www.curve.test          # its server is uz5...: the query is sealed for CurveDNS (tx ... +)`
        : `  (no DNSCurve zone: ${lab.curveSkipped})`,
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
  child.on('exit', (code) => {
    void lab.stop().then(() => process.exit(code ?? 0));
  });
}

main().catch((err: Error) => {
  process.stderr.write(`npm start: ${err.message}\n`);
  process.exit(1);
});
