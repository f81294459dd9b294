// The operator's workflow over loop devices: data written through NBD by a
// real client, a member taken offline, the hot spare taking over and
// rebuilding (shown as "Rebuild NN% done"), softraidd restarted in the middle
// of the rebuild and resuming it, the data read back intact, and the
// replaced disk made the new hot spare.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bioctl, run, startSoftraidd, waitForTable, workspace, type Daemon, type Workspace } from '@openbsd38/softraid/daemon/testing/softraidd-process.js';

let space: Workspace;
let daemon: Daemon | undefined;
const loops: string[] = [];
const daemonArgs = ['--rebuild-rate-min', '1M', '--rebuild-rate-max', '12M'];

before(() => {
  space = workspace('bioctl-rebuild');
  for (const name of ['m0', 'm1', 'm2', 'spare', 'new']) {
    const file = join(space.directory, name);
    run('truncate', ['-s', '64M', file]);
    loops.push(run('losetup', ['-f', '--show', file]).trim());
  }
});

after(async () => {
  await daemon?.stop();
  for (const loop of loops) run('losetup', ['-d', loop]);
  space.remove();
});

test('hot spare takes over, rebuild survives a restart, data intact, replacement becomes a spare', async () => {
  const [m0, m1, m2, spare, replacement] = loops as [string, string, string, string, string];
  daemon = await startSoftraidd(space, daemonArgs);
  assert.deepEqual(bioctl(space, ['-c', '5', '-l', `${m0},${m1},${m2}`, 'softraid0']), { status: 0, stdout: 'softraid0: RAID 5 volume attached as sd0\n', stderr: '' });
  assert.deepEqual(bioctl(space, ['-H', spare, 'softraid0']), { status: 0, stdout: '', stderr: '' });
  assert.match(bioctl(space, ['softraid0']).stdout, new RegExp(`softraid0 1 Hot spare +\\d+ 1:0\\.0   noencl <${spare}>`));

  // Data through NBD with a real client.
  const data = join(space.directory, 'data.bin');
  const payload = randomBytes(8 * 1024 * 1024);
  writeFileSync(data, payload);
  run('nbdcopy', [data, space.nbdUri('sd0')]);

  // Fail a member: the spare takes its place and rebuilds.
  assert.equal(bioctl(space, ['-O', m1, 'sd0']).status, 0);
  const rebuilding = await waitForTable(space, 'sd0', (table) => /Rebuild +\d+ sd0 +RAID5 ([1-9]|[1-9]\d)% done \n/.test(table), 20_000);
  assert.match(rebuilding, new RegExp(` 1 Rebuild +\\d+ 0:1\\.0   noencl <${spare}>`));
  assert.ok(!rebuilding.includes('Hot spare'), 'bioctl sd0 shows no hot spares');
  const percentBefore = Number(/(\d+)% done/.exec(rebuilding)![1]);

  // Restart in the middle of the rebuild: it resumes, not from 0.
  assert.equal(await daemon.stop(), 0, daemon.log());
  daemon = await startSoftraidd(space, daemonArgs);
  const resumed = bioctl(space, ['sd0']).stdout;
  assert.match(resumed, /Rebuild +\d+ sd0 +RAID5 \d+% done/, `after restart:\n${resumed}\n${daemon.log()}`);
  assert.ok(Number(/(\d+)% done/.exec(resumed)![1]) >= percentBefore, 'the checkpoint was kept');

  const online = await waitForTable(space, 'sd0', (table) => /Online +\d+ sd0 +RAID5 \n/.test(table), 30_000);
  assert.match(online, new RegExp(` 1 Online +\\d+ 0:1\\.0   noencl <${spare}>`));
  for (let waited = 0; !daemon.log().includes('RebuildFinished event detected on sd0') && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.match(daemon.log(), /RebuildFinished event detected on sd0/);

  // The data reads back intact from the rebuilt volume.
  const back = join(space.directory, 'back.bin');
  run('nbdcopy', [space.nbdUri('sd0'), back]);
  assert.ok(readFileSync(back).subarray(0, payload.length).equals(payload), 'data after the rebuild');

  // The operator replaces the failed disk and makes the new one a hot spare.
  assert.deepEqual(bioctl(space, ['-H', replacement, 'softraid0']), { status: 0, stdout: '', stderr: '' });
  assert.match(bioctl(space, ['softraid0']).stdout, new RegExp(`softraid0 1 Hot spare +\\d+ 1:0\\.0   noencl <${replacement}>`));
});
