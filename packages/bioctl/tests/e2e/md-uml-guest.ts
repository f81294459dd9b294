// Runs one md scenario in user-mode Linux (md's testing/uml.ts) and checks
// what the guest reported: its exit status and the steps it printed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runGuest, umlMissing } from '@openbsd38/md/testing/uml.js';

const repositoryRoot = join(import.meta.dirname, '..', '..', '..', '..');

export async function runScenario(scenario: string, steps: readonly string[]): Promise<string> {
  const missing = umlMissing();
  assert.equal(missing, null, `${scenario}: ${missing}`);
  const guest = await runGuest({
    diskCount: 7,
    diskBytes: 24 * 1024 * 1024,
    command: [process.execPath, '--conditions=source', '--import', 'tsx', `packages/bioctl/tests/e2e/${scenario}`],
    cwd: repositoryRoot,
    timeoutMs: 200_000,
  });
  const report = `guest output:\n${guest.output}\nconsole (tail):\n${guest.console.slice(-3000)}`;
  assert.equal(guest.status, 0, report);
  for (const name of steps) assert.match(guest.output, new RegExp(`^step: ${name}: `, 'm'), report);
  assert.match(guest.output, /^scenario: all steps passed$/m, report);
  process.stdout.write(`# ${scenario}: guest ran in ${guest.durationMs} ms\n${guest.output.replace(/^/gm, '# ')}\n`);
  return guest.output;
}
