// The campaign command itself (npm run sim): a short campaign prints its
// totals and a line per configuration and exits 0; one that went quiet
// exits 1; a wrong argument is an error that names it; a replay runs one
// seed in the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const campaign = join(resolve(import.meta.dirname, '..', '..'), 'dist', 'tests', 'sim', 'campaign.js');
const seed = Number(process.env['SOFTRAID_CAMPAIGN_SEED'] ?? 1);
const runCampaign = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const result = spawnSync(process.execPath, [campaign, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};

test('npm run sim: a short campaign prints its totals and exits 0', () => {
  // A fixed campaign seed: these runs crash, rebuild and replay the log, so the quiet checks pass.
  const result = runCampaign(['--runs', '6', '--configs', 'raid1-n2,raid5-n4-ls-16k', '--jobs', '2', '--seed', String(seed)]);
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, new RegExp(`^crash campaign: 2 configurations, 40 steps per run, 2 processes, \\d+ s, campaign seed ${seed}$`, 'm'));
  const figure = (label: string): number => Number(new RegExp(`^  ${label} +([\\d,]+)`, 'm').exec(result.stdout)?.[1]?.replaceAll(',', ''));
  assert.equal(figure('runs'), 6);
  assert.equal(figure('steps'), 240);
  assert.ok(figure('crash points') > 0 && figure('ordering checks') > 0 && figure('bytes read back and compared') > 0, result.stdout);
  assert.equal(figure('failures'), 0);
  assert.match(result.stdout, /raid1-n2 3\/\d+\/0 {2}raid5-n4-ls-16k 3\/\d+\/0/);
});

test('npm run sim: a campaign that went quiet (one step: nothing crashed, failed or rebuilt) fails and says what it lacked', () => {
  const result = runCampaign(['--runs', '1', '--configs', 'raid1-n2', '--steps', '1', '--seed', '5']);
  assert.equal(result.status, 1, result.stdout);
  assert.match(result.stdout, /^crash campaign went quiet: no (crash injected|member failure|rebuild)/m);
});

test('npm run sim: wrong arguments are named; --replay runs one seed', () => {
  const unknown = runCampaign(['--configs', 'raid7-n3']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /^sim: unknown configuration 'raid7-n3' \(known: ci, all, raid1-n2, /);
  const badCount = runCampaign(['--crash-points', 'many']);
  assert.equal(badCount.status, 2);
  assert.match(badCount.stderr, /^sim: --crash-points needs a whole number of at least 1, not 'many'/);
  const replay = runCampaign(['--replay', 'raid5-n4-ls-16k:3061868772']);
  assert.equal(replay.status, 0, replay.stderr);
  assert.match(replay.stdout, /^replay raid5-n4-ls-16k seed 3061868772: passed \{"steps":40,/);
});
