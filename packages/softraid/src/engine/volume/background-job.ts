// The one shape of a volume's background passes — rebuild, resync and
// scrub: started once, stopped after the pieces in flight, progress in the
// same figures, and paced as md paces them (speed_limit_min/max: the max
// rate while the volume is idle, the min while it serves requests). The
// rates are read at every piece, so a change (SIGHUP) applies at once.
// Each pass keeps only what is its own: what a piece does, and its outcome.
import { divFloor } from '@openbsd38/libutil/units.js';
import { RateLimiter } from './rate-limiter.js';
import type { Clock } from './events.js';

export interface JobRates {
  rateBytesPerSecondMin: number;
  rateBytesPerSecondMax: number;
}

/** What every background pass needs from its volume. */
export interface JobHost {
  readonly clock: Clock;
  /** The volume served a request lately (md: not idle). */
  isBusy(): boolean;
  /** md's speed_limit_min/max now. */
  rates(): JobRates;
}

/** The figures every pass reports (bytes are per chunk, as md's sync_completed). */
export interface JobFigures {
  percent: number;
  bytesDone: number;
  bytesTotal: number;
  /** Since the pass started (or resumed). */
  rateBytesPerSecond: number;
  /** At that rate; null before any byte was done. */
  etaSeconds: number | null;
}

export interface BackgroundJob<Outcome, Progress extends JobFigures = JobFigures> {
  /** The outcome of the run start() began (I/O errors end a run with an outcome; they never reject). */
  readonly finished: Promise<Outcome>;
  start(): Promise<Outcome>;
  /** Stops after the pieces in flight; resolves with the outcome. */
  stop(): Promise<Outcome>;
  progress(): Progress;
}

/** Whole percent of bytesTotal done (100 when there is nothing to do). */
export function percentDone(bytesDone: number, bytesTotal: number): number {
  return bytesTotal === 0 ? 100 : divFloor(bytesDone * 100, bytesTotal);
}

/** A pass's clock, pacing and figures. */
export class JobMeter {
  readonly startedMs: number;
  private readonly limiter: RateLimiter;

  constructor(private readonly host: JobHost, readonly bytesTotal: number, private readonly bytesAtStart = 0) {
    this.startedMs = host.clock.nowMs();
    this.limiter = new RateLimiter(host.clock);
  }

  /** Accounts a piece of `bytes` and waits until the rate allows the next. */
  pace(bytes: number): Promise<void> {
    const rates = this.host.rates();
    return this.limiter.pace(bytes, this.host.isBusy() ? rates.rateBytesPerSecondMin : rates.rateBytesPerSecondMax);
  }

  elapsedMs(): number {
    return this.host.clock.nowMs() - this.startedMs;
  }

  figures(bytesDone: number): JobFigures {
    const elapsedSeconds = this.elapsedMs() / 1000;
    const rateBytesPerSecond = elapsedSeconds > 0 ? Math.round((bytesDone - this.bytesAtStart) / elapsedSeconds) : 0;
    return {
      percent: percentDone(bytesDone, this.bytesTotal),
      bytesDone,
      bytesTotal: this.bytesTotal,
      rateBytesPerSecond,
      etaSeconds: rateBytesPerSecond > 0 ? Math.ceil((this.bytesTotal - bytesDone) / rateBytesPerSecond) : null,
    };
  }
}
