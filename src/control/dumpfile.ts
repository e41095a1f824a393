// The cache dump file (`dnscache-ctl dump` / `load`): JSON lines, one
// cache entry per line with its absolute expiry (seconds since the epoch),
// after a header line. Loading checks every line as untrusted input - a
// reply entry is served by copying its bytes, so its message is walked and
// its TTL offsets derived here, never taken from the file - and reports a
// bad line by number instead of failing the whole load.
//
//   {"format":"dnscache-ts cache dump","version":1,"written":1767225600}
//   {"kind":"rrset","name":"www.example.test.","type":1,"expires":1767225900,"rdata":["c0000250"],"rank":5}
//   {"kind":"rrset","name":"example.test.","type":2,"expires":1767225900,"rdata":["…"],"rank":2,"side":"parent"}
//   {"kind":"nxdomain","name":"nx.example.test.","expires":1767225900,"soa":{"name":"example.test.","rdata":"..."}}
//   {"kind":"nodata","name":"www.example.test.","type":16,"expires":1767225900,"soa":null}
//   {"kind":"failure","name":"dead.example.","type":1,"expires":1767225605}
//   {"kind":"reply","name":"www.example.test.","type":1,"expires":1767225900,"built":1767225600,"message":"…hex…"}
//
// An RRset's "rank" is its trust (cache/cache.ts RANK, 1 glue to 5 authoritative
// answer); "side" is "parent" for a referral's NS set or glue. A dump
// without them (written before ranks) loads as rank 4 on the child's side:
// what that version served to clients, it serves again.
//
// Names are in presentation form with RFC 1035 `\DDD` escapes, RDATA and
// messages in hex. Entries come least recently used first, so loading
// them in order rebuilds the same recency.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Cache, RANK, Rank, StoredRecord } from '../cache/cache';
import { CacheSnapshotEntry, GradualSnapshot, gradualSnapshot, restore } from '../cache/snapshot';
import { FLAG_QR, HEADER_LENGTH, TYPE } from '../wire/constants';
import { rdataNameLayout, RecordReader, WireError } from '../wire/message';
import { jsonObject } from './protocol';
import { Name, NameError, nameFromText, nameToText, readName } from '../wire/name';

export const DUMP_FORMAT = 'dnscache-ts cache dump';
export const DUMP_VERSION = 1;
/** Error messages kept in a load report; the rest are only counted. */
const MAX_REPORTED_ERRORS = 20;
/** A line longer than this cannot be an entry (a 64 KiB message is 128 KiB of hex). */
const MAX_LINE = 200_000;
/**
 * A dump's text goes out in pieces of this many characters. A piece lives
 * across many entries, long enough to be promoted out of V8's young
 * generation: 1 MB pieces grew the heap by about 40 MB during a dump of a
 * full 200 MB cache, 64 KiB ones by 5.
 */
const WRITE_CHUNK = 1 << 16;

export class DumpLineError extends Error {}

// --- writing -----------------------------------------------------------

function soaJson(soa: StoredRecord | null): { name: string; rdata: string } | null {
  return soa ? { name: nameToText(soa.name), rdata: soa.rdata.toString('hex') } : null;
}

/** One entry as its dump line (without the newline). */
export function entryLine(e: CacheSnapshotEntry): string {
  const name = nameToText(e.name);
  switch (e.kind) {
    case 'rrset':
      return JSON.stringify({
        kind: e.kind,
        name,
        type: e.type,
        expires: e.expires,
        rdata: e.rdatas.map((r) => r.toString('hex')),
        rank: e.rank,
        ...(e.side === 'parent' ? { side: e.side } : {}),
      });
    case 'nxdomain':
      return JSON.stringify({ kind: e.kind, name, expires: e.expires, soa: soaJson(e.soa) });
    case 'nodata':
      return JSON.stringify({ kind: e.kind, name, type: e.type, expires: e.expires, soa: soaJson(e.soa) });
    case 'failure':
      return JSON.stringify({ kind: e.kind, name, type: e.type, expires: e.expires });
    case 'reply':
      return JSON.stringify({
        kind: e.kind,
        name,
        type: e.type,
        expires: e.expires,
        built: e.builtAt,
        message: e.message.toString('hex'),
      });
  }
}

export function headerLine(now: number): string {
  return JSON.stringify({ format: DUMP_FORMAT, version: DUMP_VERSION, written: now });
}

export interface DumpReport {
  readonly path: string;
  readonly entries: number;
  readonly bytes: number;
}

/**
 * Writes every live entry of `cache` to `file`, atomically: into a new
 * file (mode 0600) next to it, flushed to disk, then renamed over `file`.
 * The entries are taken a turn at a time (entryLinesGradually), so queries
 * are answered meanwhile.
 */
export function writeDump(cache: Cache, file: string): Promise<DumpReport> {
  return writeDumpLines(file, cache.now(), entryLinesGradually(cache));
}

/** Entries a dump takes at once; it takes more while its turn lasts. */
export const DUMP_SLICE = 100;
/** How long a dump works before it lets the event loop run (queries waiting meanwhile wait this long). */
export const DUMP_TURN_MS = 2;
/** Lines a turn takes at most, whatever the time: what a dump holds at once. */
export const DUMP_TURN_LINES = 2000;

/**
 * A dump's next lines from `walk`: DUMP_SLICE entries at a time, until
 * DUMP_TURN_MS have passed or DUMP_TURN_LINES are taken; none at the end.
 * Time, not an entry count alone, ends a turn: 1,000 entries were 1 ms of A
 * records but 10 of large TXT sets. `now` reads the CPU time a turn has
 * used (milliseconds), not the service's clock: the turn bounds real work.
 */
export function dumpTurn(walk: GradualSnapshot, now: () => number = () => performance.now()): string[] {
  const started = now();
  const lines: string[] = [];
  for (;;) {
    const slice = walk.next(DUMP_SLICE, entryLine);
    for (const line of slice) lines.push(line);
    if (slice.length === 0 || lines.length >= DUMP_TURN_LINES || now() - started >= DUMP_TURN_MS) return lines;
  }
}

/**
 * Every live entry of `cache` as dump lines, a turn at a time, letting the
 * event loop run between turns: queries are answered while a large cache
 * is dumped (gradualSnapshot in cache/snapshot.ts says what that may change).
 */
export async function* entryLinesGradually(cache: Cache): AsyncGenerator<string> {
  const walk = gradualSnapshot(cache);
  if (walk === null) throw new Error('a dump is already running');
  try {
    for (;;) {
      const lines = dumpTurn(walk);
      if (lines.length === 0) return;
      yield* lines;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    walk.close();
  }
}

/**
 * A dump's text - the header line, then `lines` - as pieces of about
 * WRITE_CHUNK characters, each made only when the one before has been
 * taken: a dump to a file or to a control connection holds one piece at a
 * time. `counted` grows as they are made.
 */
export async function* dumpChunks(
  now: number,
  lines: Iterable<string> | AsyncIterable<string>,
  counted: { entries: number; bytes: number },
): AsyncGenerator<string> {
  const piece = (text: string): string => {
    counted.bytes += Buffer.byteLength(text, 'utf8');
    return text;
  };
  let chunk = headerLine(now) + '\n';
  for await (const line of lines) {
    counted.entries++;
    chunk += line + '\n';
    if (chunk.length >= WRITE_CHUNK) {
      yield piece(chunk);
      chunk = '';
    }
  }
  yield piece(chunk);
}

/**
 * Writes `text` to the file `fd`, encoding it into `buffer` (grown when it
 * is too small) rather than into a new one each time: a new buffer per
 * chunk is memory outside V8's heap that only a garbage collection frees,
 * and V8 lets about 64 MB of it pile up before it collects - a margin a
 * full cache under DATALIMIT does not have.
 */
function writeText(fd: number, text: string, buffer: { bytes: Buffer }): void {
  const length = Buffer.byteLength(text, 'utf8');
  if (length > buffer.bytes.length) buffer.bytes = Buffer.allocUnsafeSlow(length);
  buffer.bytes.write(text, 0, 'utf8');
  for (let at = 0; at < length;) at += fs.writeSync(fd, buffer.bytes, at, length - at);
}

/**
 * Writes a dump of entry lines (from one cache, gradually, or from every
 * worker's: WORKERS), atomically as writeDump. Each WRITE_CHUNK piece is written
 * out as soon as it is full, so a dump holds one chunk whatever the cache's
 * size. (It held them all until the last was made: a dump of a 200 MB cache
 * doubled the process's data, and under the service's DATALIMIT the second
 * one aborted it.)
 */
export async function writeDumpLines(
  file: string,
  now: number,
  lines: Iterable<string> | AsyncIterable<string>,
): Promise<DumpReport> {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`,
  );
  const counted = { entries: 0, bytes: 0 };
  const handle = await fs.promises.open(tmp, 'wx', 0o600);
  try {
    const buffer = { bytes: Buffer.allocUnsafeSlow(2 * WRITE_CHUNK) };
    for await (const text of dumpChunks(now, lines, counted)) writeText(handle.fd, text, buffer);
    await handle.sync();
    await handle.close();
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.promises.unlink(tmp).catch(() => undefined);
    throw err;
  }
  // The rename itself is durable once the directory is synced; not all
  // filesystems allow that, and the data is safe either way.
  try {
    const dir = await fs.promises.open(path.dirname(file), 'r');
    await dir.sync().catch(() => undefined);
    await dir.close();
  } catch {
    // ignored
  }
  return { path: file, ...counted };
}

// --- reading -----------------------------------------------------------

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

function fail(message: string): never {
  throw new DumpLineError(message);
}

function has(o: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

function field(o: Record<string, unknown>, key: string): unknown {
  if (!has(o, key)) fail(`missing "${key}"`);
  return o[key];
}

function integer(o: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = field(o, key);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    fail(`"${key}" is ${JSON.stringify(v)} (expected an integer from ${min} to ${max})`);
  }
  return v;
}

function hex(v: unknown, what: string, max = 65535): Buffer {
  if (typeof v !== 'string' || !HEX.test(v)) fail(`${what} is not a hex string`);
  if (v.length / 2 > max) fail(`${what} is longer than ${max} bytes`);
  return Buffer.from(v, 'hex');
}

function nameField(v: unknown, what: string): Name {
  if (typeof v !== 'string') fail(`${what} is not a string`);
  try {
    return nameFromText(v, 'decimal');
  } catch (err) {
    if (err instanceof NameError) fail(`${what} ${JSON.stringify(v)} is not a domain name: ${err.message}`);
    throw err;
  }
}

/** Where an uncompressed name starting at `pos` ends, or -1 if it is not one inside `buf`. */
function plainNameEnd(buf: Buffer, pos: number): number {
  try {
    const { name, end } = readName(buf, pos);
    // A name read whole in name.length bytes had no pointer (a pointer takes 2 bytes, and stands for at least 3 or for 1).
    return end - pos === name.length ? end : -1;
  } catch (err) {
    if (err instanceof NameError) return -1;
    throw err;
  }
}

/** RDATA the cache can hand to the resolver and the reply writer without surprises. */
function checkRdata(type: number, rdata: Buffer, what: string): void {
  if (type === TYPE.A && rdata.length !== 4) fail(`${what}: an A record has 4 bytes, not ${rdata.length}`);
  if (type === TYPE.AAAA && rdata.length !== 16) fail(`${what}: an AAAA record has 16 bytes, not ${rdata.length}`);
  const layout = rdataNameLayout(type);
  if (!layout) return;
  if (rdata.length < layout.prefix) fail(`${what}: shorter than its fixed fields`);
  let pos = layout.prefix;
  for (let i = 0; i < layout.names; i++) {
    pos = plainNameEnd(rdata, pos);
    if (pos < 0) fail(`${what}: holds no valid uncompressed domain name where type ${type} has one`);
  }
  if (type === TYPE.SOA && rdata.length - pos < 20) fail(`${what}: an SOA record needs 20 bytes after its names`);
}

function soaField(v: unknown): StoredRecord | null {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) fail('"soa" is neither null nor an object');
  const o = v as Record<string, unknown>;
  const name = nameField(field(o, 'name'), '"soa.name"');
  const rdata = hex(field(o, 'rdata'), '"soa.rdata"');
  checkRdata(TYPE.SOA, rdata, '"soa.rdata"');
  return { name, type: TYPE.SOA, rdata };
}

interface ReplyLayout {
  readonly ttlOffsets: number[];
  readonly answerEnd: number;
}

/**
 * Walks a stored reply: a response with exactly our question (the name as
 * the cache keys it, uncompressed: hits lay the client's question over it),
 * whole records to the last byte, no OPT (hits append their own). Returns
 * what the reply cache needs to serve it.
 */
function replyLayout(msg: Buffer, name: Name, type: number): ReplyLayout {
  const questionEnd = HEADER_LENGTH + name.length + 4;
  if (msg.length < questionEnd) fail('"message" is shorter than a header and its question');
  if ((msg[2]! & FLAG_QR) === 0) fail('"message" is not a response (QR=0)');
  if (msg.readUInt16BE(4) !== 1) fail('"message" does not hold exactly one question');
  const ttlOffsets: number[] = [];
  let answerEnd = questionEnd;
  const counts = [msg.readUInt16BE(6), msg.readUInt16BE(8), msg.readUInt16BE(10)];
  const records = new RecordReader(msg, questionEnd);
  try {
    // readName folds the first asker's letter case, kept in the stored
    // question; a name read whole in name.length bytes had no pointer.
    const asked = readName(msg, HEADER_LENGTH);
    if (asked.name !== name || asked.end !== questionEnd - 4 || msg.readUInt16BE(asked.end) !== type) {
      fail('"message": its question is not the entry\'s name and type');
    }
    for (let section = 0; section < 3; section++) {
      for (let i = 0; i < counts[section]!; i++) {
        records.next();
        if (records.type === TYPE.OPT) fail('"message" holds an OPT record');
        ttlOffsets.push(records.ttlAt);
      }
      if (section === 0) answerEnd = records.pos;
    }
  } catch (err) {
    if (err instanceof WireError || err instanceof NameError) fail(`"message": ${err.message}`);
    throw err;
  }
  if (records.pos !== msg.length) fail('"message" has bytes after its last record');
  return { ttlOffsets, answerEnd };
}

/** Parses one entry line; throws DumpLineError saying what is wrong with it. */
export function parseEntryLine(line: string): CacheSnapshotEntry {
  const o = jsonObject(line);
  if (typeof o === 'string') fail('not a JSON object');
  const kind = field(o, 'kind');
  const name = nameField(field(o, 'name'), '"name"');
  const expires = integer(o, 'expires', 0, Number.MAX_SAFE_INTEGER);
  switch (kind) {
    case 'rrset': {
      const type = integer(o, 'type', 1, 65535);
      const list = field(o, 'rdata');
      if (!Array.isArray(list) || list.length === 0) fail('"rdata" is not a non-empty array');
      const rdatas = list.map((r, i) => {
        const rdata = hex(r, `"rdata"[${i}]`);
        checkRdata(type, rdata, `"rdata"[${i}]`);
        return rdata;
      });
      const rank = (has(o, 'rank') ? integer(o, 'rank', RANK.ADDITIONAL, RANK.ANSWER_AA) : RANK.ANSWER) as Rank;
      const side = has(o, 'side') ? field(o, 'side') : 'child';
      if (side !== 'child' && side !== 'parent')
        fail(`"side" is ${JSON.stringify(side)} (expected "child" or "parent")`);
      return { kind, name, type, expires, rdatas, rank, side };
    }
    case 'nxdomain':
      return { kind, name, expires, soa: soaField(field(o, 'soa')) };
    case 'nodata':
      return { kind, name, type: integer(o, 'type', 1, 65535), expires, soa: soaField(field(o, 'soa')) };
    case 'failure':
      return { kind, name, type: integer(o, 'type', 1, 65535), expires };
    case 'reply': {
      const type = integer(o, 'type', 1, 65535);
      const builtAt = integer(o, 'built', 0, expires);
      const message = hex(field(o, 'message'), '"message"');
      const layout = replyLayout(message, name, type);
      return { kind, name, type, expires, builtAt, message, ...layout };
    }
    default:
      fail(`"kind" is ${JSON.stringify(kind)} (expected rrset, nxdomain, nodata, failure or reply)`);
  }
}

/** Checks the first line of a dump. */
export function checkHeader(line: string): void {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    v = null;
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (o.format !== DUMP_FORMAT)
    fail(`not a dnscache-ts cache dump (expected a first line with "format":"${DUMP_FORMAT}")`);
  if (o.version !== DUMP_VERSION)
    fail(`dump version ${JSON.stringify(o.version)} is not supported (expected ${DUMP_VERSION})`);
}

export interface LoadReport {
  readonly path: string;
  /** Entries stored in the cache. */
  readonly loaded: number;
  /** Entries whose expiry has passed. */
  readonly expired: number;
  /** Lines that are not valid entries. */
  readonly malformed: number;
  /** Valid entries the cache would not keep (larger than its budget or a set's limit). */
  readonly tooBig: number;
  /** expired + malformed + tooBig. */
  readonly skipped: number;
  /** "line N: what is wrong", the first few. */
  readonly errors: readonly string[];
}

export class DumpFileError extends Error {}

/**
 * The lines of `input`, split at newlines (a CR before one is dropped). A
 * line longer than MAX_LINE comes as null, and no more than MAX_LINE of it
 * is ever held: a dump from a file or from a control connection cannot
 * make the process hold an unbounded line.
 */
export async function* boundedLines(
  input: Iterable<Buffer | string> | AsyncIterable<Buffer | string>,
): AsyncGenerator<string | null> {
  const utf8 = new StringDecoder('utf8'); // a character may be split between two reads
  let held = '';
  let overlong = false;
  const line = (text: string): string | null =>
    overlong || text.length > MAX_LINE ? null : text.endsWith('\r') ? text.slice(0, -1) : text;
  for await (const data of input) {
    let text = held + (typeof data === 'string' ? data : utf8.write(data));
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      yield line(text.slice(0, nl));
      overlong = false;
      text = text.slice(nl + 1);
    }
    if (text.length > MAX_LINE) {
      overlong = true;
      text = '';
    }
    held = text;
  }
  if (held !== '' || overlong) yield line(held);
}

/** What a load has done so far; loads into several caches (WORKERS) add theirs up. */
export class LoadTally {
  loaded = 0;
  expired = 0;
  malformed = 0;
  tooBig = 0;
  readonly errors: string[] = [];

  /** Restores line `n` (null: too long to be an entry) into `cache`, counting what became of it. */
  restore(cache: Cache, line: string | null, n: number): void {
    if (line !== null && line.trim() === '') return;
    let entry: CacheSnapshotEntry;
    try {
      if (line === null) fail(`longer than ${MAX_LINE} characters`);
      entry = parseEntryLine(line);
    } catch (err) {
      if (!(err instanceof DumpLineError)) throw err;
      this.malformed++;
      if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push(`line ${n}: ${err.message}`);
      return;
    }
    if (entry.expires <= cache.now()) this.expired++;
    else if (restore(cache, entry)) this.loaded++;
    else this.tooBig++;
  }

  add(other: LoadCounts): void {
    this.loaded += other.loaded;
    this.expired += other.expired;
    this.malformed += other.malformed;
    this.tooBig += other.tooBig;
    for (const e of other.errors) if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push(e);
  }

  counts(): LoadCounts {
    return {
      loaded: this.loaded,
      expired: this.expired,
      malformed: this.malformed,
      tooBig: this.tooBig,
      errors: [...this.errors],
    };
  }

  report(from: string): LoadReport {
    return { path: from, ...this.counts(), skipped: this.expired + this.malformed + this.tooBig };
  }
}

export type LoadCounts = Pick<LoadReport, 'loaded' | 'expired' | 'malformed' | 'tooBig' | 'errors'>;

/**
 * Checks a dump's first line (null: there was none, or it was too long),
 * throwing DumpFileError to refuse the whole load.
 */
export function checkFirstLine(line: string | null | undefined): void {
  if (line === undefined) throw new DumpFileError('the input is empty (expected a dnscache-ts cache dump)');
  try {
    if (line === null) fail('not a dnscache-ts cache dump (its first line is too long)');
    checkHeader(line);
  } catch (err) {
    throw new DumpFileError(`line 1: ${(err as Error).message}`);
  }
}

/**
 * Restores the entries of a dump's lines into `cache`, in order. Entries
 * keep their absolute expiry; expired ones and bad lines are skipped and
 * counted. Rejects with DumpFileError, having loaded nothing, only if the
 * first line is not a dump's header; `from` names the input in the report.
 */
export async function loadLines(cache: Cache, lines: AsyncIterable<string | null>, from: string): Promise<LoadReport> {
  const tally = new LoadTally();
  let n = 0;
  for await (const line of lines) {
    if (++n === 1) checkFirstLine(line);
    else tally.restore(cache, line, n);
  }
  if (n === 0) checkFirstLine(undefined);
  return tally.report(from);
}

/**
 * loadLines from a file. Rejects (with DumpFileError or the I/O error) if
 * the file cannot be read or is not a dump at all; nothing is loaded then.
 */
export async function loadDump(cache: Cache, file: string): Promise<LoadReport> {
  const stream = fs.createReadStream(file);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    return await loadLines(cache, boundedLines(stream), file);
  } finally {
    stream.destroy();
  }
}
