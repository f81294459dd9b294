// The controller events softraidd has seen since it started (mdadm's names),
// with their times, newest last, bounded: what the status page shows as
// "what happened overnight". The log file keeps the whole history.
import type { ControllerEvent } from '@openbsd38/bio/controller.js';

export interface LoggedEvent extends ControllerEvent {
  /** Wall-clock time, ms since the epoch. */
  atMs: number;
  /** The controller that reported it (softraid0, md). */
  controller: string;
  /** A number that only grows, so a page can tell new events from old. */
  sequence: number;
}

export const eventLogLengthMaxDefault = 200;

export class EventLog {
  private readonly events: LoggedEvent[] = [];
  private sequence = 0;

  constructor(private readonly lengthMax = eventLogLengthMaxDefault, private readonly now: () => number = Date.now) {}

  record(controller: string, event: ControllerEvent): void {
    this.events.push({ ...event, controller, atMs: this.now(), sequence: ++this.sequence });
    if (this.events.length > this.lengthMax) this.events.splice(0, this.events.length - this.lengthMax);
  }

  /** Newest first. */
  newestFirst(): LoggedEvent[] {
    return [...this.events].reverse();
  }
}
