// The listening UDP socket through the native addon (native/udpbatch.c):
// the kernel hands over up to a batch of datagrams per recvmmsg, JavaScript
// is called once per batch, and the replies made during that call leave
// with one sendmmsg. node:dgram's per-datagram recvmsg, JavaScript call and
// sendmsg are most of a cache hit's CPU; batching spreads them out.
//
// The datagrams arrive in memory shared with the addon (one 64 KB slot
// each, so nothing is cut short), with their sender's address and port
// beside them; a reply goes back to the sender's sockaddr as received.

import { loadAddon, systemError } from '../platform/addon';
import { OnBatchEnd, OnDatagram, Peer, RECEIVE_BUFFER, ServerUdpSocket, UdpSocketOptions } from './udp-socket';

interface Opened {
  readonly handle: unknown;
  readonly packets: ArrayBuffer;
  readonly meta: ArrayBuffer;
  readonly text: ArrayBuffer;
  readonly peers: ArrayBuffer;
  readonly batch: number;
  readonly slot: number;
  readonly metaWords: number;
  readonly textBytes: number;
  readonly peerBytes: number;
  /** The port bound (the kernel's choice for port 0). */
  readonly port: number;
}

interface BatchAddon {
  open(
    family: 4 | 6,
    address: string,
    port: number,
    receiveBuffer: number,
    reusePort: boolean,
    onBatch: (count: number) => void,
  ): Opened;
  send(handle: unknown, datagrams: readonly Buffer[], peers: readonly Buffer[], count: number): number;
  close(handle: unknown): void;
}

const addon = loadAddon<BatchAddon>('udpbatch');

/** Whether the addon is built and loads (Linux: recvmmsg and sendmmsg). */
export function batchAvailable(): boolean {
  return !(addon instanceof Error);
}

// Words of a slot's meta (native/udpbatch.c).
const M_LENGTH = 0;
const M_PORT = 1;
const M_FAMILY = 2;
const M_IPV4 = 3;
const M_TEXT_LENGTH = 4;

const EMPTY = Buffer.alloc(0);

/** Distinct client addresses whose text is kept (IPv4); past this the memo starts over. */
const ADDRESS_MEMO = 4096;

/** The bound socket and views of the memory it shares. */
interface Bound {
  readonly opened: Opened;
  readonly meta: Int32Array;
  /** The meta words' bytes: an IPv4 address in network order at word M_IPV4. */
  readonly metaBytes: Uint8Array;
  readonly text: Buffer;
  /** One view per slot of the peers memory: a reply during the batch goes to it. */
  readonly peerViews: readonly Buffer[];
}

export class BatchUdpSocket implements ServerUdpSocket {
  private bound: Bound | null = null;
  private current = -1;
  private readonly outData: Buffer[] = [];
  private readonly outPeers: Buffer[] = [];
  private outCount = 0;
  /** A flush of replies sent outside a batch (sendTo) is due at the end of this event-loop turn. */
  private flushDue = false;
  private readonly flushLater = (): void => {
    this.flushDue = false;
    this.flush();
  };
  /** IPv4 address (its 4 bytes as an int) → its text: a client's address is made into a string once. */
  private readonly addresses = new Map<number, string>();

  constructor(
    private readonly opts: UdpSocketOptions,
    private readonly onDatagram: OnDatagram,
    private readonly onBatchEnd: OnBatchEnd = () => {},
  ) {}

  bind(): Promise<void> {
    if (addon instanceof Error)
      return Promise.reject(new Error(`the native udpbatch addon is not available (${addon.message})`));
    const { family, address, port } = this.opts;
    try {
      const opened = addon.open(family, address, port, RECEIVE_BUFFER, this.opts.reusePort ?? false, (count) =>
        this.onBatch(count),
      );
      this.bound = {
        opened,
        meta: new Int32Array(opened.meta),
        metaBytes: new Uint8Array(opened.meta),
        text: Buffer.from(opened.text),
        peerViews: Array.from({ length: opened.batch }, (_, i) =>
          Buffer.from(opened.peers, i * opened.peerBytes, opened.peerBytes),
        ),
      };
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(systemError(err, `${address}:${port}`));
    }
  }

  private onBatch(count: number): void {
    const b = this.bound;
    if (b === null) return;
    const { opened, meta } = b;
    try {
      for (let i = 0; i < count; i++) {
        const m = i * opened.metaWords;
        const length = meta[m + M_LENGTH]!;
        if (length < 0) continue; // larger than a slot, or not IPv4/IPv6
        this.current = i;
        this.onDatagram(
          Buffer.from(opened.packets, i * opened.slot, length),
          this.addressOf(b, i, m),
          meta[m + M_PORT]!,
        );
      }
    } finally {
      this.current = -1;
      this.flush();
      this.onBatchEnd();
    }
  }

  private addressOf(b: Bound, i: number, m: number): string {
    if (b.meta[m + M_FAMILY] === 6) {
      const start = i * b.opened.textBytes;
      return b.text.toString('latin1', start, start + b.meta[m + M_TEXT_LENGTH]!);
    }
    const key = b.meta[m + M_IPV4]!;
    let text = this.addresses.get(key);
    if (text === undefined) {
      const at = 4 * (m + M_IPV4);
      const o = b.metaBytes;
      text = `${o[at]}.${o[at + 1]}.${o[at + 2]}.${o[at + 3]}`;
      if (this.addresses.size >= ADDRESS_MEMO) this.addresses.clear();
      this.addresses.set(key, text);
    }
    return text;
  }

  get port(): number {
    return this.bound?.opened.port ?? 0;
  }

  reply(bytes: Buffer): void {
    if (this.current >= 0 && this.bound !== null) this.queue(bytes, this.bound.peerViews[this.current]!);
  }

  /**
   * Replies leave together with one sendmmsg: those made during a batch at
   * its end (before the next batch overwrites the peers they go to), and
   * resolved ones at the end of the event-loop turn (setImmediate), which
   * gathers every reply whose upstream answer arrived in that turn.
   */
  private queue(bytes: Buffer, peer: Buffer): void {
    if (this.bound === null) return;
    if (this.outCount === this.bound.opened.batch) this.flush();
    this.outData[this.outCount] = bytes;
    this.outPeers[this.outCount] = peer;
    this.outCount++;
  }

  private flush(): void {
    const count = this.outCount;
    if (count === 0) return;
    this.outCount = 0;
    if (this.bound !== null && !(addon instanceof Error))
      addon.send(this.bound.opened.handle, this.outData, this.outPeers, count);
    // The replies and peers can be collected now.
    this.outData.fill(EMPTY, 0, count);
    this.outPeers.fill(EMPTY, 0, count);
  }

  peer(): Peer {
    // A copy: the slot is reused by the next batch.
    return Buffer.from(this.bound!.peerViews[this.current]!) as unknown as Peer;
  }

  sendTo(bytes: Buffer, peer: Peer): void {
    this.queue(bytes, peer as unknown as Buffer);
    if (!this.flushDue && this.current < 0) {
      this.flushDue = true;
      setImmediate(this.flushLater);
    }
  }

  close(): Promise<void> {
    this.flush();
    const b = this.bound;
    this.bound = null;
    if (b !== null && !(addon instanceof Error)) addon.close(b.opened.handle);
    return Promise.resolve();
  }
}
