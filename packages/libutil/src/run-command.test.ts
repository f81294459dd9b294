import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandProblem, runProgram, runShellCommand } from './run-command.js';

test('a shell command: exit status, both outputs captured, the environment passed', async () => {
  const result = await runShellCommand('echo "out $GREETING"; echo err >&2; exit 3', { env: { ...process.env, GREETING: 'hello' } });
  assert.equal(result.status, 3);
  assert.equal(result.stdout, 'out hello\n');
  assert.equal(result.stderr, 'err\n');
  assert.equal(commandProblem(result), 'exit status 3');
  assert.equal(commandProblem(await runShellCommand('true')), undefined);
});

test('a command past its time limit is killed with its children, and the event loop was never blocked', async () => {
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  const started = Date.now();
  // The shell starts a child that would outlive it: the whole group goes.
  const result = await runShellCommand('sleep 30 & sleep 30; echo never', { timeoutMs: 200 });
  clearInterval(ticker);
  assert.equal(result.timedOut, true);
  assert.equal(result.status, null);
  assert.equal(result.signal, 'SIGTERM');
  assert.equal(result.stdout, '');
  assert.ok(Date.now() - started < 5000, 'returned soon after the limit');
  assert.ok(ticks >= 10, `timers ran meanwhile (${ticks})`);
  assert.match(commandProblem(result)!, /time limit/);
});

test('output past the bound is counted, not kept; a missing program is a start error', async () => {
  const result = await runShellCommand('head -c 100000 /dev/zero', { outputBytesMax: 1000 });
  assert.equal(result.stdout.length, 1000);
  assert.equal(result.droppedBytes, 99000);
  const missing = await runProgram('/nonexistent/program', []);
  assert.equal(missing.status, null);
  assert.match(missing.startError!, /ENOENT/);
  assert.match(commandProblem(missing)!, /ENOENT/);
});

test('arguments reach a program unchanged, no shell in between', async () => {
  const result = await runProgram('/bin/echo', ['a b', '$HOME', ';']);
  assert.equal(result.stdout, 'a b $HOME ;\n');
});

test('output not captured: the run ends when the command exits, whatever it left running', async () => {
  const started = Date.now();
  const result = await runShellCommand('sleep 30 & exit 0', { captureOutput: false });
  assert.equal(result.status, 0);
  assert.equal(result.stdout, '');
  assert.ok(Date.now() - started < 5000);
});

test('aborting kills the whole group at once with SIGKILL; onStart names the process', async () => {
  const controller = new AbortController();
  let pid = 0;
  const running = runShellCommand('trap "" TERM; sleep 30 & sleep 30', { abortSignal: controller.signal, onStart: (started) => { pid = started; } });
  assert.ok(pid > 0, 'onStart called before the promise settles');
  setTimeout(() => controller.abort(), 100);
  const result = await running;
  assert.equal(result.aborted, true);
  assert.equal(result.signal, 'SIGKILL');
  assert.ok(result.durationMs < 5000, 'SIGKILL, not a TERM the shell ignores');
  assert.match(commandProblem(result)!, /killed \(SIGKILL\)/);
});
