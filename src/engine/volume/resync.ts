// Resync after a crash (md's bitmap-based resync): every region whose
// write-intent bit was set when the volume went down is made consistent
// again, in the background, piece by piece under the range lock, paced with
// rebuild's md-style min/max rates. Requests that touch a region still
// pending resync it first themselves (Volume), so reads never see two
// mirrors disagree. Progress is reported as operation 'resync'.
import { VolumeIoError } from '../../lib/errors.js';
import { divFloor } from '../../lib/units.js';
import { RateLimiter } from './rate-limiter.js';
import type { Clock } from './events.js';
import type { RebuildPacing, RebuildProgress } from './rebuild.js';
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
    const elapsedSeconds = (this.host.clock.nowMs() - this.startedMs) / 1000;
    const rateBytesPerSecond = elapsedSeconds > 0 ? Math.round(this.bytesDone / elapsedSeconds) : 0;
    return {
      operation: 'resync',
      chunkIndex: -1,
      percent: this.bytesTotal === 0 ? 100 : divFloor(this.bytesDone * 100, this.bytesTotal),
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      rateBytesPerSecond,
      etaSeconds: rateBytesPerSecond > 0 ? Math.ceil((this.bytesTotal - this.bytesDone) / rateBytesPerSecond) : null,
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
