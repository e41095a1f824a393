#!/usr/bin/env node
// dnscache-conf acct logacct /D [ip]: makes the service directory D for
// dnscache-ts, as djbdns's dnscache-conf does for dnscache (env/, root/,
// seed, run, log/), plus run-systemd and dnscache-ts.service for systemd.
// Usage errors exit 100, fatal errors 111 ("dnscache-conf: fatal: ...").

import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { packageVersion } from '../platform/version';
import { Command, CommanderError } from 'commander';
import {
  Account,
  ConfError,
  DEFAULT_IP,
  FileProbe,
  ROOTS_ENV,
  SEED_BYTES,
  UNIT_NAME,
  USAGE,
  checkIp,
  checkServiceDir,
  chooseRoots,
  findPackagedRoots,
  lookupAccount,
  planServiceDir,
  rootsProblem,
  writeServiceDir,
} from '../service-dir';

const WHO = 'dnscache-conf';
const EXIT_USAGE = 100;
const EXIT_FATAL = 111;

function usage(reason?: string): never {
  if (reason) process.stderr.write(`${WHO}: usage: ${reason}\n`);
  process.stderr.write(`${WHO}: usage: ${USAGE}\n`);
  process.exit(EXIT_USAGE);
}

function fatal(message: string): never {
  process.stderr.write(`${WHO}: fatal: ${message}\n`);
  process.exit(EXIT_FATAL);
}

const probe: FileProbe = {
  exists: (p) => fs.existsSync(p),
  read: (p) => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  },
};

function account(name: string): Account {
  return lookupAccount(name) ?? fatal(`unknown account: ${name}`);
}

function readRoots(option: string | undefined): Buffer {
  const source = chooseRoots(option, process.env[ROOTS_ENV], probe, findPackagedRoots(__dirname, probe));
  if (source === undefined) {
    fatal(
      `no root server list: none of /etc/dnsroots.local, /etc/dnsroots.global or the package's root/dnsroots.global exists (give one with --roots FILE)`,
    );
  }
  let roots: Buffer;
  try {
    roots = fs.readFileSync(source.path);
  } catch (err) {
    const via = source.from === 'system' || source.from === 'package' ? '' : ` (from ${source.from})`;
    fatal(
      `unable to read the root server list ${source.path}${via}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  const problem = rootsProblem(roots.toString('utf8'), source.path);
  if (problem) fatal(`bad root server list: ${problem}`);
  return roots;
}

/** This package's dnscache.js, next to this file. */
function dnscacheScript(): string {
  const js = path.join(__dirname, 'dnscache.js');
  try {
    return fs.realpathSync(js);
  } catch {
    fatal(`unable to find dnscache-ts's ${js} (build it with npm run build)`);
  }
}

function main(argv: string[]): void {
  const program = new Command()
    .version(`dnscache-ts ${packageVersion()}`, '--version', 'print the version')
    .name(WHO)
    .usage('[--roots FILE] acct logacct /D [ip]')
    .description(
      'Create the service directory /D for dnscache-ts (daemontools ./run, and dnscache-ts.service for systemd).\n' +
        `acct: the account dnscache runs as; logacct: the account multilog runs as; ip: listen address (default ${DEFAULT_IP}).`,
    )
    .argument('<acct>')
    .argument('<logacct>')
    .argument('</D>')
    .argument('[ip]')
    .option(
      '--roots <file>',
      `root server list to copy into root/servers/@ (default: $${ROOTS_ENV}, /etc/dnsroots.local, /etc/dnsroots.global, the package's root/dnsroots.global)`,
    )
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined });

  let args: string[];
  let roots: string | undefined;
  try {
    program.parse(argv, { from: 'user' });
    args = program.args;
    roots = program.opts<{ roots?: string }>().roots;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version')
        process.exit(0);
      usage(err.message.replace(/^error: /, ''));
    }
    throw err;
  }
  const [acctName, logName, dirArg, ipArg] = args as [string, string, string, string | undefined];

  const dirCheck = checkServiceDir(dirArg);
  if (!dirCheck.ok) usage(dirCheck.reason);
  const dir = dirCheck.value;
  const ip = ipArg ?? DEFAULT_IP;
  const ipCheck = checkIp(ip);
  if (!ipCheck.ok) usage(ipCheck.reason);

  const logAcct = account(logName);
  const acct = account(acctName);
  const rootsText = readRoots(roots);
  const dnscache = dnscacheScript();
  if (fs.existsSync(dir))
    fatal(`${dir} already exists (dnscache-conf makes a new directory: remove it or choose another)`);
  if (process.getuid?.() !== 0) fatal('must be run as root (it makes files owned by root and by logacct)');

  const entries = planServiceDir({
    dir,
    acct,
    logAcct,
    ip,
    roots: rootsText,
    seed: randomBytes(SEED_BYTES),
    node: process.execPath,
    dnscache,
  });
  try {
    writeServiceDir(dir, entries);
  } catch (err) {
    if (err instanceof ConfError) fatal(err.message);
    throw err;
  }
  process.stdout.write(
    `${WHO}: created ${dir}: dnscache-ts on ${ip} as ${acct.name}, log as ${logAcct.name}\n` +
      `  daemontools: ln -s ${dir} /etc/service/   (or /service/)\n` +
      `  systemd:     systemctl link ${dir}/${UNIT_NAME} && systemctl enable --now ${UNIT_NAME}\n`,
  );
}

main(process.argv.slice(2));
