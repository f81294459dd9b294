// The `"command" every N` tests: run through /bin/sh at once and every N
// seconds. One still running when it is due again is killed (SIGKILL, with its
// process group) and started afresh, as ifstated.c's external_exec does — so a
// hung test never lives longer than its interval.
import { runShellCommand } from '@openbsd38/libutil/run-command.js';
import type { TestHandle, TestOutcome } from '../machine/machine.js';
import { LogLevel } from '../machine/log-level.js';

/** setTimeout's longest delay (2^31 - 1 ms, about 24.8 days); a longer interval is waited in steps. */
const timerDelayMsMax = 2 ** 31 - 1;

/** Call `action` every `intervalMs` until the returned function is called. */
function repeat(intervalMs: number, action: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  let remainingMs = intervalMs;
  const arm = (): void => {
    const stepMs = Math.min(remainingMs, timerDelayMsMax);
    timer = setTimeout(() => {
      remainingMs -= stepMs;
      if (remainingMs <= 0) {
        remainingMs = intervalMs;
        action();
      }
      if (!cancelled) arm();
    }, stepMs);
  };
  arm();
  return () => {
    cancelled = true;
    clearTimeout(timer);
  };
}

export function startExternalTest(command: string, everySeconds: number, report: (outcome: TestOutcome) => void,
  log: (level: LogLevel, line: string) => void): TestHandle {
  let stopped = false;
  let running: { controller: AbortController; pid: number } | null = null;

  const runOnce = (): void => {
    if (running !== null) {
      log(LogLevel.normal, `previous command ${command} [${running.pid}] still running, killing it`);
      running.controller.abort();
      running = null;
      report({ kind: 'overrun' });
    }
    const controller = new AbortController();
    const current = { controller, pid: 0 };
    running = current;
    log(LogLevel.verbose, `running ${command}`);
    void runShellCommand(command, { captureOutput: false, abortSignal: controller.signal, onStart: (pid) => { current.pid = pid; } }).then((result) => {
      if (running !== current || stopped) return;
      running = null;
      if (result.status !== null) report({ kind: 'exited', status: result.status });
      else report({ kind: 'abnormal' });
    });
  };

  runOnce();
  const cancel = repeat(everySeconds * 1000, runOnce);
  return {
    stop(): void {
      stopped = true;
      cancel();
      running?.controller.abort();
      running = null;
    },
  };
}
