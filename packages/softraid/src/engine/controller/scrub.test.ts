import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KiB, MiB } from '@openbsd38/libutil/units.js';
import { formatRanges } from './views.js';
import { ManualClock, fixture, waitFor } from './fixture.test-helper.js';

test('controller scrub: started by name, mismatches in the view and the log, last result kept', async () => {
  const { controller, chunks, events, log } = fixture({ a: 4 * MiB, b: 4 * MiB });
  assert.equal((await controller.create({ level: 'raid1', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false })).ok, true);
  const volume = controller.blockDevice('sd0')!;
  await volume.write(0, new Uint8Array(volume.sizeBytes).fill(7), { fua: false });
  const b = chunks.get('b')!;
  const dataStart = b.sizeBytes - volume.sizeBytes; // RAID 1: the data area ends the chunk here
  b.current[dataStart + 3 * 512 + 9]! ^= 1;
  b.current[dataStart + 700 * KiB]! ^= 1;

  const started = await controller.startScrub('sd0', { repair: false });
  assert.deepEqual(started, { ok: true, messages: [{ type: 'info', text: 'scrub of sd0 started' }], result: undefined });
  await waitFor(() => events.some((event) => event.name === 'ScrubFinished'), 'ScrubFinished');
  assert.deepEqual(events.filter((event) => event.name.startsWith('Scrub')).map((event) => event.name), ['ScrubStarted', 'ScrubFinished']);
  const view = controller.inquire().volumes[0]!;
  assert.equal(view.state, 'Online');
  assert.equal(view.progress, null);
  assert.equal(view.lastScrub?.status, 'finished');
  assert.equal(view.lastScrub?.mismatchSectors, 2);
  assert.equal(view.lastScrub?.startedAt, '2026-01-02T03:04:05.000Z');
  assert.deepEqual(log.at(-1), { type: 'warning', text: 'scrub of sd0 finished: 2 mismatched sectors' });
  assert.deepEqual(controller.patrolStatus('sd0').result, { mode: 'manual', intervalSeconds: 0, nextSeconds: 0, status: 'stopped' });

  assert.equal((await controller.startScrub(null, { repair: true })).ok, true);
  await waitFor(() => events.filter((event) => event.name === 'ScrubFinished').length === 2, 'second ScrubFinished');
  assert.deepEqual(log.at(-1), { type: 'warning', text: 'repair of sd0 finished: 2 mismatched sectors (2 repaired)' });
  assert.equal((await controller.startScrub('sd0', { repair: false })).ok, true);
  await waitFor(() => events.filter((event) => event.name === 'ScrubFinished').length === 3, 'third ScrubFinished');
  assert.deepEqual(log.at(-1), { type: 'info', text: 'scrub of sd0 finished: 0 mismatched sectors' });
  await controller.shutdown();
});

test('controller scrub: progress while it runs, stop, "aborted", refusals', async () => {
  const { controller } = fixture({ a: 4 * MiB, b: 4 * MiB, c: 2 * MiB, d: 2 * MiB },
    { limits: { rebuildRateBytesPerSecondMin: 256 * KiB, rebuildRateBytesPerSecondMax: 256 * KiB, rebuildPieceBytes: 64 * KiB } });
  assert.equal((await controller.create({ level: 'raid1', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false })).ok, true);
  assert.equal((await controller.create({ level: 'raid0', chunkNames: ['c', 'd'], force: false, noAutoAssemble: false })).ok, true);
  assert.deepEqual((await controller.startScrub('sd1', { repair: false })).messages, [{ type: 'error', text: 'sd1: RAID 0 has no redundancy to scrub' }]);
  assert.deepEqual((await controller.stopScrub('sd0')).messages, [{ type: 'error', text: 'sd0: no scrub in progress' }]);
  assert.deepEqual((await controller.startScrub('sd9', { repair: false })).messages, [{ type: 'error', text: 'invalid device sd9' }]);

  assert.equal((await controller.startScrub(null, { repair: false })).ok, true, 'the controller scrubs every redundant volume');
  const running = controller.inquire().volumes[0]!;
  assert.equal(running.state, 'Scrubbing');
  assert.equal(running.progress?.operation, 'scrub');
  assert.equal(running.progress?.repair, false);
  assert.equal(running.progress?.mismatchSectors, 0);
  assert.equal(controller.inquire().volumes[1]!.state, 'Online');
  assert.equal(controller.patrolStatus(null).result?.status, 'active');
  assert.deepEqual((await controller.startScrub('sd0', { repair: false })).messages, [{ type: 'error', text: 'sd0: scrub already in progress' }]);

  const stopped = await controller.stopScrub(null);
  assert.equal(stopped.ok, true);
  assert.match(stopped.messages[0]!.text, /^scrub of sd0 stopped at \d+%$/);
  await waitFor(() => controller.inquire().volumes[0]!.lastScrub?.status === 'stopped', 'the stopped result');
  assert.equal(controller.inquire().volumes[0]!.state, 'Online');
  assert.equal(controller.patrolStatus('sd0').result?.status, 'aborted');
  await controller.shutdown();
});

test('controller scrub schedule: auto.interval.start on an injected clock, manual and disable stop it', async () => {
  const clock = new ManualClock();
  const { controller, events } = fixture({ a: 2 * MiB, b: 2 * MiB }, { clock });
  assert.equal((await controller.create({ level: 'raid1', chunkNames: ['a', 'b'], force: false, noAutoAssemble: false })).ok, true);
  assert.deepEqual(controller.setScrubSchedule({ mode: 'auto', intervalSeconds: 0, startSeconds: null }).messages,
    [{ type: 'error', text: 'invalid patrol interval 0: at least 1 second' }]);
  assert.equal(controller.setScrubSchedule({ mode: 'auto', intervalSeconds: 60, startSeconds: 5 }).ok, true);
  assert.deepEqual(controller.patrolStatus(null).result, { mode: 'auto', intervalSeconds: 60, nextSeconds: 5, status: 'ready' });
  const finished = (): number => events.filter((event) => event.name === 'ScrubFinished').length;

  await clock.advance(4000);
  assert.equal(finished(), 0, 'not before start');
  await clock.advance(2000);
  await waitFor(() => finished() === 1, 'the first scheduled scrub');
  assert.equal(controller.patrolStatus(null).result?.nextSeconds, 59);
  await clock.advance(50_000);
  assert.equal(finished(), 1);
  await clock.advance(10_000);
  await waitFor(() => finished() === 2, 'the second scheduled scrub');

  assert.equal(controller.setScrubSchedule({ mode: 'manual' }).ok, true);
  await clock.advance(200_000);
  assert.equal(finished(), 2, 'manual: no more scrubs by themselves');
  assert.deepEqual(controller.patrolStatus(null).result, { mode: 'manual', intervalSeconds: 0, nextSeconds: 0, status: 'stopped' });
  assert.equal(controller.setScrubSchedule({ mode: 'auto', intervalSeconds: null, startSeconds: null }).ok, true);
  assert.deepEqual(controller.patrolStatus(null).result, { mode: 'auto', intervalSeconds: 60, nextSeconds: 60, status: 'ready' }, 'bare auto keeps the interval');
  assert.equal(controller.setScrubSchedule({ mode: 'disabled' }).ok, true);
  await clock.advance(200_000);
  assert.equal(finished(), 2);
  assert.equal(controller.patrolStatus(null).result?.mode, 'disabled');
  const closing = controller.shutdown();
  await clock.advance(1000);
  await closing;
});

test('a failed rebuild is logged with the volume byte ranges it could not regenerate', async () => {
  const { controller, chunks, log } = fixture({ a: 4 * MiB, b: 4 * MiB, c: 4 * MiB, n: 4 * MiB });
  assert.equal((await controller.create({ level: 'raid5', chunkNames: ['a', 'b', 'c'], force: false, noAutoAssemble: false, stripSizeBytes: 64 * KiB })).ok, true);
  const volume = controller.blockDevice('sd0')!;
  await volume.write(0, new Uint8Array(volume.sizeBytes).fill(1), { fua: false });
  assert.equal((await controller.setOffline('sd0', 'c')).ok, true);
  const dataOffsetBytes = chunks.get('a')!.sizeBytes - 3 * MiB; // 1 MiB of metadata before 3 MiB of data
  chunks.get('b')!.faults = { badRanges: [{ offsetBytes: dataOffsetBytes + 300 * KiB, lengthBytes: 512, operations: ['read'] }] };
  assert.equal((await controller.rebuild('sd0', 'n')).ok, true);
  await waitFor(() => log.some((message) => message.text.startsWith('rebuild of sd0 on n failed')), 'the failure line');
  // Chunk 2's piece [0, 1 MiB) (the default 1 MiB rebuild piece) is rows 0-15; chunk 2 holds parity in rows 0, 3, ..., 15
  // (left-asymmetric, n = 3: row mod 3 = 0) and data in the other ten, the second strip of each 128 KiB row. The log shows eight.
  const line = log.find((message) => message.text.startsWith('rebuild of sd0 on n failed'))!;
  assert.equal(line.type, 'error');
  assert.match(line.text, new RegExp('^rebuild of sd0 on n failed at volume bytes 196608-262143, 327680-393215, 589824-655359, 720896-786431, '
    + '983040-1048575, 1114112-1179647, 1376256-1441791, 1507328-1572863 and 2 more: sd0: volume is offline: every range of it is unreadable until a chunk returns$'));
  assert.equal(formatRanges([{ offsetBytes: 0, lengthBytes: 512 }], 2), '0-511 and 2 more');
  await controller.shutdown();
});
