// The UDP listener: ACL, dnscache's source-port rule, and a table of at most
// MAXUDP queries in progress - when it is full the oldest is dropped (spec
// §3.2), so a flood of slow questions cannot pin unbounded memory.

import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import { ClientAcl } from '../acl/acl';
import { Log } from '../log/log';
import { literalLookup } from '../transport/udp';
import { Engine, Handled, Pending } from './engine';

export interface UdpOptions {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly maxActive: number;
}

/** Replies to packets from privileged ports other than 53 could be used to attack system services. */
export function acceptableSourcePort(port: number): boolean {
  return port >= 1024 || port === 53;
}

export class UdpListener {
  private socket: Socket | null = null;
  /** Query number → still wanted; Map keeps insertion order, so the first key is the oldest. */
  private readonly active = new Map<number, Pending>();
  private ednsActive = 0;
  /** Queries dropped because MAXUDP were in progress (for metrics). */
  droppedCount = 0;

  constructor(
    private readonly opts: UdpOptions,
    private readonly engine: Engine,
    private readonly acl: ClientAcl,
    private readonly log: Log,
  ) {}

  get activeCount(): number {
    return this.active.size;
  }

  get ednsCount(): number {
    return this.ednsActive;
  }

  start(): Promise<void> {
    const socket = createSocket({ type: this.opts.family === 6 ? 'udp6' : 'udp4', ipv6Only: false, lookup: literalLookup(this.opts.family) });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      // Not exclusive: in a WORKERS process the primary binds the socket and
      // every worker shares it (outside a cluster the flag changes nothing).
      socket.bind({ address: this.opts.address, port: this.opts.port, exclusive: false }, () => {
        socket.off('error', reject);
        // Errors after start (e.g. ICMP for a vanished client) must not stop the service.
        socket.on('error', () => {});
        try {
          socket.setRecvBufferSize(1 << 20);
        } catch {
          // The kernel may cap it; the default still works.
        }
        resolve();
      });
    });
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (!acceptableSourcePort(rinfo.port) || !this.acl.allows(rinfo.address)) return;
    let handled: Handled;
    try {
      handled = this.engine.handle(msg, rinfo.address, rinfo.port, 'u');
    } catch (err) {
      this.log.warning(`internal error on a UDP query: ${(err as Error).message}`);
      return;
    }
    if (handled === null) return;
    if (Buffer.isBuffer(handled)) {
      this.socket?.send(handled, rinfo.port, rinfo.address);
      return;
    }
    const { n, edns } = handled;
    if (this.active.size >= this.opts.maxActive) this.dropOldest();
    this.active.set(n, handled);
    if (edns) this.ednsActive++;
    handled.reply.then((bytes) => {
      if (!this.finish(n)) return;
      if (bytes) {
        this.socket?.send(bytes, rinfo.port, rinfo.address);
        this.engine.countReply('u', bytes[3]! & 0x0f);
        this.log.sent(n, 'u', bytes.length);
      } else {
        this.log.drop(n, 'u', 'input/output error');
      }
    });
  }

  /** Removes a query from the table; false if it had already been dropped. */
  private finish(n: number): boolean {
    const pending = this.active.get(n);
    if (pending === undefined) return false;
    this.active.delete(n);
    if (pending.edns) this.ednsActive--;
    return true;
  }

  /** dnscache's full table: the oldest query is dropped, and its resolution stops unless others wait for it. */
  private dropOldest(): void {
    const oldest = this.active.entries().next();
    if (oldest.done) return;
    const [n, pending] = oldest.value;
    this.finish(n);
    pending.abandon();
    this.droppedCount++;
    this.log.drop(n, 'u', 'timed out');
  }

  close(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return Promise.resolve();
    return new Promise((resolve) => socket.close(() => resolve()));
  }
}
