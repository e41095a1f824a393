// Health of route backends, as dnsrouter checks them: an `id.server CH
// TXT` query over TCP every ROUTECHECK seconds. A backend that misses
// DOWN_AFTER checks in a row is out of rotation until it answers again; one
// never checked yet counts as up (it is checked as soon as a route names it).

import { CLASS, HEADER_LENGTH, TYPE } from '../wire/constants';
import { nameFromText } from '../wire/name';
import type { Clock, Timer } from '../platform/clock';
import { Random } from '../random/random';
import { tcpTry } from '../transport/tcp';
import { Endpoint } from '../transport/udp';
import { serverId } from '../transport/rtt';
import { SendAddresses } from '../transport/upstream';

const ID_SERVER = nameFromText('id.server');

/** dnsrouter's check query: `id.server CH TXT`, RD clear. */
export function checkQuery(id: number): Buffer {
  const buf = Buffer.alloc(HEADER_LENGTH + ID_SERVER.length + 4);
  buf.writeUInt16BE(id, 0);
  buf.writeUInt16BE(1, 4);
  let at = HEADER_LENGTH + buf.write(ID_SERVER, HEADER_LENGTH, 'latin1');
  at = buf.writeUInt16BE(TYPE.TXT, at);
  buf.writeUInt16BE(CLASS.CH, at);
  return buf;
}

/** Does `backend` answer? */
export type Checker = (backend: Endpoint) => Promise<boolean>;

/** A check how dnsrouter makes it: any reply with our ID over TCP within `timeoutMs` is a live backend, whatever its RCODE. */
export function tcpChecker(sendFrom: SendAddresses, random: Random, timeoutMs: number, clock: Clock): Checker {
  return (backend) =>
    new Promise((resolve) => {
      const id = random.uint16();
      const from = backend.family === 6 ? sendFrom.v6 : sendFrom.v4;
      tcpTry(
        backend,
        checkQuery(id),
        from,
        timeoutMs,
        clock,
        (reply) => reply.length >= HEADER_LENGTH && reply.readUInt16BE(0) === id && (reply[2]! & 0x80) !== 0,
        (result) => resolve(result.kind === 'reply'),
      );
    });
}

interface State {
  readonly backend: Endpoint;
  /** null: not checked yet (counted as up). */
  up: boolean | null;
  /** The check under way, if any. */
  checking: Promise<void> | null;
  /** Failed checks in a row. */
  failures: number;
}

/**
 * Failed checks in a row that take a backend out of rotation. dnsrouter
 * takes it out at the first; one check lost to a busy moment (a 1 s TCP
 * exchange) then cost every name of its routes a SERVFAIL until the next.
 */
export const DOWN_AFTER = 2;

export class BackendHealth {
  private readonly states = new Map<string, State>();
  private readonly timer: Timer;

  constructor(
    private readonly check: Checker,
    everyMs: number,
    /** Told of each change: `up` or `down`. */
    private readonly changed: (backend: Endpoint, up: boolean) => void,
    clock: Clock,
  ) {
    // Checks are no reason to stay up: the listening sockets are.
    this.timer = clock.every(everyMs, () => void this.checkAll()).unref();
  }

  /** The backends to watch now (the routes' backends): new ones are checked at once, gone ones forgotten. */
  track(backends: Iterable<Endpoint>): void {
    const wanted = new Map<string, Endpoint>();
    for (const b of backends) wanted.set(serverId(b), b);
    for (const id of this.states.keys()) if (!wanted.has(id)) this.states.delete(id);
    for (const [id, b] of wanted) {
      if (this.states.has(id)) continue;
      const state: State = { backend: b, up: null, checking: null, failures: 0 };
      this.states.set(id, state);
      void this.checkOne(id, state);
    }
  }

  /** Is `b` in rotation? (Up, or not checked yet.) */
  isUp(b: Endpoint): boolean {
    return this.states.get(serverId(b))?.up !== false;
  }

  /** What the last check of `b` said. */
  state(b: Endpoint): 'up' | 'down' | 'unchecked' {
    const up = this.states.get(serverId(b))?.up ?? null;
    return up === null ? 'unchecked' : up ? 'up' : 'down';
  }

  /** Checks every backend (one being checked already is not checked twice); resolves when all those checks are done. */
  checkAll(): Promise<void> {
    return Promise.all([...this.states].map(([id, s]) => this.checkOne(id, s))).then(() => undefined);
  }

  stop(): void {
    this.timer.cancel();
    this.states.clear();
  }

  private checkOne(id: string, state: State): Promise<void> {
    state.checking ??= this.check(state.backend)
      .catch(() => false)
      .then((up) => {
        state.checking = null;
        // Forgotten meanwhile (its routes went): nobody cares.
        if (this.states.get(id) !== state) return;
        state.failures = up ? 0 : state.failures + 1;
        const was = state.up;
        if (!up && state.failures < DOWN_AFTER) return;
        state.up = up;
        if (was !== up && !(was === null && up)) this.changed(state.backend, up);
      });
    return state.checking;
  }
}
