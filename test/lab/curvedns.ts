// CurveDNS (Debian package `curvedns`), the DNSCurve forwarder, run by the
// lab and the tests in front of a lab authoritative server, on loopback:
// its key pair from curvedns-keygen, its process started and stopped here.

import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { assertLoopback } from './addresses';

export const CURVEDNS = '/usr/sbin/curvedns';
export const CURVEDNS_KEYGEN = '/usr/sbin/curvedns-keygen';

/** Why CurveDNS cannot be used here, or null when it can. */
export function curvednsMissing(): string | null {
  for (const path of [CURVEDNS, CURVEDNS_KEYGEN])
    if (!existsSync(path)) return `${path} not found (Debian package curvedns; .ci/run installs it)`;
  return null;
}

export interface CurveKeyPair {
  /** The 51 base32 characters after `uz5` in the server's name. */
  readonly dnsPublic: string;
  readonly hexPublic: string;
  readonly hexSecret: string;
}

/** A fresh key pair from curvedns-keygen (its first form: the keys on standard output). */
export function curvednsKeygen(): CurveKeyPair {
  const out = execFileSync(CURVEDNS_KEYGEN, { encoding: 'latin1' });
  const field = (label: string): string => {
    const m = new RegExp(`^${label}:\\s*(\\S+)\\s*$`, 'm').exec(out);
    if (!m) throw new Error(`${CURVEDNS_KEYGEN}: no "${label}:" line in its output: ${JSON.stringify(out)}`);
    return m[1]!;
  };
  const dns = field('DNS public key');
  if (!/^uz5[0-9b-df-hj-np-z]{51}$/.test(dns))
    throw new Error(`${CURVEDNS_KEYGEN}: DNS public key ${dns} is not uz5 and 51 base32 characters`);
  return { dnsPublic: dns.slice(3), hexPublic: field('Hex public key'), hexSecret: field('Hex secret key') };
}

export interface CurveDnsProcess {
  readonly address: string;
  readonly port: number;
  readonly keys: CurveKeyPair;
  /** CurveDNS's own log lines (standard error), for failure messages. */
  readonly output: string[];
  stop(): Promise<void>;
}

/**
 * Starts CurveDNS on address:port (UDP and TCP) forwarding to
 * target:targetPort, and waits until it answers. It runs as our own user
 * (UID/GID: it drops to them after binding).
 */
export async function startCurveDns(
  address: string,
  port: number,
  target: string,
  targetPort: number,
  keys: CurveKeyPair = curvednsKeygen(),
): Promise<CurveDnsProcess> {
  assertLoopback(address, 'CurveDNS address');
  assertLoopback(target, 'CurveDNS target');
  const output: string[] = [];
  const child: ChildProcess = spawn(CURVEDNS, [address, String(port), target, String(targetPort)], {
    env: {
      CURVEDNS_PRIVATE_KEY: keys.hexSecret,
      UID: String(process.getuid!()),
      GID: String(process.getgid!()),
      CURVEDNS_DEBUG: process.env.CURVEDNS_DEBUG ?? '3',
      CURVEDNS_INTERNAL_TIMEOUT: '1.0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer): void => {
    output.push(
      ...chunk
        .toString('latin1')
        .split('\n')
        .filter((l) => l !== ''),
    );
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const stop = async (): Promise<void> => {
    if (!gone) child.kill('SIGTERM');
    await exited;
  };
  // Ready when a plain query through it gets an answer (it forwards plain DNS too).
  const deadline = Date.now() + 5000;
  for (;;) {
    if (gone) throw new Error(`curvedns ${address} ${port} exited: ${output.join(' | ')}`);
    if (await answersPlain(address, port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`curvedns ${address} ${port} did not answer within 5 s: ${output.join(' | ')}`);
    }
  }
  return { address, port, keys, output, stop };
}

/** Does a plain query for the root SOA to address:port get any reply within 200 ms? */
function answersPlain(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    const query = Buffer.from([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1]);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 200);
    socket.on('message', () => done(true));
    socket.on('error', () => done(false));
    socket.send(query, port, address);
  });
}
