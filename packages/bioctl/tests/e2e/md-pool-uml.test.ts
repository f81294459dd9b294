// softraidd beside the real md driver (user-mode Linux): it watches md
// arrays, and its global hot-spare pool feeds a degraded md array that has no
// spare of its own; the events reach its log and PROGRAM in mdadm's names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from './md-uml-guest.js';

test('softraidd\'s hot-spare pool feeds a degraded md array; md events in mdadm\'s names', { timeout: 240_000 }, async () => {
  const output = await runScenario('md-pool-scenario.ts', ['pool', 'moved', 'events']);
  assert.match(output, /^step: events: .*MoveSpare event detected on md0, component device \/dev\/ubdc/m);
});
