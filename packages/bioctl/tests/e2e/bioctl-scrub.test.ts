// bioctl -t on the real softraidd over files: a RAID 5 volume with two
// parity sector columns corrupted on disk; a slow scrub shows "Scrubbing NN%
// done" in OpenBSD's table and is stopped; after SIGHUP raises the rate a
// check finds exactly the two mismatches, a repair fixes them, a last check
// finds 0; --json, -t get and the daemon's log carry the results.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bioctl, run, startSoftraidd, waitForTable, workspace, type Daemon, type Workspace } from '@openbsd38/softraid/daemon/testing/softraidd-process.js';

let space: Workspace;
let daemon: Daemon | undefined;
const MiB = 1024 * 1024;
/** Where volume data starts on each member (docs/on-disk-format.md). */
const dataOffsetBytes = 1 * MiB;

before(() => {
  space = workspace('bioctl-scrub');
  for (const name of ['m0', 'm1', 'm2']) run('truncate', ['-s', '16M', join(space.directory, name)]);
});

after(async () => {
  await daemon?.stop();
  space.remove();
});

interface Json {
  volumes: Record<string, {
    status: string;
    progress: { operation: string; percent: number; mismatch_sectors: number } | null;
    last_scrub: { mode: string; status: string; mismatch_sectors: number; repaired_sectors: number; bytes_done: number; bytes_total: number; unreadable_ranges: unknown[] } | null;
  }>;
}

function volumeJson(): Json['volumes'][string] {
  const out = bioctl(space, ['--json', 'sd0']);
  assert.equal(out.status, 0, out.stderr);
  return (JSON.parse(out.stdout) as Json).volumes.sd0!;
}

async function waitForLastScrub(mode: string, previousCount: number): Promise<NonNullable<Json['volumes'][string]['last_scrub']>> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const finished = daemon!.log().split('\n').filter((line) => line.includes('ScrubFinished event detected on sd0')).length;
    const volume = volumeJson();
    if (finished > previousCount && volume.last_scrub?.mode === mode) return volume.last_scrub;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${mode} result:\n${daemon!.log()}`);
}

test('bioctl -t start/stop/repair/get on a real daemon: progress, mismatch count, repair, a clean second check', async () => {
  const config = join(space.directory, 'softraidd.conf');
  writeFileSync(config, 'rebuild-rate-min = 1M\nrebuild-rate-max = 1M\n');
  daemon = await startSoftraidd(space, ['--config', config]);
  const [m0, m1, m2] = ['m0', 'm1', 'm2'].map((name) => join(space.directory, name)) as [string, string, string];
  assert.equal(bioctl(space, ['-c', '5', '-l', `${m0},${m1},${m2}`, 'softraid0']).stdout, 'softraid0: RAID 5 volume attached as sd0\n');

  // Two sector columns made inconsistent behind the daemon's back: a parity byte in row 0
  // (left-asymmetric, 3 chunks: parity on chunk 2) and a data byte in row 1 on chunk 0.
  const stripBytes = 64 * 1024;
  for (const [path, offset] of [[m2, 100], [m0, stripBytes + 5000]] as const) {
    const fd = openSync(path, 'r+');
    writeSync(fd, Uint8Array.of(0xa5), 0, 1, dataOffsetBytes + offset);
    closeSync(fd);
  }

  assert.deepEqual(bioctl(space, ['-t', 'get', 'sd0']), { status: 0, stdout: 'patrol mode: manual\npatrol status: stopped\n', stderr: '' });
  assert.deepEqual(bioctl(space, ['-t', 'start', 'sd0']), { status: 0, stdout: 'softraid0: scrub of sd0 started\n', stderr: '' });
  const table = await waitForTable(space, 'sd0', (text) => /Scrubbing +\d+ sd0 +RAID5 [1-9]\d?% done \n/.test(text), 10_000);
  // OpenBSD's volume row for BIOC_SVSCRUB: "%11s %-10s %14s %-7s " then the level with " NN% done" and the empty cache column.
  const sizeBytes = 2 * (16 * MiB - dataOffsetBytes);
  assert.match(table, new RegExp(`^softraid0 0 Scrubbing  ${String(sizeBytes).padStart(14)} sd0     RAID5 \\d+% done \\n`, 'm'));
  assert.match(table, /^ {10}0 Online {5}/m, 'members stay Online during a scrub');
  const running = volumeJson();
  assert.equal(running.status, 'Scrubbing');
  assert.equal(running.progress?.operation, 'scrub');
  assert.deepEqual(bioctl(space, ['-t', 'get', 'softraid0']), { status: 0, stdout: 'patrol mode: manual\npatrol status: active\n', stderr: '' });
  const stopped = bioctl(space, ['-t', 'stop', 'sd0']);
  assert.equal(stopped.status, 0);
  assert.match(stopped.stdout, /^softraid0: scrub of sd0 stopped at \d+%\n$/);
  const aborted = await waitForLastScrub('check', 0);
  assert.equal(aborted.status, 'stopped');
  assert.ok(aborted.bytes_done < aborted.bytes_total);
  assert.deepEqual(bioctl(space, ['-t', 'get', 'sd0']), { status: 0, stdout: 'patrol mode: manual\npatrol status: aborted\n', stderr: '' });

  // Full speed from now on (SIGHUP re-reads the limits scrubs share with rebuilds).
  writeFileSync(config, 'rebuild-rate-min = 1G\nrebuild-rate-max = 1G\n');
  daemon.child.kill('SIGHUP');
  for (let waited = 0; !daemon.log().includes('configuration reloaded') && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));

  assert.equal(bioctl(space, ['-t', 'start', 'sd0']).status, 0);
  const check = await waitForLastScrub('check', 1);
  assert.deepEqual({ status: check.status, mismatch: check.mismatch_sectors, done: check.bytes_done === check.bytes_total }, { status: 'finished', mismatch: 2, done: true });
  // The warning is its own line, written after the event line waitForLastScrub saw: it may arrive a moment later.
  for (let waited = 0; !daemon.log().includes('scrub of sd0 finished') && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.match(daemon.log(), /softraidd: warning: scrub of sd0 finished: 2 mismatched sectors\n/);

  assert.deepEqual(bioctl(space, ['-t', 'repair', 'softraid0']), { status: 0, stdout: 'softraid0: repair of sd0 started\n', stderr: '' });
  const repair = await waitForLastScrub('repair', 2);
  assert.deepEqual({ status: repair.status, mismatch: repair.mismatch_sectors, repaired: repair.repaired_sectors }, { status: 'finished', mismatch: 2, repaired: 2 });

  assert.equal(bioctl(space, ['-t', 'start', 'sd0']).status, 0);
  const clean = await waitForLastScrub('check', 3);
  assert.deepEqual({ status: clean.status, mismatch: clean.mismatch_sectors, unreadable: clean.unreadable_ranges }, { status: 'finished', mismatch: 0, unreadable: [] });
  assert.match(bioctl(space, ['sd0']).stdout, /^softraid0 0 Online +\d+ sd0 {5}RAID5 \n/m);

  assert.deepEqual(bioctl(space, ['-t', 'auto.86400.3600', 'softraid0']), { status: 0, stdout: '', stderr: '' });
  assert.deepEqual(bioctl(space, ['-t', 'get', 'softraid0']), { status: 0, stdout: 'patrol mode: auto interval=86400 next=3600\npatrol status: ready\n', stderr: '' });
  assert.deepEqual(bioctl(space, ['-c', '0', '-l', `${m0},${m1}`, 'softraid0']).status, 1, 'members in use');
  assert.equal(await daemon.stop(), 0, daemon.log());
  daemon = undefined;
});
