// The listening UDP socket, as the UDP listener sees it: datagrams come in
// one at a time; the one being delivered can be answered at once (a cache
// hit) or remembered (its peer) and answered later (a resolution).
//
// Two implementations: node:dgram here, and batches of recvmmsg/sendmmsg
// through the native addon (udp-batch.ts), used when it is built.

import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import { literalLookup } from '../transport/lookup';

declare const peerBrand: unique symbol;
/** Where a datagram came from, in the form its socket sends to. */
export type Peer = { readonly [peerBrand]: true };

/**
 * Called for each datagram. `packet` is valid only during the call (the
 * batch socket reuses its memory): whatever outlives the call must be copied.
 */
export type OnDatagram = (packet: Buffer, address: string, port: number) => void;

/** Called when the datagrams read together have been delivered and the replies made meanwhile sent. */
export type OnBatchEnd = () => void;

export interface UdpSocketOptions {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  /**
   * Several processes (WORKERS) each bind the port, and the kernel spreads
   * the datagrams over them (SO_REUSEPORT; the batch socket only: a dgram
   * socket in a cluster worker is the primary's, shared).
   */
  readonly reusePort?: boolean;
}

export interface ServerUdpSocket {
  /** Binds; rejects with an Error whose code is the errno name (EADDRINUSE, EACCES, ...). */
  bind(): Promise<void>;
  /** The port bound (the kernel's choice if port 0 was asked for); 0 when not bound. */
  readonly port: number;
  /** Answers the datagram being delivered now (only during OnDatagram). */
  reply(bytes: Buffer): void;
  /** The sender of the datagram being delivered now, to answer it later. */
  peer(): Peer;
  sendTo(bytes: Buffer, peer: Peer): void;
  close(): Promise<void>;
}

/** The kernel may cap it; the default still works. */
export const RECEIVE_BUFFER = 1 << 20;

/** node:dgram: one recvmsg, one JavaScript call and one sendmsg per datagram. */
export class DgramUdpSocket implements ServerUdpSocket {
  private socket: Socket | null = null;
  private current: RemoteInfo | null = null;

  constructor(
    private readonly opts: UdpSocketOptions,
    private readonly onDatagram: OnDatagram,
    private readonly onBatchEnd: OnBatchEnd = () => {},
  ) {}

  bind(): Promise<void> {
    const socket = createSocket({
      type: this.opts.family === 6 ? 'udp6' : 'udp4',
      ipv6Only: false,
      lookup: literalLookup(this.opts.family),
    });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => {
      this.current = rinfo;
      this.onDatagram(msg, rinfo.address, rinfo.port);
      this.current = null;
      // One datagram is a batch here: its reply, if any, went with send() above.
      this.onBatchEnd();
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      // Not exclusive: in a WORKERS process the primary binds the socket and
      // every worker shares it (outside a cluster the flag changes nothing).
      socket.bind({ address: this.opts.address, port: this.opts.port, exclusive: false }, () => {
        socket.off('error', reject);
        // Errors after start (e.g. ICMP for a vanished client) must not stop the service.
        socket.on('error', () => {});
        try {
          socket.setRecvBufferSize(RECEIVE_BUFFER);
        } catch {
          // See RECEIVE_BUFFER.
        }
        resolve();
      });
    });
  }

  get port(): number {
    try {
      return this.socket?.address().port ?? 0;
    } catch {
      return 0; // not bound (yet)
    }
  }

  reply(bytes: Buffer): void {
    const to = this.current;
    if (to) this.socket?.send(bytes, to.port, to.address);
  }

  peer(): Peer {
    return this.current as unknown as Peer;
  }

  sendTo(bytes: Buffer, peer: Peer): void {
    const to = peer as unknown as RemoteInfo;
    this.socket?.send(bytes, to.port, to.address);
  }

  close(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return Promise.resolve();
    return new Promise((resolve) => socket.close(() => resolve()));
  }
}
