// md's speed_limit_min/max semantics for background work: the max rate
// always, the min rate while the volume serves other I/O. Time is injected.
import { assert } from '@openbsd38/libutil/assert.js';
import type { Clock } from './events.js';

export class RateLimiter {
  private windowStartMs: number;
  private windowBytes = 0;
  private windowRateBytesPerSecond = 0;

  constructor(private readonly clock: Clock) {
    this.windowStartMs = clock.nowMs();
  }

  /** Accounts `bytes` done at `rateBytesPerSecond` and sleeps until they are due. */
  async pace(bytes: number, rateBytesPerSecond: number): Promise<void> {
    assert(rateBytesPerSecond > 0, 'RateLimiter: rate must be positive');
    if (rateBytesPerSecond !== this.windowRateBytesPerSecond) {
      this.windowStartMs = this.clock.nowMs();
      this.windowBytes = 0;
      this.windowRateBytesPerSecond = rateBytesPerSecond;
    }
    this.windowBytes += bytes;
    const dueMs = this.windowStartMs + (this.windowBytes * 1000) / rateBytesPerSecond;
    const waitMs = dueMs - this.clock.nowMs();
    if (waitMs > 0) await this.clock.sleepMs(waitMs);
  }
}
