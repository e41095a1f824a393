// The UDP listener: ACL, dnscache's source-port rule, and a table of at most
// MAXUDP queries in progress - when it is full the oldest is dropped (spec
// §3.2), so a flood of slow questions cannot pin unbounded memory.

import { ClientAcl } from '../acl/acl';
import { Log } from '../log/log';
import { Engine, Handled, Pending, ReplySender } from './engine';
import { BatchUdpSocket, batchAvailable } from './udp-batch';
import { RefusedClients } from './refused';
import { DgramUdpSocket, Peer, ServerUdpSocket } from './udp-socket';

export interface UdpOptions {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly maxActive: number;
  /** This is one of WORKERS processes: with the addon, each binds the port (SO_REUSEPORT). */
  readonly reusePort: boolean;
}

/** Replies to packets from privileged ports other than 53 could be used to attack system services. */
export function acceptableSourcePort(port: number): boolean {
  return port >= 1024 || port === 53;
}

export class UdpListener implements ReplySender<Peer> {
  private readonly socket: ServerUdpSocket;
  /** Queries in progress by number; Map keeps insertion order, so the first key is the oldest. */
  private readonly active = new Map<number, Pending>();
  private ednsActive = 0;
  /** Queries dropped because MAXUDP were in progress (for metrics). */
  droppedCount = 0;
  /** A datagram of the batch being delivered reached the engine: its turn is timed (Engine.beginTurn). */
  private turnOpen = false;

  constructor(
    private readonly opts: UdpOptions,
    private readonly engine: Engine,
    private readonly acl: ClientAcl,
    private readonly log: Log,
    private readonly refused: RefusedClients,
  ) {
    const onDatagram = (packet: Buffer, address: string, port: number): void => this.onMessage(packet, address, port);
    const onBatchEnd = (): void => {
      if (!this.turnOpen) return;
      this.turnOpen = false;
      this.engine.endTurn();
    };
    // The addon's batches when it is built (see udp-batch.ts), else node:dgram.
    this.socket = batchAvailable()
      ? new BatchUdpSocket(opts, onDatagram, onBatchEnd)
      : new DgramUdpSocket(opts, onDatagram, onBatchEnd);
    if (!batchAvailable() && (opts.address === '0.0.0.0' || opts.address === '::')) {
      // node:dgram cannot choose a reply's source address: on a host with several, a client may drop the reply.
      log.warning(
        `IP=${opts.address} without the native udpbatch addon: each reply leaves from the address the kernel picks, not always the one it was asked on (build the addon with npm rebuild, or listen on one address)`,
      );
    }
  }

  get activeCount(): number {
    return this.active.size;
  }

  get ednsCount(): number {
    return this.ednsActive;
  }

  start(): Promise<void> {
    return this.socket.bind();
  }

  private onMessage(packet: Buffer, address: string, port: number): void {
    if (!acceptableSourcePort(port)) return this.refused.refused(address, 'u', 'source port');
    const admitted = this.acl.admit(address);
    if (admitted === false) return this.refused.refused(address, 'u', 'no ip/ entry');
    if (!this.turnOpen) {
      this.turnOpen = true;
      this.engine.beginTurn();
    }
    let handled: Handled;
    try {
      handled = this.engine.handle(packet, address, port, 'u', admitted === true ? null : admitted);
    } catch (err) {
      this.log.warning(`internal error on a UDP query: ${(err as Error).message}`);
      return;
    }
    if (handled === null) return;
    if (Buffer.isBuffer(handled)) {
      this.socket.reply(handled);
      return;
    }
    // Where the reply goes, first: nothing is entered in the table for a query that cannot be answered.
    handled.attach(this, this.socket.peer());
    if (this.active.size >= this.opts.maxActive) this.dropOldest();
    this.active.set(handled.n, handled);
    if (handled.edns) this.ednsActive++;
  }

  replyReady(p: Pending, bytes: Buffer | null, peer: Peer): void {
    if (!this.finish(p.n)) return;
    if (bytes) {
      this.socket.sendTo(bytes, peer);
      this.engine.replied(p, 'u', bytes[3]! & 0x0f);
      this.log.sent(p.n, 'u', bytes.length, bytes[3]! & 0x0f, p.started);
    } else {
      this.log.drop(p.n, 'u', 'input/output error');
    }
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
    return this.socket.close();
  }
}
