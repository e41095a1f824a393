// The log: dnscache's events written as lines through a batching sink.
// sink.ts holds the write path; dnscache.ts the djbdnscurve6 and dnscache
// 1.05 line forms; json.ts the JSON form; fields.ts the field forms the
// formats share. This module picks the format for LOGFORMAT.

import { Clock, realClock } from '../platform/clock';
import type { LogFormat } from '../config/env';
import { DjbdnsLog, Log } from './dnscache';
import { JsonLog, jsonString } from './json';
import { LineSink } from './sink';

export { DjbdnsLog, Log, TX_FLAG } from './dnscache';
export type { RunMode, Transport, TxMode } from './dnscache';
export { hex4, hexIp, logName, rrData, rrText } from './fields';
export { JsonLog, jsonString } from './json';
export { MemorySink, StreamSink } from './sink';
export type { LineSink } from './sink';

/** The Log for LOGFORMAT: chosen once, at start. */
/** `clock`: the service's, whose now() a `sent` event's wait is measured on (Engine.now()). */
export function createLog(format: LogFormat, sink: LineSink, clock: Clock = realClock): Log {
  if (format === 'json') return new JsonLog(sink, Date.now, () => clock.now());
  return format === 'djbdns' ? new DjbdnsLog(sink) : new Log(sink);
}

/** A fatal start-up message in the chosen format (written by the caller, unbatched). */
export function fatalLine(format: LogFormat, message: string): string {
  return format === 'json'
    ? `{"time":"${new Date().toISOString()}","event":"fatal","text":${jsonString(message)}}`
    : `dnscache: fatal: ${message}`;
}
