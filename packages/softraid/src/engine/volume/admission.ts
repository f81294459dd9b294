// Requests in flight, bounded: beyond requestsInFlightMax a request waits in
// arrival order; beyond requestsWaitingMax it is refused (EBUSY).
import { assert } from '@openbsd38/libutil/assert.js';
import { VolumeIoError } from '../errors.js';

export class Admission {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly requestsInFlightMax: number, private readonly requestsWaitingMax: number) {
    assert(requestsInFlightMax > 0 && requestsWaitingMax >= 0, 'Admission: bad limits');
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Synchronous when a slot is free (so the caller can queue its lock in arrival order). */
  enter(): Promise<void> | null {
    if (this.inFlight < this.requestsInFlightMax && this.waiting.length === 0) {
      this.inFlight++;
      return null;
    }
    if (this.waiting.length >= this.requestsWaitingMax) {
      throw new VolumeIoError('EBUSY', `more than ${this.requestsInFlightMax + this.requestsWaitingMax} requests outstanding`);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  leave(): void {
    assert(this.inFlight > 0, 'Admission: leave without enter');
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }
}
