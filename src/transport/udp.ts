// One UDP try against one upstream server: a fresh socket bound to a random
// source port, connected to the server so the kernel discards datagrams from
// anyone else, then the first datagram the caller accepts (spec §5.5).
//
// Two ways to make it: through the native addon (native/upstream.c), when
// it is built, or with a node:dgram socket.

import { createSocket, Socket } from 'node:dgram';
import type { Endpoint } from '../config/address';
import { loadAddon, systemError } from '../platform/addon';
import { literalLookup } from './lookup';
import { Random } from '../random/random';
import { copyBytes } from '../wire/copy';
import { Expiring, PendingTimeout, TimeoutWheel } from './timeouts';

export type { Endpoint } from '../config/address';

export type TryResult =
  | { readonly kind: 'reply'; readonly bytes: Buffer; readonly rttMs: number }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly message: string };

/** Decides what a received datagram is: the answer, or noise to keep waiting through. */
export type Acceptor = (bytes: Buffer) => boolean;

/**
 * Whom a try reports to. An object rather than two closures: the asker
 * (upstream.ts) is one per question and serves all its tries, so a try in
 * flight through the addon holds no closures or contexts of its own (the
 * node:dgram fallback still makes its listeners; a cold-miss heap snapshot
 * had those among the larger things held per query in flight).
 */
export interface TryOwner {
  /** Is this datagram the answer, or noise to keep waiting through? */
  accepts(bytes: Buffer): boolean;
  /** The outcome: called exactly once, possibly before the starter returns (a failed bind); must not throw. */
  tried(result: TryResult): void;
}

/**
 * A try in progress, which its owner may end early when nobody wants its
 * answer any more: its socket closes at once, and the owner is told the try
 * failed. (Without this a dropped client's try kept its socket until it
 * timed out, and a flood of new names held thousands of them.)
 */
export interface RunningTry {
  cancel(): void;
}

/** Starts one try, reporting to `owner`; it times out on `timeouts` and reads its RTT from that wheel's clock. */
export type TryStarter = (
  server: Endpoint,
  query: Buffer,
  sendFrom: string,
  timeoutMs: number,
  random: Random,
  owner: TryOwner,
  timeouts: TimeoutWheel,
) => RunningTry;

/** What a cancelled try reports. */
export const CANCELLED: TryResult = { kind: 'error', message: 'cancelled: nobody waits for the answer' };
/** A try that ended as it started (its owner has been told): nothing to cancel. */
export const NOT_RUNNING: RunningTry = { cancel: () => {} };

const BIND_TRIES = 10;
/** An addon try id's table slot (native/upstream.c: SLOT_BITS). */
const SLOT_MASK = (1 << 20) - 1;
const TIMED_OUT: TryResult = { kind: 'timeout' };

/**
 * dnscache's rule (spec §5.5): `attempt` binds to a random port; after a
 * collision (EADDRINUSE) another, and after BIND_TRIES collisions the
 * kernel's choice (port 0; it randomises too). Returns what the last
 * attempt returned: its result, or the error it failed with.
 */
function onRandomPort<T>(
  random: Random,
  attempt: (port: number) => T | NodeJS.ErrnoException,
): T | NodeJS.ErrnoException {
  for (let tries = 0; ; tries++) {
    const r = attempt(tries < BIND_TRIES ? random.port() : 0);
    if (!(r instanceof Error) || r.code !== 'EADDRINUSE' || tries >= BIND_TRIES) return r;
  }
}

/**
 * Binds a dgram socket to a random port. With a literal lookup dgram binds
 * synchronously and reports failure through a synchronous 'error' event, so
 * no promise is needed.
 */
function bindRandom(socket: Socket, address: string, random: Random): Error | null {
  let failure: NodeJS.ErrnoException | null = null;
  const onError = (err: NodeJS.ErrnoException): void => {
    failure = err;
  };
  socket.on('error', onError);
  try {
    return onRandomPort(random, (port): NodeJS.ErrnoException | null => {
      failure = null;
      let bound = false;
      socket.bind({ address, port, exclusive: true }, () => {
        bound = true;
      });
      return bound ? null : (failure ?? new Error('bind did not complete synchronously'));
    });
  } finally {
    socket.off('error', onError);
  }
}

/**
 * One try on a node:dgram socket, driven by callbacks: bind, connect and
 * send all complete synchronously with a literal lookup, so the try costs no
 * promise and one slot on the timeout wheel (timeouts.ts). (A CPU profile of
 * cold misses had the awaits between these steps, then the promise and async
 * frames around them, among its larger JS entries.)
 */
export const startDgramTry: TryStarter = (server, query, sendFrom, timeoutMs, random, owner, timeouts) => {
  const socket = createSocket({ type: server.family === 6 ? 'udp6' : 'udp4', lookup: literalLookup(server.family) });
  let timer: PendingTimeout | null = null;
  let finished = false;
  const finish = (result: TryResult): void => {
    if (finished) return;
    finished = true;
    if (timer !== null) timeouts.cancel(timer);
    try {
      socket.close();
    } catch {
      // already closed
    }
    owner.tried(result);
  };
  const bindError = bindRandom(socket, sendFrom, random);
  if (bindError) {
    socket.on('error', () => {});
    finish({ kind: 'error', message: bindError.message });
    return NOT_RUNNING;
  }
  // Send errors, and ICMP port unreachable and the like on the connected
  // socket: this server will not answer. Errors after the end are ignored.
  socket.on('error', (err) => finish({ kind: 'error', message: err.message }));
  let started = 0;
  socket.on('message', (msg) => {
    if (!finished && owner.accepts(msg)) finish({ kind: 'reply', bytes: msg, rttMs: timeouts.clock.now() - started });
  });
  try {
    socket.connect(server.port, server.address);
    started = timeouts.clock.now();
    socket.send(query);
  } catch (err) {
    finish({ kind: 'error', message: (err as Error).message });
    return NOT_RUNNING;
  }
  timer = timeouts.after(timeoutMs, { expire: () => finish(TIMED_OUT) });
  return { cancel: () => finish(CANCELLED) };
};

interface UpstreamAddon {
  upstreamInit(onReplies: (count: number) => void): {
    readonly packets: ArrayBuffer;
    readonly meta: ArrayBuffer;
    readonly slot: number;
  };
  /** A socket bound to from:fromPort, connected to to:toPort, `query` sent: its id. Throws with errno and syscall. */
  upstreamSend(family: 4 | 6, from: string, fromPort: number, to: string, toPort: number, query: Buffer): number;
  upstreamClose(id: number): void;
}

/** A try in the addon's epoll set; it is its own timeout's target. */
class NativeTry implements Expiring, RunningTry {
  timer: PendingTimeout | null = null;

  constructor(
    private readonly tries: NativeTries,
    readonly id: number,
    readonly server: Endpoint,
    readonly owner: TryOwner,
    readonly timeouts: TimeoutWheel,
    readonly started: number,
  ) {}

  expire(): void {
    this.tries.finish(this, TIMED_OUT);
  }

  cancel(): void {
    this.tries.finish(this, CANCELLED);
  }
}

/** The addon's epoll set of try sockets, made at the first try. */
class NativeTries {
  private readonly packets: Buffer;
  private readonly meta: Int32Array;
  private readonly slot: number;
  /**
   * Open tries by the addon's table slot (an id's low 20 bits): the addon
   * reuses slots from a free list, so this stays dense, and a lookup is an
   * index and an id check - no hashing, and no hash table that grows and is
   * rehashed as tries come and go.
   */
  private readonly open: (NativeTry | null)[] = [];

  constructor(private readonly addon: UpstreamAddon) {
    const shared = addon.upstreamInit((count) => this.onReplies(count));
    this.packets = Buffer.from(shared.packets);
    this.meta = new Int32Array(shared.meta);
    this.slot = shared.slot;
  }

  readonly start: TryStarter = (server, query, sendFrom, timeoutMs, random, owner, timeouts) => {
    const id = onRandomPort(random, (port) => {
      try {
        return this.addon.upstreamSend(server.family, sendFrom, port, server.address, server.port, query);
      } catch (err) {
        return systemError(err, sendFrom);
      }
    });
    if (id instanceof Error) {
      owner.tried({ kind: 'error', message: id.message });
      return NOT_RUNNING;
    }
    const t = new NativeTry(this, id, server, owner, timeouts, timeouts.clock.now());
    this.open[id & SLOT_MASK] = t;
    t.timer = timeouts.after(timeoutMs, t);
    return t;
  };

  private onReplies(count: number): void {
    for (let i = 0; i < count; i++) {
      const id = this.meta[2 * i]!;
      const length = this.meta[2 * i + 1]!;
      const t = this.open[id & SLOT_MASK];
      if (!t || t.id !== id) continue; // it ended while this batch was read
      if (length < 0) {
        // Reading a connected socket fails on ICMP unreachable and the like: this server will not answer.
        this.finish(t, {
          kind: 'error',
          message: systemError({ errno: -length, syscall: 'recv' }, `${t.server.address}:${t.server.port}`).message,
        });
        continue;
      }
      // A copy: the memory is the next batch's.
      const bytes = Buffer.allocUnsafe(length);
      copyBytes(this.packets, i * this.slot, length, bytes, 0);
      if (t.owner.accepts(bytes)) this.finish(t, { kind: 'reply', bytes, rttMs: t.timeouts.clock.now() - t.started });
    }
  }

  finish(t: NativeTry, result: TryResult): void {
    if (this.open[t.id & SLOT_MASK] !== t) return;
    this.open[t.id & SLOT_MASK] = null;
    if (t.timer !== null) t.timeouts.cancel(t.timer);
    this.addon.upstreamClose(t.id);
    t.owner.tried(result);
  }
}

const addon = loadAddon<UpstreamAddon>('udpbatch');
let nativeTries: NativeTries | null = null;

/**
 * One try through the addon (null when it is not built): the socket is
 * made, bound, connected and sent from in one call, waits in one epoll set
 * with every other try's, and replies come to JavaScript in batches. By a
 * CPU profile of cold misses, a dgram socket's making, binding, sending and
 * closing was about a third of a miss.
 */
export const startNativeTry: TryStarter | null =
  addon instanceof Error
    ? null
    : (...args) => {
        nativeTries ??= new NativeTries(addon);
        return nativeTries.start(...args);
      };

/** The addon's tries when it is built, else dgram's. */
export const startUdpTry: TryStarter = startNativeTry ?? startDgramTry;

/** A try as a promise (`start`: startUdpTry, or one way in particular). */
export function udpTry(
  server: Endpoint,
  query: Buffer,
  sendFrom: string,
  timeoutMs: number,
  random: Random,
  accept: Acceptor,
  timeouts: TimeoutWheel,
  start: TryStarter = startUdpTry,
): Promise<TryResult> {
  return new Promise<TryResult>((resolve) => {
    start(server, query, sendFrom, timeoutMs, random, { accepts: accept, tried: resolve }, timeouts);
  });
}
