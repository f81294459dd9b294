// Resync after a crash (md's bitmap-based resync): every region whose
// write-intent bit was set when the volume went down is made consistent
// again, in the background, piece by piece under the range lock, paced with
// rebuild's md-style min/max rates. Requests that touch a region still
// pending resync it first themselves (Volume), so reads never see two
// mirrors disagree. Progress is reported as operation 'resync'.
import { VolumeIoError } from '../errors.js';
import { JobMeter, type BackgroundJob, type JobFigures, type JobHost } from './background-job.js';
import type { WriteIntentBitmap } from './write-intent.js';

export interface ResyncHost extends JobHost {
  readonly bitmap: WriteIntentBitmap;
  /** Resyncs one region (if still pending) under the range lock. */
  resyncRegion(bit: number): Promise<void>;
}

export interface ResyncProgress extends JobFigures {
  operation: 'resync';
}

export type ResyncOutcome =
  | { status: 'finished'; regions: number; bytes: number; elapsedMs: number }
  | { status: 'failed'; reason: string }
  | { status: 'aborted' };

export class Resync implements BackgroundJob<ResyncOutcome, ResyncProgress> {
  private bytesDone = 0;
  private aborting = false;
  private readonly meter: JobMeter;
  finished: Promise<ResyncOutcome> = Promise.resolve({ status: 'aborted' });

  constructor(private readonly host: ResyncHost, private readonly bits: readonly number[]) {
    this.meter = new JobMeter(host, bits.reduce((sum, bit) => sum + host.bitmap.rangeOf(bit).lengthBytes, 0));
  }

  get bytesTotal(): number {
    return this.meter.bytesTotal;
  }

  start(): Promise<ResyncOutcome> {
    this.finished = this.run();
    return this.finished;
  }

  stop(): Promise<ResyncOutcome> {
    this.aborting = true;
    return this.finished;
  }

  progress(): ResyncProgress {
    return { operation: 'resync', ...this.meter.figures(this.bytesDone) };
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
      await this.meter.pace(lengthBytes);
    }
    return { status: 'finished', regions: this.bits.length, bytes: this.bytesDone, elapsedMs: this.meter.elapsedMs() };
  }
}
