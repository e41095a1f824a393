// Environment variables → typed settings. Pure: takes the environment
// object, touches no file (ROOT is only checked for presence here).
//
// Kept from dnscache: IP, IPSEND, ROOT, UID, GID, CACHESIZE, DATALIMIT,
// HIDETTL, FORWARDONLY, USETEXTFORMAT/USETXTFORMAT, UZ5FALLBACK, FLAGEDSERVER.
// Extensions: PORT, SERVERPORT, QMIN, STALE, MAXUDP, MAXTCP, WORKERS, MINTTL, MAXTTL,
// QUERY_LOCALHOST, HEALTHQUERY, HEALTHINTERVAL, ETCD, ETCD_PREFIX, ROUTEONLY,
// ROUTECHECK, and (parseObservability) METRICS, LOGFORMAT. CONTROL and
// CONTROLRING are read by control/settings.ts; anything else is ignored.
// Unlike dnscache, which reads "12abc" as 12 and "abc" as 0, numbers must be
// decimal digits only: a typo is an error, not root privileges or a 100-byte cache.

import { DEFAULT_DNS_PORT, IpAddress, NOT_AN_IP, parseIPv4, parseIPv6, parseIp, parsePort } from './address';
import { ConfigError, quote } from './errors';
import { MAX_TTL } from '../cache/cache';
import { TYPE } from '../wire/constants';
import { Name, NameError, nameFromText, ROOT } from '../wire/name';

export type Env = Readonly<Record<string, string | undefined>>;

export const CACHESIZE_DEFAULT = 1_000_000;
export const CACHESIZE_MIN = 100;
export const CACHESIZE_MAX = 1_000_000_000;
export const MAXUDP_DEFAULT = 400;
/** STALE: how long past expiry data may be served when resolution fails (RFC 8767 suggests 1 to 3 days). */
export const STALE_DEFAULT = 86400;
export const STALE_MAX = 7 * 86400;
export const MAXTCP_DEFAULT = 40;
export const MAX_CLIENTS_LIMIT = 100_000;
/** WORKERS: processes answering queries (1: one process, as dnscache). */
export const WORKERS_MAX = 64;
const ID_MAX = 4_294_967_294; // (uid_t)-1 means "unchanged" to setuid/setgid

export interface ListenAddress {
  address: string;
  port: number;
  family: 4 | 6;
}

export interface SendFrom {
  /** Local address for IPv4 upstream sockets ('0.0.0.0' = any). */
  v4: string;
  /** Local address for IPv6 upstream sockets ('::' = any). */
  v6: string;
}

export interface CurveSettings {
  /** USETEXTFORMAT or USETXTFORMAT set: DNSCurve TXT format instead of streamlined. */
  txtFormat: boolean;
  /** UZ5FALLBACK: after n unanswered encrypted tries to a server in one question, it is asked plainly; 0 = never. */
  uz5Fallback: number;
  /** FLAGEDSERVER set: consult ip/%addr and ip/-addr for servers. */
  flaggedServers: boolean;
}

export interface RoutingSettings {
  /** ETCD: the etcd endpoints (http://host:port, comma-separated) to read routes from; empty when unset. */
  readonly etcd: readonly string[];
  /** ETCD_PREFIX: the keys under it are routes (dnsrouter's /dnsrouter/ by default). */
  readonly etcdPrefix: string;
  /** ROUTEONLY: a name no route matches gets SERVFAIL instead of being resolved. */
  readonly routeOnly: boolean;
  /** ROUTECHECK: seconds between two health checks of a route's backend. */
  readonly checkSeconds: number;
}

export const ETCD_PREFIX_DEFAULT = '/dnsrouter/';
export const ROUTECHECK_DEFAULT = 2;
const ETCD_EXPECTED =
  'expected http://host:port of an etcd server, several separated by commas, e.g. http://127.0.0.1:2379';

/** ETCD: `http://host:port[,http://host:port...]`, etcd's client URLs without paths: their host:port parts. */
export function parseEtcdEndpoints(value: string): string[] {
  return value.split(',').map((raw) => {
    const text = raw.trim();
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ConfigError(`ETCD: ${quote(text)} is not a URL (${ETCD_EXPECTED})`);
    }
    // TLS would need certificates as settings; etcd on loopback or a private network is what this is for.
    if (url.protocol !== 'http:')
      throw new ConfigError(`ETCD: ${quote(text)} is not http:// (TLS to etcd is not supported) (${ETCD_EXPECTED})`);
    if (url.port === '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.username !== '') {
      throw new ConfigError(`ETCD: ${quote(text)} must be scheme://host:port and nothing more (${ETCD_EXPECTED})`);
    }
    return url.host;
  });
}

/**
 * dnscache's flags are on when set at all, whatever the value. A value that
 * reads as "off" (0, no, false, off) would turn one on while its writer
 * meant the opposite: refused, saying so, rather than silently obeyed.
 */
function flagSet(env: Env, name: string, what: string): boolean {
  const v = env[name];
  if (v === undefined) return false;
  if (/^\s*(0|no|false|off)\s*$/i.test(v)) {
    throw new ConfigError(
      `${name}: ${quote(v)} would turn it on: it is on when set at all, as in dnscache (expected it unset for off, or set to any other value, e.g. 1, to ${what})`,
    );
  }
  return true;
}

function parseRouting(env: Env): RoutingSettings {
  const etcd = env.ETCD === undefined || env.ETCD === '' ? [] : parseEtcdEndpoints(env.ETCD);
  const etcdPrefix = env.ETCD_PREFIX ?? ETCD_PREFIX_DEFAULT;
  if (etcdPrefix === '')
    throw new ConfigError(`ETCD_PREFIX: is empty (expected the key prefix of the routes, e.g. ${ETCD_PREFIX_DEFAULT})`);
  const checkSeconds =
    optionalDecimal(env, 'ROUTECHECK', 'a number of seconds from 1 to 3600', 1, 3600) ?? ROUTECHECK_DEFAULT;
  return { etcd, etcdPrefix, routeOnly: env.ROUTEONLY !== undefined, checkSeconds };
}

/** The background check of forwarding upstreams (HEALTHQUERY, HEALTHINTERVAL). */
export interface HealthSettings {
  /** The question asked (wire-format name). */
  name: Name;
  type: number;
  /** How often an idle or failing upstream is asked, ms. */
  intervalMs: number;
}

export const HEALTH_INTERVAL_MAX = 3600;

export interface EnvSettings {
  listen: ListenAddress;
  sendFrom: SendFrom;
  /** ROOT as given (not yet resolved or checked). */
  root: string;
  /** CACHESIZE: the byte budget of all caches together (each of `workers` processes keeps its share). */
  cacheSize: number;
  /** WORKERS: how many processes share the listening sockets, each with its own cache. */
  workers: number;
  dataLimit: number | undefined;
  hideTtl: boolean;
  forwardOnly: boolean;
  maxUdp: number;
  maxTcp: number;
  /** Port of name servers learned from NS records and glue (53; a test lab may use another). */
  serverPort: number;
  /** QMIN: QNAME minimisation when iterating (RFC 9156); on unless QMIN=0. */
  qmin: boolean;
  /** STALE: seconds past expiry data may be served when resolution fails (RFC 8767); 0 = never. */
  stale: number;
  /** MINTTL: seconds an RRset is kept and served at least, TTL 0 included (Unbound's cache-min-ttl); 0 = as the servers say. */
  minTtl: number;
  /** MAXTTL: seconds nothing (RRset or negative answer) is kept or served beyond (cache-max-ttl); dnscache's week by default. */
  maxTtl: number;
  /** QUERY_LOCALHOST: false (0) never sends a query to 127.0.0.0/8 or ::1 (Unbound's do-not-query-localhost). */
  queryLocalhost: boolean;
  uid: number | undefined;
  gid: number | undefined;
  /** Routes to backends: the routes file, etcd (ETCD, ETCD_PREFIX), ROUTEONLY, ROUTECHECK. */
  routing: RoutingSettings;
  curve: CurveSettings;
  /** Health checks of FORWARDONLY's upstreams; null when HEALTHINTERVAL=0. */
  health: HealthSettings | null;
  warnings: string[];
}

const HEALTH_QUERY_EXPECTED =
  'expected a domain name and a type, e.g. ". SOA" or "example.com A" (types: a name such as A, AAAA, NS, SOA, TXT, or TYPEnnn)';

/** HEALTHQUERY: "NAME TYPE"; the default is `. SOA`, which every recursive resolver can answer from its root hints. */
function healthQuery(value: string | undefined): { name: Name; type: number } {
  if (value === undefined) return { name: ROOT, type: TYPE.SOA };
  const words = value.trim().split(/[ \t]+/);
  if (words.length !== 2)
    throw new ConfigError(`HEALTHQUERY: ${quote(value)} is not a name and a type (${HEALTH_QUERY_EXPECTED})`);
  let name: Name;
  try {
    name = nameFromText(words[0]!);
  } catch (err) {
    if (!(err instanceof NameError)) throw err;
    throw new ConfigError(
      `HEALTHQUERY: ${quote(words[0]!)} is not a domain name: ${err.message} (${HEALTH_QUERY_EXPECTED})`,
    );
  }
  const typeText = words[1]!.toUpperCase();
  const numeric = /^TYPE([0-9]{1,5})$/.exec(typeText);
  const type = numeric ? Number(numeric[1]) : (TYPE as Record<string, number>)[typeText];
  if (type === undefined || type < 1 || type > 65535 || type === TYPE.OPT) {
    throw new ConfigError(`HEALTHQUERY: ${quote(words[1]!)} is not a query type (${HEALTH_QUERY_EXPECTED})`);
  }
  return { name, type };
}

const DIGITS = /^[0-9]+$/;

/** Decimal digits only, as a safe integer; `expected` describes the allowed values. */
function decimal(variable: string, value: string, expected: string, min: number, max: number): number {
  if (!DIGITS.test(value)) {
    throw new ConfigError(`${variable}: ${quote(value)} is not a decimal number (expected ${expected})`);
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${variable}: ${quote(value)} is out of range (expected ${expected})`);
  }
  return n;
}

function optionalDecimal(env: Env, variable: string, expected: string, min: number, max: number): number | undefined {
  const value = env[variable];
  return value === undefined ? undefined : decimal(variable, value, expected, min, max);
}

function ipVariable(variable: string, value: string): IpAddress {
  const r = parseIp(value);
  if (r.ok) return r.value;
  const hint = r.reason === NOT_AN_IP ? '' : `; ${r.reason}`;
  throw new ConfigError(
    `${variable}: unable to parse IP address ${quote(value)} (expected an IPv4 or IPv6 address${hint})`,
  );
}

function sendFrom(value: string | undefined): SendFrom {
  if (value === undefined) return { v4: '0.0.0.0', v6: '::' };
  const ip = ipVariable('IPSEND', value); // IPv4-mapped IPv6 arrives as IPv4
  if (ip.family === 4) return { v4: ip.address, v6: '::' };
  return { v4: '0.0.0.0', v6: ip.address };
}

export function parseEnv(env: Env): EnvSettings {
  const warnings: string[] = [];

  const ipText = env.IP;
  if (ipText === undefined) throw new ConfigError('IP: not set (expected the IPv4 or IPv6 address to listen on)');
  const ip = ipVariable('IP', ipText);
  const port = optionalDecimal(env, 'PORT', 'a port number from 1 to 65535', 1, 65535) ?? DEFAULT_DNS_PORT;

  const root = env.ROOT;
  if (root === undefined)
    throw new ConfigError('ROOT: not set (expected the path of the root directory holding servers/ and ip/)');
  if (root === '')
    throw new ConfigError('ROOT: "" is empty (expected the path of the root directory holding servers/ and ip/)');

  let cacheSize = CACHESIZE_DEFAULT;
  const cacheText = env.CACHESIZE;
  if (cacheText !== undefined) {
    const expected = `a cache size in bytes, decimal digits only, ${CACHESIZE_MIN} to ${CACHESIZE_MAX}`;
    if (!DIGITS.test(cacheText)) {
      throw new ConfigError(`CACHESIZE: ${quote(cacheText)} is not a decimal number (expected ${expected})`);
    }
    const n = Number(cacheText);
    if (n < CACHESIZE_MIN) {
      cacheSize = CACHESIZE_MIN;
      warnings.push(`CACHESIZE: ${cacheText} is below the minimum ${CACHESIZE_MIN}; using ${CACHESIZE_MIN}`);
    } else if (n > CACHESIZE_MAX) {
      cacheSize = CACHESIZE_MAX;
      warnings.push(`CACHESIZE: ${cacheText} is above the maximum ${CACHESIZE_MAX}; using ${CACHESIZE_MAX}`);
    } else {
      cacheSize = n;
    }
  }

  const dataLimit = optionalDecimal(
    env,
    'DATALIMIT',
    'a size in bytes, decimal digits only',
    0,
    Number.MAX_SAFE_INTEGER,
  );
  const clients = `an integer from 1 to ${MAX_CLIENTS_LIMIT}`;
  const maxUdp = optionalDecimal(env, 'MAXUDP', clients, 1, MAX_CLIENTS_LIMIT) ?? MAXUDP_DEFAULT;
  const maxTcp = optionalDecimal(env, 'MAXTCP', clients, 1, MAX_CLIENTS_LIMIT) ?? MAXTCP_DEFAULT;
  const workers =
    optionalDecimal(env, 'WORKERS', `a number of processes from 1 to ${WORKERS_MAX}`, 1, WORKERS_MAX) ?? 1;
  if (cacheSize / workers < CACHESIZE_MIN) {
    throw new ConfigError(
      `WORKERS: ${workers} would leave each process less than ${CACHESIZE_MIN} bytes of CACHESIZE ${cacheSize} (expected fewer workers or a larger CACHESIZE)`,
    );
  }
  const serverPort = optionalDecimal(env, 'SERVERPORT', 'a port number from 1 to 65535', 1, 65535) ?? DEFAULT_DNS_PORT;
  const qmin = (optionalDecimal(env, 'QMIN', '0 (off) or 1 (on)', 0, 1) ?? 1) === 1;
  const stale =
    optionalDecimal(env, 'STALE', `a number of seconds from 0 (off) to ${STALE_MAX}`, 0, STALE_MAX) ?? STALE_DEFAULT;
  const maxTtl = optionalDecimal(env, 'MAXTTL', `a number of seconds from 1 to ${MAX_TTL}`, 1, MAX_TTL) ?? MAX_TTL;
  const minTtl = optionalDecimal(env, 'MINTTL', `a number of seconds from 0 to ${MAX_TTL}`, 0, MAX_TTL) ?? 0;
  if (minTtl > maxTtl) {
    throw new ConfigError(`MINTTL: ${quote(env.MINTTL!)} is above MAXTTL ${maxTtl} (expected MINTTL at most MAXTTL)`);
  }
  // Unlike dnscache's flags (HIDETTL, FORWARDONLY), on when set at all, this one is on by default: the value says which.
  const queryLocalhost =
    (optionalDecimal(
      env,
      'QUERY_LOCALHOST',
      '0 to never send queries to 127.0.0.0/8 and ::1, or 1 to allow it',
      0,
      1,
    ) ?? 1) === 1;
  const uid = optionalDecimal(env, 'UID', `a numeric user id from 0 to ${ID_MAX}`, 0, ID_MAX);
  const gid = optionalDecimal(env, 'GID', `a numeric group id from 0 to ${ID_MAX}`, 0, ID_MAX);
  const healthInterval =
    optionalDecimal(
      env,
      'HEALTHINTERVAL',
      `a number of seconds from 0 (no health checks) to ${HEALTH_INTERVAL_MAX}`,
      0,
      HEALTH_INTERVAL_MAX,
    ) ?? 1;
  const uz5Fallback =
    optionalDecimal(
      env,
      'UZ5FALLBACK',
      'a number of UDP rounds, decimal digits only (0 = never fall back)',
      0,
      2 ** 31 - 1,
    ) ?? 0;

  return {
    listen: { address: ip.address, port, family: ip.family },
    sendFrom: sendFrom(env.IPSEND),
    root,
    cacheSize,
    workers,
    dataLimit,
    hideTtl: env.HIDETTL !== undefined,
    forwardOnly: flagSet(env, 'FORWARDONLY', 'forward every query to the caches in servers/ instead of iterating'),
    maxUdp,
    maxTcp,
    serverPort,
    qmin,
    stale,
    minTtl,
    maxTtl,
    queryLocalhost,
    uid,
    gid,
    routing: parseRouting(env),
    health: healthInterval === 0 ? null : { ...healthQuery(env.HEALTHQUERY), intervalMs: healthInterval * 1000 },
    curve: {
      txtFormat: env.USETEXTFORMAT !== undefined || env.USETXTFORMAT !== undefined,
      uz5Fallback,
      flaggedServers: env.FLAGEDSERVER !== undefined,
    },
    warnings,
  };
}

/** The log line formats: djbdnscurve6's dnscache lines (the default), dnscache 1.05's (djbdns), or one JSON object per line. */
export const LOG_FORMATS = ['dnscache', 'djbdns', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Settings for watching the service: the Prometheus endpoint and the log format. */
export interface ObservabilitySettings {
  /** METRICS: where to serve GET /metrics over HTTP; null when unset. */
  metrics: ListenAddress | null;
  logFormat: LogFormat;
}

const METRICS_EXPECTED =
  'expected host:port with an IP address and a port from 1 to 65535, e.g. 127.0.0.1:9153 or [::1]:9153';

/** METRICS=`a.b.c.d:port` or `[v6]:port`; an IP literal (no names: nothing is looked up) and a port, both required. */
export function parseMetricsAddress(value: string): ListenAddress {
  const bad = (why: string): ConfigError => new ConfigError(`METRICS: ${quote(value)} ${why} (${METRICS_EXPECTED})`);
  if (value === '') throw bad('is empty');
  let host: string;
  let portText: string;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) throw bad('has no "]" after the IPv6 address');
    host = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (!rest.startsWith(':')) throw bad(rest === '' ? 'has no port' : `has ${quote(rest)} after "]"`);
    portText = rest.slice(1);
    if (parseIPv6(host) === undefined)
      throw bad(
        parseIPv4(host) !== undefined ? 'puts an IPv4 address in brackets' : 'has no IPv6 address in the brackets',
      );
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) throw bad('has no port');
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(':')) throw bad('is an IPv6 address without brackets');
  }
  const port = parsePort(portText);
  if (port === undefined) throw bad(`has port ${quote(portText)}, not a number from 1 to 65535`);
  const ip = parseIp(host);
  if (!ip.ok)
    throw bad(
      `has ${quote(host)}, which is ${ip.reason === NOT_AN_IP ? 'not an IP address' : `not usable: ${ip.reason}`}`,
    );
  return { address: ip.value.address, port, family: ip.value.family };
}

export function parseLogFormat(value: string | undefined): LogFormat {
  if (value === undefined) return 'dnscache';
  const format = LOG_FORMATS.find((f) => f === value);
  if (format === undefined) {
    throw new ConfigError(
      `LOGFORMAT: ${quote(value)} is not a log format (expected one of ${LOG_FORMATS.map((f) => quote(f)).join(', ')})`,
    );
  }
  return format;
}

/**
 * METRICS and LOGFORMAT (extensions). Kept out of parseEnv's settings so
 * the dnscache variables stay one record; loadConfig merges both.
 */
export function parseObservability(env: Env): ObservabilitySettings {
  const metrics = env.METRICS;
  return {
    metrics: metrics === undefined ? null : parseMetricsAddress(metrics),
    logFormat: parseLogFormat(env.LOGFORMAT),
  };
}
