// A worker's part of a dump or streamed load under WORKERS (fanout.ts is
// the primary's): it hands over its entries a slice per question, holding
// its walk through the cache between questions, and restores batches of
// lines the primary read.

import { Cache } from '../cache/cache';
import { GradualSnapshot, gradualSnapshot } from '../cache/snapshot';
import { dumpTurn, LoadCounts, LoadTally } from './dumpfile';
import { LoadBatch } from './fanout';

export class WorkerSlices {
  private walk: { readonly dump: number; readonly snapshot: GradualSnapshot } | null = null;

  constructor(private readonly cache: Cache) {}

  /**
   * The next turn's entry lines of dump number `dump`; empty when there
   * are no more. A new number ends the walk of an older one: the primary
   * runs one dump at a time, and one it gave up on must not hold the cache's
   * walk for ever.
   */
  slice(dump: number): string[] {
    if (this.walk?.dump !== dump) {
      this.end();
      const snapshot = gradualSnapshot(this.cache);
      if (snapshot === null) throw new Error('a dump is already running');
      this.walk = { dump, snapshot };
    }
    return dumpTurn(this.walk.snapshot);
  }

  /** Ends the walk of the dump running, if any. */
  end(): void {
    this.walk?.snapshot.close();
    this.walk = null;
  }

  /** Restores a batch of a streamed load's lines. */
  load(batch: LoadBatch): LoadCounts {
    const tally = new LoadTally();
    batch.lines.forEach((line, i) => tally.restore(this.cache, line, batch.first + i));
    return tally.counts();
  }
}
