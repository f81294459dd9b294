// bioctl against the real md driver of a Linux kernel: user-mode Linux boots
// with the host's file system as its root and seven ubd disks; its init runs
// md-uml-scenario.ts (create RAID 1 and RAID 5, a spare, -O and the rebuild,
// -H of the replaced disk, checks before and after a corruption behind md's
// back, repair, a reshape of strip size and layout, -d). The scenario
// asserts each step; this test asserts the guest's exit status and the steps
// it reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from './md-uml-guest.js';

test('bioctl manages md arrays on a real kernel: create, spare, fail, rebuild, check, repair, reshape, stop', { timeout: 240_000 }, async () => {
  const output = await runScenario('md-uml-scenario.ts', ['created', 'json', 'cli', 'spare', 'rebuild', 'spare-again', 'scrub', 'reshape', 'stopped']);
  assert.match(output, /^step: rebuild: md 1 Rebuild +\d+ md1 +RAID5 \d+% done/m);
});
