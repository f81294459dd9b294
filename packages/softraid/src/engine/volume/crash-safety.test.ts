// Crash safety, scenario by scenario (docs/RELIABILITY.md): resync of dirty
// regions only, lazy cleaning of the write-intent bitmap, a returning member
// rebuilt only where it went stale, the RAID 5 write hole closed by the
// partial parity log, and md's dirty+degraded policy at assembly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryChunk } from '../../chunk/memory.js';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { SoftraidError } from '../errors.js';
import { assembleVolume } from '../assembly/assemble.js';
import { dataOffsetBytesDefault } from '../metadata/layout.js';
import { saveVolumeMetadata } from '../metadata/io.js';
import { raid5DataChunk, raid5ParityChunk } from '../disciplines/raid5-layout.js';
import { assembleTestVolume, createTestVolume, openVolume, randomBytes } from '../../../tests/sim/harness.js';
import { checkRedundancy, firstDifference } from '../../../tests/sim/consistency.js';

const KiB = 1024;
const MiB = 1024 * KiB;
// The format's finest write-intent regions (64 KiB), so that these small volumes have many.
const fast = { rebuildRateBytesPerSecondMin: 100 * MiB, rebuildRateBytesPerSecondMax: 100 * MiB, rebuildPieceBytes: 64 * KiB, writeIntentRegionBytesAtLeast: 64 * KiB };

async function fill(volume: { sizeBytes: number; write(o: number, d: Uint8Array, f: { fua: boolean }): Promise<void> }, seed: number): Promise<Uint8Array> {
  const data = randomBytes(seededRandom(seed), volume.sizeBytes);
  for (let offset = 0; offset < data.length; offset += MiB) await volume.write(offset, data.subarray(offset, offset + MiB), { fua: false });
  return data;
}

/** Arms a power cut at the first data-area write that `disk` receives: `landed` disks keep everything, the others lose what was not flushed. */
function crashOnDataWrite(disk: MemoryChunk, all: MemoryChunk[], landed: MemoryChunk[]): void {
  disk.beforeOperation = (operation, offsetBytes) => {
    if (operation !== 'write' || offsetBytes < dataOffsetBytesDefault) return;
    disk.beforeOperation = null;
    for (const member of all) member.crash(landed.includes(member) ? 1 : 0);
  };
}

test('RAID 1 after a crash: only the dirty regions are resynced, in the background, reported as resync; a full resync covers everything', async () => {
  const { record, members } = await createTestVolume({ level: 'raid1', chunkCount: 2, chunkDataSizeBytes: 16 * MiB }, 11);
  const first = openVolume(record, members, fast);
  const data = await fill(first.volume, 12);
  await first.volume.close({ clean: true });

  const second = await assembleTestVolume(members);
  const { volume } = openVolume(second.record, second.members, fast);
  // Three writes in three regions; the third is cut by a power cut after it reached mirror 0 only.
  await volume.write(3 * MiB, new Uint8Array(4096).fill(1), { fua: false });
  await volume.write(9 * MiB + 100, new Uint8Array(100).fill(2), { fua: true });
  crashOnDataWrite(members[1]!, members, [members[0]!]);
  void volume.write(12 * MiB, new Uint8Array(8192).fill(3), { fua: false });
  await new Promise((resolve) => setImmediate(resolve));
  assert.notEqual(checkRedundancy(second.record, members), null, 'the crash left the mirrors different');

  const third = await assembleTestVolume(members);
  assert.equal(third.record.dirty, true);
  const reopened = openVolume(third.record, third.members, fast);
  const seen: { progress: ReturnType<typeof reopened.volume.info>['progress'] } = { progress: null };
  members[1]!.beforeOperation = (operation, offsetBytes) => {
    if (operation === 'write' && offsetBytes >= dataOffsetBytesDefault) seen.progress ??= reopened.volume.info().progress;
  };
  const handle = reopened.volume.resumeResync();
  assert.ok(handle);
  const outcome = await handle.finished;
  members[1]!.beforeOperation = null;
  assert.equal(seen.progress?.operation, 'resync', 'progress is visible while the resync runs');
  assert.equal(outcome.status, 'finished');
  const regionBytes = reopened.volume.writeIntent!.regionBytes;
  assert.equal(regionBytes, 64 * KiB);
  assert.ok(outcome.status === 'finished' && outcome.regions >= 2 && outcome.regions <= 3, `resynced ${JSON.stringify(outcome)}`);
  assert.equal(reopened.volume.recovery.regionsPendingAtAssembly, outcome.status === 'finished' ? outcome.regions : -1);
  assert.equal(reopened.volume.writeIntent!.resyncPendingCount, 0, 'every pending region counted off as resynced');
  assert.equal(checkRedundancy(third.record, members), null, 'mirrors agree after resync');
  const into = new Uint8Array(4096);
  await reopened.volume.read(3 * MiB, into);
  assert.ok(into.every((byte) => byte === 1));
  await reopened.volume.read(0, into);
  assert.equal(firstDifference(data.subarray(0, 4096), into), -1);

  const bitmapStart = performance.now();
  const bitmapClockMs = reopened.clock.nowMs();
  const full = await reopened.volume.fullResync();
  assert.equal(full.status, 'finished');
  assert.ok(full.status === 'finished' && full.regions === 16 * MiB / regionBytes && full.bytes === 16 * MiB);
  const bitmapBytes = outcome.status === 'finished' ? outcome.bytes : 0;
  console.log(`resync after a crash, 16 MiB RAID 1 at 100 MiB/s: bitmap ${bitmapBytes} bytes (${outcome.status === 'finished' ? outcome.elapsedMs : 0} ms simulated), full ${full.bytes} bytes (${full.status === 'finished' ? full.elapsedMs : 0} ms simulated, ${Math.round(performance.now() - bitmapStart)} ms wall)`);
  assert.ok(reopened.clock.nowMs() > bitmapClockMs);
});

test('write-intent bits are cleared lazily: after a flush and the idle time, and never while a member is Offline', async () => {
  const { record, members } = await createTestVolume({ level: 'raid1', chunkCount: 2, chunkDataSizeBytes: 4 * MiB }, 21);
  const { volume, clock } = openVolume(record, members, { bitmapCleanAfterMs: 1000 });
  await volume.write(MiB, new Uint8Array(512).fill(9), { fua: false });
  const bitmap = volume.writeIntent!;
  const bit = MiB / bitmap.regionBytes;
  assert.ok(bitmap.isSet(bit));
  await volume.flush();
  assert.ok(bitmap.isSet(bit), 'not idle long enough');
  clock.nowValueMs += 2000;
  await volume.flush();
  assert.ok(!bitmap.isSet(bit), 'idle and flushed: clean');

  members[1]!.disappeared = true;
  await volume.write(MiB, new Uint8Array(512).fill(8), { fua: false });
  assert.equal(volume.state, 'Degraded');
  clock.nowValueMs += 2000;
  await volume.flush();
  clock.nowValueMs += 2000;
  await volume.flush();
  assert.ok(bitmap.isSet(bit), 'kept while a member is away: it records where the member went stale');
});

test('a member that comes back is rebuilt only over the regions written while it was away; a blank replacement in full', async () => {
  const { record, members } = await createTestVolume({ level: 'raid1', chunkCount: 2, chunkDataSizeBytes: 16 * MiB }, 31);
  const first = openVolume(record, members, { ...fast, bitmapCleanAfterMs: 0 });
  await fill(first.volume, 32);
  await first.volume.flush();
  await first.volume.flush(); // clears the bits
  assert.equal(first.volume.writeIntent!.setBitCount(), 0);
  members[1]!.disappeared = true;
  await first.volume.write(2 * MiB, new Uint8Array(100 * KiB).fill(5), { fua: false }); // two regions
  await first.volume.write(10 * MiB, new Uint8Array(512).fill(6), { fua: false });
  await first.volume.close({ clean: true });
  members[1]!.disappeared = false;

  const second = await assembleTestVolume(members);
  assert.equal(second.record.chunks[1]!.state, 'Offline', 'the returning member is stale');
  const { volume, events } = openVolume(second.record, second.members, fast);
  let copiedBytes = 0;
  members[1]!.beforeOperation = (operation, offsetBytes, lengthBytes) => {
    if (operation === 'write' && offsetBytes >= dataOffsetBytesDefault) copiedBytes += lengthBytes;
  };
  const handle = await volume.startRebuild(1, members[1]!);
  assert.equal(handle.partial, true);
  assert.deepEqual(await handle.finished, { status: 'finished' });
  members[1]!.beforeOperation = null;
  assert.ok(copiedBytes === 3 * 64 * KiB, `copied ${copiedBytes} bytes`);
  assert.match(events.find((event) => event.name === 'RebuildStarted')!.message, /returning member/);
  assert.equal(volume.state, 'Online');
  assert.equal(checkRedundancy(second.record, members), null);
  console.log(`returning member: ${copiedBytes} bytes written to it instead of ${16 * MiB}`);

  // A blank disk in the same slot: no metadata of this volume, so everything is copied.
  members[1]!.disappeared = true;
  await volume.write(0, new Uint8Array(512), { fua: false });
  const blank = new MemoryChunk('blank', members[1]!.sizeBytes, seededRandom(33));
  blank.trackDirtyPages = true;
  const full = await volume.startRebuild(1, blank);
  assert.equal(full.partial, false);
  assert.deepEqual(await full.finished, { status: 'finished' });
  assert.equal(checkRedundancy(volume.record, [members[0]!, blank]), null);
});

test('RAID 5 write hole: a crash inside a partial-stripe write, then the loss of an unmodified member, loses nothing that was not being written', async () => {
  const stripBytes = 4 * KiB;
  const { record, members } = await createTestVolume({ level: 'raid5', chunkCount: 3, layout: 'left-asymmetric', stripSizeBytes: stripBytes, chunkDataSizeBytes: 2 * MiB }, 41);
  const first = openVolume(record, members, fast);
  const data = await fill(first.volume, 42);
  await first.volume.flush();
  // Row 5: rewrite part of its first data strip. The data lands, the parity write is cut off.
  const row = 5;
  const layout = 'left-asymmetric';
  const written = raid5DataChunk(row, 0, 3, layout);
  const untouched = raid5DataChunk(row, 1, 3, layout);
  const parity = raid5ParityChunk(row, 3);
  crashOnDataWrite(members[parity]!, members, [members[written]!]);
  const rowOffsetBytes = row * 2 * stripBytes;
  void first.volume.write(rowOffsetBytes + 512, new Uint8Array(1024).fill(0xee), { fua: false });
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.notEqual(checkRedundancy(record, members), null, 'the crash left the row inconsistent');

  // The untouched member is lost; the volume comes up dirty and degraded (the log makes that safe).
  const lost = [...members] as (MemoryChunk | null)[];
  lost[untouched] = null;
  const assembled = await assembleTestVolume(lost);
  assert.equal(assembled.record.dirty, true);
  const { volume } = openVolume(assembled.record, assembled.members, fast);
  const strip = new Uint8Array(stripBytes);
  await volume.read(rowOffsetBytes + stripBytes, strip); // the untouched strip, reconstructed through parity
  assert.equal(firstDifference(data.subarray(rowOffsetBytes + stripBytes, rowOffsetBytes + 2 * stripBytes), strip), -1, 'data nobody was writing survived');
  assert.ok((volume.recovery.partialParityLog?.recordsApplied ?? 0) >= 1, 'the log was replayed');
});

test('md policy: a RAID 5 volume dirty and degraded without a partial parity log is refused unless forced', async () => {
  const { record, members } = await createTestVolume({ level: 'raid5', chunkCount: 3, layout: 'left-symmetric', stripSizeBytes: 4096, chunkDataSizeBytes: MiB }, 51);
  record.dirty = true; // as a volume written by a version without the log
  assert.equal((await saveVolumeMetadata(record, members)).length, 0);
  const listed = [members[0]!, members[2]!];
  await assert.rejects(assembleVolume(listed, { chunksInUse: () => false }),
    (error: unknown) => error instanceof SoftraidError && /dirty and degraded/.test(error.message));
  const forced = await assembleVolume(listed, { chunksInUse: () => false, forceDirtyDegraded: true });
  assert.ok(forced.messages.some((message) => /forced/.test(message.text)));
  // Once opened by this version the log is recorded, and the same situation is accepted.
  const { volume } = openVolume(forced.record, forced.members);
  await volume.write(0, new Uint8Array(512), { fua: true });
  await volume.close({ clean: false });
  const again = await assembleVolume(listed, { chunksInUse: () => false });
  assert.equal(again.record.dirty, true);
});

test('a member that comes back after its slot was rebuilt elsewhere and the bitmap cleared is rebuilt in full', async () => {
  const { record, members } = await createTestVolume({ level: 'raid1', chunkCount: 2, chunkDataSizeBytes: 4 * MiB }, 61);
  const { volume } = openVolume(record, members, { ...fast, bitmapCleanAfterMs: 0 });
  await fill(volume, 62);
  members[1]!.disappeared = true;
  await volume.write(0, new Uint8Array(512).fill(1), { fua: false });
  const spare = new MemoryChunk('spare', members[1]!.sizeBytes, seededRandom(63));
  const rebuilt = await volume.startRebuild(1, spare);
  assert.deepEqual(await rebuilt.finished, { status: 'finished' });
  await volume.write(3 * MiB, new Uint8Array(512).fill(2), { fua: false }); // written while the old member is away, then cleaned
  await volume.flush();
  await volume.flush();
  assert.equal(volume.writeIntent!.setBitCount(), 0, 'every chunk Online again: bits cleared');
  spare.disappeared = true;
  await volume.write(0, new Uint8Array(512).fill(3), { fua: false });
  members[1]!.disappeared = false; // the old member returns: its metadata predates the clearing
  const handle = await volume.startRebuild(1, members[1]!);
  assert.equal(handle.partial, false);
  assert.deepEqual(await handle.finished, { status: 'finished' });
  assert.equal(checkRedundancy(volume.record, members), null);
});
