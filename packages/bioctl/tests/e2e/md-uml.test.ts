// bioctl against the real md driver of a Linux kernel: user-mode Linux boots
// with the host's file system as its root and seven ubd disks; its init runs
// md-uml-scenario.ts (create RAID 1 and RAID 5, a spare, -O and the rebuild,
// -H of the replaced disk, checks before and after a corruption behind md's
// back, repair, -d). The scenario asserts each step; this test asserts the
// guest's exit status and the steps it reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runGuest, umlMissing } from '@openbsd38/md/testing/uml.js';

const repositoryRoot = join(import.meta.dirname, '..', '..', '..', '..');

test('bioctl manages md arrays on a real kernel: create, spare, fail, rebuild, check, repair, stop', { timeout: 240_000 }, async () => {
  const missing = umlMissing();
  assert.equal(missing, null, `md-uml: ${missing}`);
  const guest = await runGuest({
    diskCount: 7,
    diskBytes: 24 * 1024 * 1024,
    command: [process.execPath, '--conditions=source', '--import', 'tsx', 'packages/bioctl/tests/e2e/md-uml-scenario.ts'],
    cwd: repositoryRoot,
    timeoutMs: 200_000,
  });
  const report = `guest output:\n${guest.output}\nconsole (tail):\n${guest.console.slice(-3000)}`;
  assert.equal(guest.status, 0, report);
  for (const name of ['created', 'json', 'spare', 'rebuild', 'spare-again', 'scrub', 'stopped']) {
    assert.match(guest.output, new RegExp(`^step: ${name}: `, 'm'), report);
  }
  assert.match(guest.output, /^step: rebuild: md 1 Rebuild +\d+ md1 +RAID5 \d+% done/m, report);
  assert.match(guest.output, /^scenario: all steps passed$/m, report);
  process.stdout.write(`# md-uml: guest ran in ${guest.durationMs} ms\n${guest.output.replace(/^/gm, '# ')}\n`);
});
