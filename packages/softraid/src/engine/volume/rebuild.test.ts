import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryChunk } from '../../chunk/memory.js';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { assembleTestVolume, createTestVolume, FakeClock, openVolume, randomBytes } from '../../../tests/sim/harness.js';
import { checkRedundancy, firstDifference } from '../../../tests/sim/consistency.js';
import { saveVolumeMetadata } from '../metadata/io.js';
import { decodeMetadata } from '../metadata/codec.js';
import { copyBytesMax, copyOffsetsBytes, dataOffsetBytesDefault } from '../metadata/layout.js';
import { Volume } from './volume.js';
import type { Clock, VolumeDeps } from './events.js';

const MiB = 1024 * 1024;
const KiB = 1024;

function newMember(name: string, sizeBytes: number): MemoryChunk {
  const member = new MemoryChunk(name, sizeBytes, seededRandom(99));
  member.trackDirtyPages = true;
  return member;
}

async function readAll(volume: { sizeBytes: number; read(offset: number, into: Uint8Array): Promise<void> }): Promise<Uint8Array> {
  const bytes = new Uint8Array(volume.sizeBytes);
  await volume.read(0, bytes);
  return bytes;
}

for (const spec of [
  { level: 'raid5', chunkCount: 4, stripSizeBytes: 16 * KiB, layout: 'left-symmetric', chunkDataSizeBytes: MiB },
  { level: 'raid1', chunkCount: 3, chunkDataSizeBytes: MiB },
] as const) {
  test(`${spec.level}: degraded writes, then a rebuild concurrent with writes, leave data and redundancy exact`, async () => {
    const { record, members } = await createTestVolume(spec, 11);
    const { volume, events } = openVolume(record, members, { rebuildPieceBytes: 64 * KiB });
    const random = seededRandom(12);
    const model = new Uint8Array(volume.sizeBytes);
    const write = async (): Promise<void> => {
      const offset = Math.floor(random() * (volume.sizeBytes - 70000));
      const data = randomBytes(random, 1 + Math.floor(random() * 70000));
      model.set(data, offset);
      await volume.write(offset, data, { fua: false });
    };
    members[1]!.disappeared = true;
    for (let i = 0; i < 30; i++) await write();
    assert.equal(volume.state, 'Degraded');
    const replacement = newMember('new1', members[1]!.sizeBytes);
    const handle = await volume.startRebuild(1, replacement);
    assert.equal(volume.state, 'Rebuild');
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) writes.push(write());
    await Promise.all(writes);
    assert.deepEqual(await handle.finished, { status: 'finished' });
    assert.equal(volume.state, 'Online');
    const current = [...members];
    current[1] = replacement;
    assert.equal(checkRedundancy(volume.record, current), null);
    assert.equal(firstDifference(model, await readAll(volume)), -1);
    const names = events.map((e) => e.name);
    assert.deepEqual(names.slice(names.indexOf('RebuildStarted')),
      ['RebuildStarted', 'Rebuild20', 'Rebuild40', 'Rebuild60', 'Rebuild80', 'RebuildFinished', 'SpareActive']);
    assert.equal(volume.info().progress, null);
  });
}

/** A clock whose sleeps wait until the test lets them go. */
class GatedClock implements Clock {
  nowValueMs = 0;
  private waiting: (() => void)[] = [];
  nowMs(): number {
    return this.nowValueMs;
  }
  sleepMs(durationMs: number): Promise<void> {
    return new Promise((resolve) => this.waiting.push(() => {
      this.nowValueMs += durationMs;
      resolve();
    }));
  }
  releasePending(): void {
    for (const release of this.waiting.splice(0)) release();
  }
  async step(): Promise<void> {
    for (let spins = 0; this.waiting.length === 0; spins++) {
      if (spins > 10000) throw new Error("GatedClock: nothing sleeps");
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.waiting.shift()!();
  }
}

test('a rebuild stopped by close resumes from its persisted checkpoint and rewrites only the rest', async () => {
  const spec = { level: 'raid5', chunkCount: 3, stripSizeBytes: 64 * KiB, chunkDataSizeBytes: MiB } as const;
  const { record, members } = await createTestVolume(spec, 21);
  const model = randomBytes(seededRandom(22), 2 * MiB);
  {
    const { volume } = openVolume(record, members);
    await volume.write(0, model, { fua: false });
    await volume.setChunkOffline(0);
    await volume.close({ clean: true });
  }
  const replacement = newMember('new0', members[0]!.sizeBytes);
  const clock = new GatedClock();
  const first = await assembleTestVolume([null, members[1]!, members[2]!]);
  const pacing = { rebuildPieceBytes: 128 * KiB, rebuildRateBytesPerSecondMin: 128 * KiB, rebuildRateBytesPerSecondMax: 128 * KiB };
  const { volume } = openVolume(first.record, first.members, pacing, clock as unknown as FakeClock);
  const handle = await volume.startRebuild(0, replacement);
  for (let piece = 0; piece < 3; piece++) await clock.step();
  let closed = false;
  const closing = volume.close({ clean: true }).then(() => { closed = true; });
  while (!closed) {
    clock.releasePending();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await closing;
  const outcome = await handle.finished;
  assert.equal(outcome.status, 'aborted');
  const checkpointBytes = outcome.status === 'aborted' ? outcome.checkpointBytes : -1;
  assert.ok(checkpointBytes >= 3 * 128 * KiB && checkpointBytes < MiB, `checkpoint ${checkpointBytes}`);

  const second = await assembleTestVolume([replacement, members[1]!, members[2]!]);
  assert.equal(second.record.chunks[0]!.state, 'Rebuild');
  assert.equal(second.record.rebuildCheckpointBytes, checkpointBytes);
  const resumed = openVolume(second.record, second.members, { rebuildPieceBytes: 128 * KiB });
  const bytesBefore = replacement.counters.bytesWritten;
  const resumedHandle = resumed.volume.resumeRebuild();
  assert.ok(resumedHandle);
  assert.equal(resumed.volume.info().progress!.bytesDone, checkpointBytes);
  assert.deepEqual(await resumedHandle.finished, { status: 'finished' });
  const rebuiltBytes = replacement.counters.bytesWritten - bytesBefore;
  assert.ok(rebuiltBytes < MiB - checkpointBytes + 64 * KiB, `resumed rebuild wrote ${rebuiltBytes} bytes of data and metadata`);
  assert.ok(rebuiltBytes >= MiB - checkpointBytes);
  assert.equal(checkRedundancy(resumed.volume.record, [replacement, members[1]!, members[2]!]), null);
  assert.equal(firstDifference(model, await readAll(resumed.volume)), -1);
});

test('the rebuild rate is the max when idle and the min while the volume serves requests (simulated time)', async () => {
  const spec = { level: 'raid1', chunkCount: 2, chunkDataSizeBytes: MiB } as const;
  for (const busy of [false, true]) {
    const { record, members } = await createTestVolume(spec, 31);
    const clock = new FakeClock(1000);
    const { volume } = openVolume(record, members, {
      rebuildPieceBytes: 64 * KiB, rebuildRateBytesPerSecondMin: 256 * KiB, rebuildRateBytesPerSecondMax: 4 * MiB,
      rebuildIdleAfterMs: busy ? 1e9 : 0,
    }, clock);
    await volume.setChunkOffline(1);
    await volume.read(0, new Uint8Array(512)); // the last request: busy for rebuildIdleAfterMs
    const startMs = clock.nowMs();
    const handle = await volume.startRebuild(1, newMember('new1', members[1]!.sizeBytes));
    assert.deepEqual(await handle.finished, { status: 'finished' });
    const elapsedMs = clock.nowMs() - startMs;
    const expectedMs = (MiB / (busy ? 256 * KiB : 4 * MiB)) * 1000;
    assert.ok(Math.abs(elapsedMs - expectedMs) <= expectedMs * 0.07, `busy=${busy}: ${elapsedMs} ms, expected ${expectedMs}`);
  }
});

test('a source read error during a RAID 5 rebuild fails it with the range; nothing is invented', async () => {
  const spec = { level: 'raid5', chunkCount: 3, stripSizeBytes: 64 * KiB, chunkDataSizeBytes: MiB } as const;
  const { record, members } = await createTestVolume(spec, 41);
  const { volume, events } = openVolume(record, members, { rebuildPieceBytes: 128 * KiB });
  await volume.write(0, new Uint8Array(2 * MiB).fill(3), { fua: false });
  await volume.setChunkOffline(2);
  members[1]!.faults = { badRanges: [{ offsetBytes: record.dataOffsetBytes + 300 * KiB, lengthBytes: 512, operations: ['read'] }] };
  const replacement = newMember('new2', members[2]!.sizeBytes);
  const handle = await volume.startRebuild(2, replacement);
  const outcome = await handle.finished;
  assert.equal(outcome.status, 'failed');
  assert.deepEqual(outcome.status === 'failed' ? outcome.failedRange : null, { offsetBytes: 256 * KiB, lengthBytes: 128 * KiB });
  assert.equal(volume.state, 'Offline');
  const dataStart = record.dataOffsetBytes;
  assert.ok(replacement.current.subarray(dataStart + 256 * KiB, dataStart + MiB).every((b) => b === 0), 'no byte written from the failed piece on');
  assert.ok(events.some((e) => e.name === 'FailSpare'));
});

test('a write error on the rebuild target stops the rebuild with FailSpare and the volume degraded', async () => {
  const spec = { level: 'raid1', chunkCount: 2, chunkDataSizeBytes: MiB } as const;
  const { record, members } = await createTestVolume(spec, 51);
  const { volume, events } = openVolume(record, members, { rebuildPieceBytes: 128 * KiB });
  await volume.setChunkOffline(0);
  const replacement = newMember('new0', members[0]!.sizeBytes);
  replacement.faults = { badRanges: [{ offsetBytes: record.dataOffsetBytes + 600 * KiB, lengthBytes: 512, operations: ['write'] }] };
  const handle = await volume.startRebuild(0, replacement);
  const outcome = await handle.finished;
  assert.equal(outcome.status, 'failed');
  assert.equal(volume.state, 'Degraded');
  assert.equal(volume.info().chunks[0]!.state, 'Offline');
  assert.ok(events.some((e) => e.name === 'FailSpare'));
  await assert.rejects(volume.startRebuild(1, replacement), /no offline chunk 1/);
});

test('pieces keep being rebuilt while a checkpoint save is in progress; the checkpoint saved is a boundary of done pieces', async () => {
  const spec = { level: 'raid5', chunkCount: 3, stripSizeBytes: 16 * KiB, chunkDataSizeBytes: MiB } as const;
  const { record, members } = await createTestVolume(spec, 61);
  const model = randomBytes(seededRandom(62), 2 * MiB);
  const clock = new FakeClock();
  let held: { release: () => void } | null = null;
  let holding = false;
  const checkpointsSaved: number[] = [];
  const deps: VolumeDeps = {
    saveMetadata: async (saved, chunks) => {
      if (holding && held === null) await new Promise<void>((resolve) => { held = { release: resolve }; });
      if (saved.rebuildCheckpointBytes > 0) checkpointsSaved.push(saved.rebuildCheckpointBytes);
      return saveVolumeMetadata(saved, chunks);
    },
    onEvent: () => {},
    clock,
  };
  const volume = new Volume(record, members, deps, { rebuildPieceBytes: 16 * KiB, rebuildPiecesInFlightMax: 2 });
  await volume.write(0, model, { fua: false });
  await volume.setChunkOffline(1);
  const replacement = newMember('new1', members[1]!.sizeBytes);
  const handle = await volume.startRebuild(1, replacement);
  // The next checkpoint save is held: the rebuild goes on past it instead of waiting.
  holding = true;
  for (let spins = 0; (volume.info().progress?.percent ?? 100) < 50; spins++) {
    assert.ok(spins < 10000, `rebuild stalled at ${volume.info().progress?.percent}% behind a held checkpoint save`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(held !== null, 'a checkpoint save started');
  holding = false;
  (held as { release: () => void }).release();
  assert.deepEqual(await handle.finished, { status: 'finished' });
  assert.ok(checkpointsSaved.length >= 1 && checkpointsSaved.length < 64, `${checkpointsSaved.length} checkpoint saves for 64 pieces`);
  assert.ok(checkpointsSaved.every((bytes) => bytes % (16 * KiB) === 0), 'every checkpoint on a piece boundary');
  assert.equal(volume.record.rebuildCheckpointBytes, 0);
  assert.equal(checkRedundancy(volume.record, [members[0]!, replacement, members[2]!]), null);
  assert.equal(firstDifference(model, await readAll(volume)), -1);
});

for (const spec of [
  { level: 'raid1', chunkCount: 2, chunkDataSizeBytes: MiB },
  { level: 'raid5', chunkCount: 3, stripSizeBytes: 16 * KiB, layout: 'left-asymmetric', chunkDataSizeBytes: MiB },
] as const) {
  test(`${spec.level}: no checkpoint and no Online state is ever durable ahead of the target's durable data`, async () => {
    const { record, members } = await createTestVolume(spec, 21);
    const { volume } = openVolume(record, members, { rebuildPieceBytes: 16 * KiB });
    const random = seededRandom(22);
    for (let offset = 0; offset < volume.sizeBytes; offset += 256 * KiB) {
      await volume.write(offset, randomBytes(random, Math.min(256 * KiB, volume.sizeBytes - offset)), { fua: false });
    }
    await volume.flush();
    // What the target must hold once rebuilt: the chunk as it is now, before it is replaced.
    const expected = Uint8Array.from(members[1]!.current);
    await volume.setChunkOffline(1);
    const replacement = newMember('new1', members[1]!.sizeBytes);
    const all = [members[0]!, replacement, ...members.slice(2)];
    let checks = 0;
    // Before every device operation: what any metadata written so far promises about the target (a
    // crash may keep any unflushed write, so written metadata may be durable) against the target's
    // flushed bytes (a crash may drop any unflushed data).
    const check = (): void => {
      let best: { eventCounter: number; covered: number } | null = null;
      for (const member of all) {
        for (const offset of copyOffsetsBytes) {
          let decoded;
          try {
            decoded = decodeMetadata(member.current.subarray(offset, offset + copyBytesMax), member.name);
          } catch {
            continue;
          }
          if (decoded.status !== 'found' || decoded.record.uuid !== record.uuid) continue;
          const state = decoded.record.chunks[1]!.state;
          const covered = state === 'Online' ? spec.chunkDataSizeBytes : state === 'Rebuild' ? decoded.record.rebuildCheckpointBytes : 0;
          if (best === null || decoded.record.eventCounter > best.eventCounter) best = { eventCounter: decoded.record.eventCounter, covered };
        }
      }
      if (best === null || best.covered === 0) return;
      checks++;
      const durableData = replacement.durable.subarray(dataOffsetBytesDefault, dataOffsetBytesDefault + best.covered);
      assert.equal(firstDifference(expected.subarray(dataOffsetBytesDefault, dataOffsetBytesDefault + best.covered), durableData), -1,
        `metadata (event ${best.eventCounter}) says the target is good below ${best.covered}, its flushed bytes are not`);
    };
    for (const member of all) member.beforeOperation = check;
    const handle = await volume.startRebuild(1, replacement);
    assert.deepEqual(await handle.finished, { status: 'finished' });
    check();
    assert.ok(checks > 10, `${checks} checks with a checkpoint or an Online target on record`);
    await volume.close({ clean: true });
  });
}
