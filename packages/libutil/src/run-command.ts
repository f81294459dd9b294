// Operator commands, as daemons run them (sensorsd's and ifstated's commands,
// softraidd's event PROGRAM): through /bin/sh -c, or as an argument vector;
// with a time limit after which the command's whole process group is killed;
// output captured up to a bound; never blocking the event loop. The result
// says how it ended in words a log line can carry.
import { spawn } from 'node:child_process';

export interface RunCommandOptions {
  /** Killed (SIGTERM, then SIGKILL a second later) after this long. Default: no limit. */
  timeoutMs?: number;
  /** Environment (default: the daemon's). */
  env?: NodeJS.ProcessEnv;
  /** Bytes kept of stdout and of stderr each (default 64 KiB); the rest is counted, not kept. */
  outputBytesMax?: number;
  /**
   * false: the command's output goes nowhere (/dev/null), and the run ends
   * when the command exits, even if something it started in the background
   * still runs. Default true: captured, and the run ends when the output
   * closes too.
   */
  captureOutput?: boolean;
  cwd?: string;
  /** Aborting kills the command's whole process group at once with SIGKILL (ifstated's overrun test). */
  abortSignal?: AbortSignal;
  /** Called with the process id once the command started (for a log line naming it). */
  onStart?: (pid: number) => void;
}

export interface CommandResult {
  /** Exit status, or null when killed by a signal or never started. */
  status: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Killed because options.abortSignal was aborted. */
  aborted: boolean;
  /** Set when the command could not be started (ENOENT, EACCES). */
  startError: string | null;
  stdout: string;
  stderr: string;
  /** Bytes of output dropped past outputBytesMax. */
  droppedBytes: number;
  durationMs: number;
}

export const outputBytesMaxDefault = 64 * 1024;
const killGraceMs = 1000;

/** `command` through /bin/sh -c, as OpenBSD's daemons run theirs. */
export function runShellCommand(command: string, options: RunCommandOptions = {}): Promise<CommandResult> {
  return runProgram('/bin/sh', ['-c', command], options);
}

/** A program with arguments, no shell in between. */
export function runProgram(file: string, args: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  const started = Date.now();
  const outputBytesMax = options.outputBytesMax ?? outputBytesMaxDefault;
  return new Promise((resolve) => {
    const capture = options.captureOutput ?? true;
    const child = spawn(file, args, { stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'ignore', env: options.env ?? process.env, cwd: options.cwd, detached: true });
    const kept = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const keptBytes = { stdout: 0, stderr: 0 };
    let droppedBytes = 0;
    const collect = (stream: 'stdout' | 'stderr') => (data: Buffer): void => {
      const room = outputBytesMax - keptBytes[stream];
      if (room > 0) {
        const piece = data.length <= room ? data : data.subarray(0, room);
        kept[stream].push(piece);
        keptBytes[stream] += piece.length;
      }
      droppedBytes += Math.max(0, data.length - Math.max(0, room));
    };
    child.stdout?.on('data', collect('stdout'));
    child.stderr?.on('data', collect('stderr'));
    let timedOut = false;
    let startError: string | null = null;
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    let graceTimer: NodeJS.Timeout | undefined;
    const limitTimer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      graceTimer = setTimeout(() => killGroup('SIGKILL'), killGraceMs);
      graceTimer.unref();
    }, options.timeoutMs);
    let aborted = false;
    const abort = (): void => {
      aborted = true;
      killGroup('SIGKILL');
    };
    if (options.abortSignal?.aborted === true) abort();
    else options.abortSignal?.addEventListener('abort', abort, { once: true });
    if (child.pid !== undefined) options.onStart?.(child.pid);
    let settled = false;
    const finish = (status: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(limitTimer);
      clearTimeout(graceTimer);
      options.abortSignal?.removeEventListener('abort', abort);
      resolve({
        status, signal, timedOut, aborted, startError,
        stdout: Buffer.concat(kept.stdout).toString('utf8'),
        stderr: Buffer.concat(kept.stderr).toString('utf8'),
        droppedBytes, durationMs: Date.now() - started,
      });
    };
    child.once('error', (error) => {
      startError = error.message;
      finish(null, null);
    });
    // 'close': the process has exited and its output streams are drained.
    child.once(capture ? 'close' : 'exit', (code: number | null, signal: NodeJS.Signals | null) => finish(code, signal));
  });
}

/** How a command ended, for a log line: undefined when it exited 0. */
export function commandProblem(result: CommandResult): string | undefined {
  if (result.startError !== null) return result.startError;
  if (result.aborted) return `killed (${result.signal ?? 'exited'})`;
  if (result.timedOut) return `killed after its time limit (${result.signal ?? 'exited'})`;
  if (result.signal !== null) return `killed by ${result.signal}`;
  if (result.status !== 0) return `exit status ${result.status}`;
  return undefined;
}
