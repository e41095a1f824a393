// The TCP listener (spec §3.3, RFC 7766): ACL on accept, 2-byte framing,
// several queries per connection answered as they complete, a 10 s idle
// timeout while nothing is pending, and at most MAXTCP connections - when
// full, the oldest connection is closed to make room.

import { RefusedClients } from './refused';
import { createServer, Server, Socket } from 'node:net';
import { ClientAcl } from '../acl/acl';
import type { Clock, Timer } from '../platform/clock';
import { ClientRule } from '../rules/book';
import { Log } from '../log/log';
import { Engine, Handled, Pending, ReplySender } from './engine';
import { acceptableSourcePort } from './udp';

export interface TcpOptions {
  readonly address: string;
  readonly port: number;
  readonly maxConnections: number;
  readonly idleMs?: number;
}

const IDLE_MS = 10000;
/** Queries one connection may have in progress before we stop reading from it. */
export const MAX_PENDING_PER_CONNECTION = 32;
/** Reply bytes a client may leave unread before we stop reading its queries... */
const PAUSE_UNSENT = 64 * 1024;
/** ...and before we give up on it: a client that never reads must not make us buffer without end. */
const MAX_UNSENT = 1024 * 1024;

class Connection {
  private buffered: Buffer = Buffer.alloc(0);
  /** Queries in progress, by number (abandoned if the connection closes first). */
  readonly pending = new Map<number, Pending>();
  private timer: Timer | null = null;
  closed = false;
  /** The client half-closed: finish what it asked, then close. */
  ending = false;

  constructor(
    readonly socket: Socket,
    readonly address: string,
    readonly port: number,
    private readonly owner: TcpListener,
    /** The action of the ip/ file that admitted the client, decided when it connected. */
    readonly client: ClientRule | null,
  ) {}

  armIdle(): void {
    this.disarmIdle();
    if (this.pending.size === 0)
      this.timer = this.owner.clock.after(this.owner.idleMs, () => this.owner.close(this, 'temporary failure'));
  }

  disarmIdle(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** Too much in progress or unsent: take no new query from this client for now. */
  get saturated(): boolean {
    return this.pending.size >= MAX_PENDING_PER_CONNECTION || this.socket.writableLength >= PAUSE_UNSENT;
  }

  /**
   * Splits the stream into messages; returns false on a framing error.
   * Stops while saturated, leaving the rest buffered (and the socket
   * paused) until a reply completes or the client reads: one large write of
   * pipelined queries must not start thousands of resolutions at once.
   */
  feed(chunk: Buffer | null, onMessage: (msg: Buffer) => void): boolean {
    if (chunk) this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 2) {
      if (this.saturated) {
        this.socket.pause();
        return true;
      }
      const len = this.buffered.readUInt16BE(0);
      if (len === 0) return false;
      if (this.buffered.length < len + 2) break;
      const msg = this.buffered.subarray(2, len + 2);
      this.buffered = this.buffered.subarray(len + 2);
      onMessage(msg);
      if (this.closed) return true;
    }
    return true;
  }
}

export class TcpListener implements ReplySender<Connection> {
  private server: Server | null = null;
  /** Open connections in accept order: the first is the oldest. */
  private readonly connections = new Set<Connection>();
  readonly idleMs: number;
  /** Connections closed because MAXTCP were open (for metrics). */
  evictedCount = 0;

  constructor(
    private readonly opts: TcpOptions,
    private readonly engine: Engine,
    private readonly acl: ClientAcl,
    private readonly log: Log,
    private readonly refused: RefusedClients,
    /** The time the idle timeout runs on. */
    readonly clock: Clock,
  ) {
    this.idleMs = opts.idleMs ?? IDLE_MS;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Queries in progress over open connections (read when metrics are scraped, not kept). */
  get pendingCount(): number {
    let n = 0;
    for (const conn of this.connections) n += conn.pending.size;
    return n;
  }

  start(): Promise<void> {
    const server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.onConnection(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // Not exclusive, as the UDP socket: WORKERS processes share it.
      server.listen(
        { host: this.opts.address, port: this.opts.port, backlog: 20, exclusive: false, ipv6Only: false },
        () => {
          server.off('error', reject);
          server.on('error', (err) => this.log.warning(`TCP listener: ${err.message}`));
          resolve();
        },
      );
    });
  }

  private onConnection(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    socket.on('error', () => {});
    const admitted = acceptableSourcePort(port) ? this.acl.admit(address) : false;
    if (admitted === false) {
      this.refused.refused(address, 't', acceptableSourcePort(port) ? 'no ip/ entry' : 'source port');
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.opts.maxConnections) {
      const oldest = this.connections.values().next().value;
      if (oldest) {
        this.evictedCount++;
        for (const n of oldest.pending.keys()) this.log.drop(n, 't', 'timed out');
        this.close(oldest, oldest.pending.size > 0 ? 'broken pipe' : 'timed out');
      }
    }
    const conn = new Connection(socket, address, port, this, admitted === true ? null : admitted);
    this.connections.add(conn);
    this.log.tcpopen(address, port);
    conn.armIdle();
    socket.on('data', (chunk: Buffer) => {
      conn.disarmIdle();
      // The messages of one chunk are one turn: their immediate replies are written before it ends.
      this.engine.beginTurn();
      const ok = conn.feed(chunk, (msg) => this.onMessage(conn, msg));
      this.engine.endTurn();
      if (!ok) this.close(conn, 'protocol error');
      else if (!conn.closed) conn.armIdle();
    });
    socket.on('drain', () => this.readMore(conn));
    socket.on('end', () => {
      conn.ending = true;
      if (conn.pending.size === 0) this.close(conn, 'broken pipe');
    });
    socket.on('close', () => this.close(conn, 'broken pipe'));
  }

  private onMessage(conn: Connection, msg: Buffer): void {
    let handled: Handled;
    try {
      handled = this.engine.handle(msg, conn.address, conn.port, 't', conn.client);
    } catch (err) {
      this.log.warning(`internal error on a TCP query: ${(err as Error).message}`);
      this.close(conn, 'protocol error');
      return;
    }
    if (handled === null) {
      this.close(conn, 'protocol error');
      return;
    }
    if (Buffer.isBuffer(handled)) {
      this.write(conn, handled);
      return;
    }
    conn.pending.set(handled.n, handled);
    handled.attach(this, conn);
  }

  replyReady(p: Pending, bytes: Buffer | null, conn: Connection): void {
    if (!conn.pending.delete(p.n) || conn.closed) return;
    if (bytes) {
      this.engine.replied(p, 't', bytes[3]! & 0x0f);
      this.log.sent(p.n, 't', bytes.length, bytes[3]! & 0x0f, p.started);
      this.write(conn, bytes);
    } else {
      this.log.drop(p.n, 't', 'input/output error');
    }
    if (conn.ending && conn.pending.size === 0) this.close(conn, 'broken pipe');
    else {
      this.readMore(conn);
      conn.armIdle();
    }
  }

  /** Takes up buffered queries again, and the socket, once the connection has room. */
  private readMore(conn: Connection): void {
    if (conn.closed || conn.saturated) return;
    if (!conn.feed(null, (msg) => this.onMessage(conn, msg))) {
      this.close(conn, 'protocol error');
      return;
    }
    if (!conn.closed && !conn.saturated) conn.socket.resume();
  }

  private write(conn: Connection, bytes: Buffer): void {
    const framed = Buffer.allocUnsafe(bytes.length + 2);
    framed.writeUInt16BE(bytes.length, 0);
    bytes.copy(framed, 2);
    conn.socket.write(framed);
    if (conn.socket.writableLength > MAX_UNSENT) {
      this.close(conn, 'out of memory');
      conn.socket.destroy();
    }
  }

  close(conn: Connection, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    // Nobody will read these answers: let their resolutions stop.
    for (const pending of conn.pending.values()) pending.abandon();
    conn.pending.clear();
    conn.disarmIdle();
    this.connections.delete(conn);
    this.log.tcpclose(conn.address, conn.port, reason);
    conn.socket.end();
    conn.socket.destroySoon();
  }

  closeAll(): Promise<void> {
    for (const conn of [...this.connections]) {
      conn.closed = true;
      conn.disarmIdle();
      conn.socket.destroy();
    }
    this.connections.clear();
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
