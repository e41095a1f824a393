// Configuration: environment variables + root directory → one typed,
// validated, frozen Config. Every failure is a ConfigError whose message
// names the variable or file (and line), the bad value and what was expected.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, quote } from './errors';
import {
  CurveSettings,
  Env,
  EnvSettings,
  ListenAddress,
  LogFormat,
  SendFrom,
  parseEnv,
  parseObservability,
} from './env';
import { Route, readRoutesFile } from './routes';
import { PoolTable, ServerTable, readServerFiles } from './servers';
import { RuleAction } from '../rules/action';
import { readRulesDir } from './rules';
import { Name } from '../wire/name';

export { ConfigError } from './errors';
export type { IpAddress, ParseResult, ServerAddress } from './address';
export {
  DEFAULT_DNS_PORT,
  NOT_AN_IP,
  parseIPv4,
  parseIPv6,
  parseIp,
  parsePort,
  isLoopback,
  parseServerEntry,
} from './address';
export type {
  CurveSettings,
  Env,
  EnvSettings,
  ListenAddress,
  LogFormat,
  ObservabilitySettings,
  RoutingSettings,
  SendFrom,
} from './env';
export {
  CACHESIZE_DEFAULT,
  CACHESIZE_MAX,
  CACHESIZE_MIN,
  MAXTCP_DEFAULT,
  MAXUDP_DEFAULT,
  LOG_FORMATS,
  MAX_CLIENTS_LIMIT,
  parseEnv,
  parseLogFormat,
  parseMetricsAddress,
  parseObservability,
} from './env';
export type { Route } from './routes';
export { parseRoute, parseRoutesFile, readRoutesFile } from './routes';
export type { Pool, PoolServer, PoolTable, PolicyName, ServerFiles, ServerTable } from './servers';
export { parsePoolFile, parseServersFile, POLICIES, readServerFiles, readServersDir } from './servers';

export interface Config extends Readonly<Omit<EnvSettings, 'listen' | 'sendFrom' | 'curve' | 'warnings'>> {
  readonly listen: Readonly<ListenAddress>;
  readonly sendFrom: Readonly<SendFrom>;
  /** Absolute path of ROOT. */
  readonly root: string;
  readonly servers: ServerTable;
  /** ROOT/routes: routes to backends (more come from etcd). */
  readonly routes: readonly Route[];
  /** The same servers/ files as pools: each one's policy and per-server options (FORWARDONLY). */
  readonly pools: PoolTable;
  /** rules/: the abuse rule of each suffix that has a file (none without the directory). */
  readonly rules: ReadonlyMap<Name, RuleAction>;
  readonly curve: Readonly<CurveSettings>;
  /** Non-fatal remarks (e.g. CACHESIZE clamped), to be logged at start-up. */
  readonly warnings: readonly string[];
  /** METRICS: where GET /metrics is served (Prometheus text format); null when unset. */
  readonly metrics: Readonly<ListenAddress> | null;
  /** LOGFORMAT: dnscache's lines or JSON objects. */
  readonly logFormat: LogFormat;
}

const ROOT_EXPECTED = 'expected the path of the root directory holding servers/ and ip/';

function checkRoot(root: string): string {
  const abs = path.resolve(root);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`ROOT: ${quote(root)} does not exist (${ROOT_EXPECTED})`);
    throw new ConfigError(`ROOT: unable to access ${quote(root)} (${code ?? String(err)}) (${ROOT_EXPECTED})`);
  }
  if (!st.isDirectory()) throw new ConfigError(`ROOT: ${quote(root)} is not a directory (${ROOT_EXPECTED})`);
  return abs;
}

/** Reads and validates everything; throws ConfigError on the first problem. */
export function loadConfig(env: Env): Config {
  const s = parseEnv(env);
  const o = parseObservability(env);
  const root = checkRoot(s.root);
  const { servers, pools } = readServerFiles(root, s.forwardOnly);
  const rules = readRulesDir(root);
  return Object.freeze({
    ...s,
    listen: Object.freeze(s.listen),
    sendFrom: Object.freeze(s.sendFrom),
    root,
    servers,
    routes: Object.freeze(readRoutesFile(root)),
    pools,
    rules,
    curve: Object.freeze(s.curve),
    warnings: Object.freeze([...s.warnings]),
    metrics: o.metrics ? Object.freeze(o.metrics) : null,
    logFormat: o.logFormat,
  });
}
