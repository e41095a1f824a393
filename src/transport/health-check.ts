// The background checks of forwarding upstreams: every interval, each
// upstream that is idle or failing (HealthTable.due) is asked the health
// question (HEALTHQUERY, `. SOA` by default) over UDP with RD=1, a fresh ID
// and source port, as a client query would be. Only the configured upstreams
// are ever asked. A reply to exactly that question with NOERROR or NXDOMAIN
// is a success; a timeout, an error, another RCODE or a faulty reply is not.

import type { Timer } from '../platform/clock';
import { Random } from '../random/random';
import { RCODE } from '../wire/constants';
import { Name } from '../wire/name';
import { HealthTable } from './health';
import { TimeoutWheel } from './timeouts';
import { answersQuestion, buildQuery, replyFault, SendAddresses, UpstreamQuestion } from './upstream';
import { Endpoint, startUdpTry, TryOwner, TryResult, TryStarter } from './udp';

/** One check in flight: the owner of its try. */
class Check implements TryOwner {
  private readonly id: number;

  constructor(
    private readonly server: Endpoint,
    private readonly q: UpstreamQuestion,
    private readonly table: HealthTable,
    random: Random,
  ) {
    this.id = random.uint16();
  }

  query(): Buffer {
    return buildQuery(this.q, this.id);
  }

  accepts(bytes: Buffer): boolean {
    return answersQuestion(bytes, this.id, this.q);
  }

  tried(result: TryResult): void {
    if (result.kind !== 'reply')
      return this.table.checked(this.server, false, result.kind === 'timeout' ? 'timed out' : result.message);
    const fault = replyFault(result.bytes);
    const rcode = result.bytes[3]! & 0x0f;
    if (fault !== null) return this.table.checked(this.server, false, fault);
    if (rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN)
      return this.table.checked(this.server, false, `rcode ${rcode}`);
    this.table.checked(this.server, true);
  }
}

export interface HealthCheckOptions {
  readonly name: Name;
  readonly type: number;
  readonly sendFrom: SendAddresses;
  readonly random: Random;
  /** Where checks time out; its clock also runs the interval. */
  readonly timeouts: TimeoutWheel;
  /** How a try is sent (a test may count them). */
  readonly start?: TryStarter;
}

export class HealthChecker {
  private timer: Timer | null = null;
  private readonly q: UpstreamQuestion;

  constructor(
    private readonly table: HealthTable,
    /** The upstreams to check, as in force now (they change on reload). */
    private readonly servers: () => readonly Endpoint[],
    private readonly opts: HealthCheckOptions,
  ) {
    this.q = { name: opts.name, type: opts.type, rd: true };
  }

  /** Sends the checks that are due now. */
  tick(): void {
    // A check must end before the next tick decides again: it waits at most 95% of an interval.
    const timeoutMs = Math.max(50, Math.min(1000, this.table.intervalMs * 0.95));
    const seen = new Set<string>();
    for (const server of this.servers()) {
      const key = `${server.address} ${server.port}`;
      if (seen.has(key) || !this.table.due(server)) continue;
      seen.add(key);
      const check = new Check(server, this.q, this.table, this.opts.random);
      this.table.checkStarted(server);
      const from = server.family === 6 ? this.opts.sendFrom.v6 : this.opts.sendFrom.v4;
      (this.opts.start ?? startUdpTry)(
        server,
        check.query(),
        from,
        timeoutMs,
        this.opts.random,
        check,
        this.opts.timeouts,
      );
    }
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = this.opts.timeouts.clock.every(this.table.intervalMs, () => this.tick()).unref();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }
}
