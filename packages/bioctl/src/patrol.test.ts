// bioctl -t through the daemon shell, in-process over the fake controller:
// each patrol function reaches the controller as a scrub call, get prints
// OpenBSD's two lines, --json carries scrub progress.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeDaemon } from './fake-daemon.test-helper.js';

test('bioctl -t: start, repair, stop, auto/manual/disable and get over the control socket', async () => {
  const d = await startFakeDaemon();
  try {
    await d.bioctl('-c', '1', '-l', `${d.chunk('a')},${d.chunk('b')}`, 'softraid0');
    assert.deepEqual(await d.bioctl('-t', 'get', 'softraid0'),
      { status: 0, stdout: 'patrol mode: manual\npatrol status: stopped\n', stderr: '' });
    assert.deepEqual(await d.bioctl('-t', 'start', 'sd0'), { status: 0, stdout: 'softraid0: scrub of sd0 started\n', stderr: '' });
    const table = await d.bioctl('sd0');
    assert.match(table.stdout, /^softraid0 0 Scrubbing +\d+ sd0 {5}RAID1 0% done \n/m);
    const json = JSON.parse((await d.bioctl('--json', 'sd0')).stdout) as {
      output_version: { vers_minor: number }; volumes: Record<string, { status: string; progress: Record<string, unknown>; last_scrub: unknown }>;
    };
    assert.equal(json.output_version.vers_minor, 3);
    assert.equal(json.volumes.sd0!.status, 'Scrubbing');
    assert.deepEqual({ operation: json.volumes.sd0!.progress.operation, repair: json.volumes.sd0!.progress.repair, mismatch_sectors: json.volumes.sd0!.progress.mismatch_sectors },
      { operation: 'scrub', repair: false, mismatch_sectors: 0 });
    assert.equal(json.volumes.sd0!.last_scrub, null);
    assert.deepEqual(await d.bioctl('-t', 'get', 'sd0'), { status: 0, stdout: 'patrol mode: manual\npatrol status: active\n', stderr: '' });
    assert.deepEqual(await d.bioctl('-t', 'stop', 'sd0'), { status: 0, stdout: '', stderr: '' });
    assert.deepEqual(await d.bioctl('-t', 'stop', 'sd0'), { status: 1, stdout: '', stderr: 'softraid0: no scrub in progress\n' });
    assert.deepEqual(await d.bioctl('-t', 'repair', 'softraid0'), { status: 0, stdout: 'softraid0: repair of sd0 started\n', stderr: '' });
    assert.equal(d.controller.volumes[0]!.progress?.repair, true);

    assert.deepEqual(await d.bioctl('-t', 'auto.3600.60', 'softraid0'), { status: 0, stdout: '', stderr: '' });
    assert.deepEqual(d.controller.schedule, { mode: 'auto', intervalSeconds: 3600, startSeconds: 60 });
    assert.deepEqual(await d.bioctl('-t', 'get', 'softraid0'),
      { status: 0, stdout: 'patrol mode: auto interval=3600 next=60\npatrol status: active\n', stderr: '' });
    assert.deepEqual(await d.bioctl('-t', 'auto', 'softraid0'), { status: 0, stdout: '', stderr: '' });
    assert.deepEqual(d.controller.schedule, { mode: 'auto', intervalSeconds: null, startSeconds: null }, 'bare auto keeps the interval');
    assert.deepEqual(await d.bioctl('-t', 'manual', 'softraid0'), { status: 0, stdout: '', stderr: '' });
    assert.deepEqual(d.controller.schedule, { mode: 'manual' });
    assert.deepEqual(await d.bioctl('-t', 'disable', 'softraid0'), { status: 0, stdout: '', stderr: '' });
    const get = JSON.parse((await d.bioctl('--json', '-t', 'get', 'softraid0')).stdout) as Record<string, unknown>;
    assert.deepEqual(get.patrol, { mode: 'disabled', interval_seconds: 0, next_seconds: 0, status: 'active' });
    assert.deepEqual(await d.bioctl('-t', 'x', 'sd0'), { status: 1, stdout: '', stderr: 'bioctl: invalid patrol function: x\n' });
  } finally {
    await d.close();
  }
});
