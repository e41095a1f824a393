// The file descriptors one process needs at most, from its settings, and
// the limit it runs under: a process that runs out of them fails queries
// (socket EMFILE), re-reads of ip/ and metrics scrapes alike, so it says so
// at start rather than under load. The sum takes a maximum from each part
// the command puts together (listeners, resolver, control, metrics), none of
// which may import the others: so it is made here, in cli/.

import * as fs from 'node:fs';
import { Config } from '../config';
import { MAX_CONTROL_CONNECTIONS } from '../control/server';
import { MAX_CONNECTIONS as METRICS_CONNECTIONS } from '../metrics/server';
import { MAX_PREFETCHES, MAX_STALE_RETRIES } from '../resolve/resolver';
import { MAX_PENDING_PER_CONNECTION } from '../server/tcp';

/** Listening sockets, the addon's epoll sets, stdio, the log pipe, control connections, files being read. */
const FIXED_FILES = 64;

/**
 * Every client question somebody waits for holds at most one upstream
 * socket (its budget cancels the try when the last client gives up): one
 * per UDP slot, one per pipelined TCP query, plus the TCP connections
 * themselves, serve-stale's background retries, prefetches, and the
 * metrics and control connections.
 */
export function openFilesNeeded(config: Pick<Config, 'maxUdp' | 'maxTcp'>): number {
  return (
    config.maxUdp +
    config.maxTcp * (1 + MAX_PENDING_PER_CONNECTION) +
    MAX_STALE_RETRIES +
    MAX_PREFETCHES +
    METRICS_CONNECTIONS +
    MAX_CONTROL_CONNECTIONS +
    FIXED_FILES
  );
}

/** The soft limit on open files (RLIMIT_NOFILE) from /proc/self/limits, or null where it cannot be read. */
export function openFileLimit(
  limits: () => string = () => fs.readFileSync('/proc/self/limits', 'latin1'),
): number | null {
  let text: string;
  try {
    text = limits();
  } catch {
    return null;
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m) return null;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/** A warning when the open-file limit is below what the settings may need, else null. */
export function fileLimitWarning(config: Pick<Config, 'maxUdp' | 'maxTcp'>, limit: number | null): string | null {
  if (limit === null) return null;
  const needed = openFilesNeeded(config);
  if (limit >= needed) return null;
  return `open-file limit ${limit} is below the ${needed} that MAXUDP=${config.maxUdp} and MAXTCP=${config.maxTcp} may need (raise it, e.g. ulimit -n ${needed}, or lower MAXUDP/MAXTCP)`;
}
