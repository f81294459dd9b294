import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetadataError } from '../errors.js';
import { MemoryChunk } from '../../chunk/memory.js';
import { readChunkMetadata, saveVolumeMetadata, wipeChunkMetadata, writeChunkMetadata } from './io.js';
import { copyAOffsetBytes, copyBOffsetBytes } from './layout.js';
import type { VolumeRecord } from './record.js';
import { MetadataVersionError } from './version-error.js';
import { setVersion } from './fixtures.test-helper.js';

const MiB = 1024 * 1024;


function raid1(chunkCount = 2): VolumeRecord {
  return {
    formatVersion: 1, uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', kind: 'raid1', layout: null, stripSizeBytes: 0, chunkCount,
    dataOffsetBytes: MiB, chunkDataSizeBytes: 3 * MiB, volumeSizeBytes: 3 * MiB, eventCounter: 10, eventCounterFloor: 10,
    deviceName: 'sd1', noAutoAssemble: false, dirty: false, rebuildCheckpointBytes: 0,
    chunks: Array.from({ length: chunkCount }, (_, index) => ({ index, state: 'Online' as const, usableSizeBytes: 3 * MiB, name: `m${index}` })),
  };
}

const chunkOf = (name: string): MemoryChunk => new MemoryChunk(name, 4 * MiB);

test('write then read: both copies valid and agreeing, at A then B with a flush after each', async () => {
  const chunk = chunkOf('/dev/a');
  await writeChunkMetadata(chunk, raid1(), 1);
  assert.equal(chunk.counters.writes, 2);
  assert.equal(chunk.counters.flushes, 2);
  const found = await readChunkMetadata(chunk);
  assert.ok(found);
  assert.equal(found.chunkIndex, 1);
  assert.equal(found.record.eventCounter, 10);
  assert.deepEqual(found.copiesValid, [true, true]);
  assert.equal(found.copiesAgree, true);
  assert.equal(await readChunkMetadata(chunkOf('/dev/empty')), null);
});

test('a damaged copy is reported and the other is used; the higher counter wins', async () => {
  const chunk = chunkOf('/dev/b');
  await writeChunkMetadata(chunk, raid1(), 0);
  chunk.current[copyAOffsetBytes + 300]! ^= 1;
  let found = await readChunkMetadata(chunk);
  assert.ok(found);
  assert.deepEqual(found.copiesValid, [false, true]);
  assert.match(found.copyProblems[0]!, /copy A invalid metadata: checksum mismatch/);
  assert.equal(found.copiesAgree, false);

  // Copy A newer than B (a crash between the two writes): A wins, B reported behind.
  await writeChunkMetadata(chunk, raid1(), 0);
  chunk.faults.badRanges = [{ offsetBytes: copyBOffsetBytes, lengthBytes: 1, operations: ['write'] }];
  await assert.rejects(writeChunkMetadata(chunk, { ...raid1(), eventCounter: 11 }, 0));
  chunk.faults.badRanges = [];
  found = await readChunkMetadata(chunk);
  assert.ok(found);
  assert.equal(found.record.eventCounter, 11);
  assert.match(found.copyProblems[1]!, /copy B is behind \(event 10, current 11\)/);
});

test('both copies damaged: MetadataError naming the chunk; newer version keeps softraid wording', async () => {
  const chunk = chunkOf('/dev/c');
  await writeChunkMetadata(chunk, raid1(), 0);
  chunk.current[copyAOffsetBytes + 2000]! ^= 4;
  chunk.current[copyBOffsetBytes + 40]! ^= 4;
  await assert.rejects(readChunkMetadata(chunk), (error: unknown) =>
    error instanceof MetadataError && /^\/dev\/c: no valid metadata copy: copy A .*checksum.*; copy B .*checksum/.test(error.message));
  // Copy B read error and copy A absent.
  await wipeChunkMetadata(chunk);
  await writeChunkMetadata(chunk, raid1(), 0);
  chunk.current.fill(0, copyAOffsetBytes, copyAOffsetBytes + 4096);
  chunk.faults.badRanges = [{ offsetBytes: copyBOffsetBytes, lengthBytes: 1, operations: ['read'] }];
  await assert.rejects(readChunkMetadata(chunk), /\/dev\/c: no valid metadata copy: copy A absent; copy B cannot read metadata copy B: EIO/);
  chunk.faults.badRanges = [];
  await writeChunkMetadata(chunk, raid1(), 0);
  for (const offset of [copyAOffsetBytes, copyBOffsetBytes]) setVersion(chunk.current, offset, 7);
  await assert.rejects(readChunkMetadata(chunk), (error: unknown) =>
    error instanceof MetadataVersionError && error.message === 'cannot read metadata version 7 on /dev/c, expected version 1 or earlier');
});

test('a write torn by a crash loses at most one copy; the chunk keeps a whole record', async () => {
  for (const tornCopy of [copyAOffsetBytes, copyBOffsetBytes]) {
    const chunk = chunkOf('/dev/torn');
    await writeChunkMetadata(chunk, raid1(), 0);
    chunk.faults = { badRanges: [{ offsetBytes: tornCopy, lengthBytes: 1, operations: ['write'] }], tornWriteRate: 1 };
    await assert.rejects(writeChunkMetadata(chunk, { ...raid1(), eventCounter: 11, dirty: true }, 0));
    chunk.faults = {};
    chunk.crash(1); // every written sector, the torn prefix included, reaches the medium
    const found = await readChunkMetadata(chunk);
    assert.ok(found);
    assert.equal(found.record.eventCounter, tornCopy === copyAOffsetBytes ? 10 : 11);
  }
});

test('save bumps the counter, skips Offline and absent members, reports failed writes, and advances the floor only when complete', async () => {
  const record = raid1(3);
  const members = [chunkOf('m0'), chunkOf('m1'), chunkOf('m2')];
  assert.deepEqual(await saveVolumeMetadata(record, members), []);
  assert.equal(record.eventCounter, 11);
  assert.equal(record.eventCounterFloor, 11);
  for (const member of members) assert.equal((await readChunkMetadata(member))!.record.eventCounterFloor, 10);

  members[2]!.faults.writeErrorRate = 1;
  assert.deepEqual(await saveVolumeMetadata(record, members), [2]);
  assert.equal(record.eventCounter, 12);
  assert.equal(record.eventCounterFloor, 11);
  record.chunks[2]!.state = 'Offline';
  const writesBefore = members[2]!.counters.writes;
  assert.deepEqual(await saveVolumeMetadata(record, [members[0]!, null, members[2]!]), []);
  assert.equal(members[2]!.counters.writes, writesBefore, 'an Offline member is not written');
  assert.equal((await readChunkMetadata(members[0]!))!.record.eventCounter, 13);
  assert.equal((await readChunkMetadata(members[1]!))!.record.eventCounter, 12, 'an absent member is not written');
  assert.equal(record.eventCounterFloor, 13);
});

test('wipe leaves no metadata', async () => {
  const chunk = chunkOf('/dev/w');
  await writeChunkMetadata(chunk, raid1(), 0);
  await wipeChunkMetadata(chunk);
  assert.equal(await readChunkMetadata(chunk), null);
});
