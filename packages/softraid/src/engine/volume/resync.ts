// Resync after a crash (md's bitmap-based resync): every region whose
// write-intent bit was set when the volume went down is made consistent
// again, in the background, piece by piece under the range lock, paced with
// rebuild's md-style min/max rates. Requests that touch a region still
// pending resync it first themselves (Volume), so reads never see two
// mirrors disagree. Progress is reported as operation 'resync'.
import { VolumeIoError } from '../errors.js';
import { RateLimiter } from './rate-limiter.js';
import type { Clock } from './events.js';
import { progressFigures, type RebuildPacing, type RebuildProgress } from './rebuild.js';
import type { WriteIntentBitmap } from './write-intent.js';

export interface ResyncHost {
  readonly clock: Clock;
  readonly bitmap: WriteIntentBitmap;
  /** Resyncs one region (if still pending) under the range lock. */
  resyncRegion(bit: number): Promise<void>;
  isBusy(): boolean;
}

export type ResyncOutcome =
  | { status: 'finished'; regions: number; bytes: number; elapsedMs: number }
  | { status: 'failed'; reason: string }
  | { status: 'aborted' };

export class Resync {
  private bytesDone = 0;
  readonly bytesTotal: number;
  private readonly startedMs: number;
  private aborting = false;
  private readonly limiter: RateLimiter;
  finished: Promise<ResyncOutcome> = Promise.resolve({ status: 'aborted' });

  constructor(private readonly host: ResyncHost, private readonly bits: readonly number[], readonly pacing: RebuildPacing) {
    this.bytesTotal = bits.reduce((sum, bit) => sum + host.bitmap.rangeOf(bit).lengthBytes, 0);
    this.startedMs = host.clock.nowMs();
    this.limiter = new RateLimiter(host.clock);
  }

  start(): Promise<ResyncOutcome> {
    this.finished = this.run();
    return this.finished;
  }

  async abort(): Promise<void> {
    this.aborting = true;
    await this.finished;
  }

  progress(): RebuildProgress {
    return {
      operation: 'resync',
      chunkIndex: -1,
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      ...progressFigures(this.bytesDone, this.bytesTotal, 0, this.host.clock.nowMs() - this.startedMs),
    };
  }

  private async run(): Promise<ResyncOutcome> {
    for (const bit of this.bits) {
      if (this.aborting) return { status: 'aborted' };
      const lengthBytes = this.host.bitmap.rangeOf(bit).lengthBytes;
      try {
        await this.host.resyncRegion(bit);
      } catch (error) {
        if (!(error instanceof VolumeIoError)) throw error;
        return { status: 'failed', reason: error.message };
      }
      this.bytesDone += lengthBytes;
      const rate = this.host.isBusy() ? this.pacing.rateBytesPerSecondMin : this.pacing.rateBytesPerSecondMax;
      await this.limiter.pace(lengthBytes, rate);
    }
    return { status: 'finished', regions: this.bits.length, bytes: this.bytesDone, elapsedMs: this.host.clock.nowMs() - this.startedMs };
  }
}
