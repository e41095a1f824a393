// What the upstream side counts for metrics: queries sent per transport,
// round-trip times and timeouts. The RTT table already sees every UDP
// answer and timeout, so a subclass of it observes them without touching
// the resolution code; TCP outcomes arrive through tcpOutcome
// (transport/upstream.ts). All of this runs per upstream try, not per
// client packet.

import { RttTable, ServerKey } from '../transport/rtt';
import { TryResult } from '../transport/udp';
import { TcpOutcomeObserver } from '../transport/upstream';
import { Histogram } from './histogram';

/** Upper bounds of the RTT histogram, seconds: 0.5 ms (loopback) to 5 s. */
export const RTT_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

export class UpstreamMetrics {
  /** Datagrams and connections sent upstream. */
  udpQueries = 0;
  tcpQueries = 0;
  udpTimeouts = 0;
  tcpTimeouts = 0;
  readonly udpRtt = new Histogram(RTT_BUCKETS);
  readonly tcpRtt = new Histogram(RTT_BUCKETS);

  /** Called before each try (UpstreamOptions.onTry). */
  sent(transport: 'udp' | 'tcp'): void {
    if (transport === 'udp') this.udpQueries++;
    else this.tcpQueries++;
  }
}

/** An RttTable that also feeds UpstreamMetrics; its choices of server are unchanged. */
export class MeteredRttTable extends RttTable implements TcpOutcomeObserver {
  constructor(
    private readonly metrics: UpstreamMetrics,
    now?: () => number,
  ) {
    super(now);
  }

  override answered(s: ServerKey, rttMs: number): void {
    this.metrics.udpRtt.observe(rttMs / 1000);
    super.answered(s, rttMs);
  }

  override timedOut(s: ServerKey, waitedMs: number): void {
    this.metrics.udpTimeouts++;
    super.timedOut(s, waitedMs);
  }

  tcpOutcome(_server: ServerKey, result: TryResult): void {
    if (result.kind === 'reply') this.metrics.tcpRtt.observe(result.rttMs / 1000);
    else if (result.kind === 'timeout') this.metrics.tcpTimeouts++;
  }
}
