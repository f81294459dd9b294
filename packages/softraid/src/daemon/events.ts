// Controller events: one log line each, in mdadm --monitor's wording, and
// the optional PROGRAM run as `PROGRAM event device [member]` (mdadm's
// convention, so existing scripts work). Runs are bounded: a few at once,
// a bounded queue, the overflow dropped with a log line.
import { commandProblem, runProgram } from '@openbsd38/libutil/run-command.js';
import type { ControllerEvent } from '@openbsd38/bio/controller.js';

export const programRunsInFlightMax = 4;
export const programQueueLengthMax = 256;

export function eventLogLine(event: ControllerEvent): string {
  const component = event.member === undefined ? '' : `, component device ${event.member}`;
  return `${event.name} event detected on ${event.device}${component}`;
}

export class EventDispatcher {
  private program: string | undefined;
  private running = 0;
  private readonly queue: ControllerEvent[] = [];
  private readonly idleWaiters: Array<() => void> = [];

  constructor(private readonly log: (line: string) => void, program: string | undefined) {
    this.program = program;
  }

  setProgram(program: string | undefined): void {
    this.program = program;
  }

  dispatch(event: ControllerEvent): void {
    this.log(eventLogLine(event));
    if (this.program === undefined) return;
    if (this.queue.length >= programQueueLengthMax) {
      this.log(`event program queue full (${programQueueLengthMax}): ${event.name} not passed to ${this.program}`);
      return;
    }
    this.queue.push(event);
    this.pump();
  }

  /** Resolves when no program run is pending (used at shutdown). */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < programRunsInFlightMax && this.queue.length > 0 && this.program !== undefined) {
      const event = this.queue.shift()!;
      const program = this.program;
      const args = [event.name, event.device, ...(event.member === undefined ? [] : [event.member])];
      this.running++;
      void runProgram(program, args, { captureOutput: false }).then((result) => {
        const problem = commandProblem(result);
        if (problem !== undefined) this.log(`event program ${program} ${args.join(' ')}: ${problem}`);
        this.running--;
        this.pump();
        if (this.running === 0 && this.queue.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
    }
    if (this.program === undefined && this.queue.length > 0) this.queue.length = 0;
  }
}
