// The `run` actions' commands: one at a time, in the order the state machine
// ran them (ifstated.c's system() ran each to its end before going on), but in
// the background, so the machine keeps following events while they run. A
// command past its time limit is killed with its process group and said.
import { commandProblem, runShellCommand, type CommandResult } from '@openbsd38/libutil/run-command.js';

export interface CommandQueueOptions {
  /** Each command's limit; undefined: none. */
  timeoutMs?: number;
  log(line: string): void;
  /** Replaced in tests. */
  runCommand?(command: string, timeoutMs: number | undefined): Promise<CommandResult>;
}

export class CommandQueue {
  private readonly waiting: string[] = [];
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: CommandQueueOptions) {}

  get length(): number {
    return this.waiting.length + (this.running === null ? 0 : 1);
  }

  enqueue(command: string): void {
    if (this.closed) return;
    this.waiting.push(command);
    if (this.running === null) this.running = this.drain();
  }

  private async drain(): Promise<void> {
    const run = this.options.runCommand ?? ((command, timeoutMs) => runShellCommand(command, { timeoutMs, captureOutput: false }));
    for (let command = this.waiting.shift(); command !== undefined; command = this.waiting.shift()) {
      const result = await run(command, this.options.timeoutMs);
      const problem = commandProblem(result);
      if (problem !== undefined) this.options.log(`command ${command}: ${problem}`);
    }
    this.running = null;
  }

  /** Runs nothing more; resolves when the running command ended. Returns how many waiting ones were dropped. */
  async close(): Promise<number> {
    this.closed = true;
    const dropped = this.waiting.length;
    this.waiting.length = 0;
    await this.running;
    return dropped;
  }

  /** Resolves when every queued command ran. */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }
}
