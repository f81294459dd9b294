import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VolumeIoError } from '../errors.js';
import { assembleTestVolume, createTestVolume, openVolume, randomBytes } from '../../../tests/sim/harness.js';
import { seededRandom } from '@openbsd38/libutil/random.js';

const MiB = 1024 * 1024;
const isEio = (error: unknown): boolean => error instanceof VolumeIoError && error.errno === 'EIO';

test('RAID 1: a read error takes the chunk Offline, saves it, emits Fail and DegradedArray, and the read completes', async () => {
  const { record, members } = await createTestVolume({ level: 'raid1', chunkCount: 2, chunkDataSizeBytes: MiB }, 1);
  const { volume, events } = openVolume(record, members);
  const data = randomBytes(seededRandom(2), 10000);
  await volume.write(4096, data, { fua: false });
  members[0]!.faults = { readErrorRate: 1 };
  const into = new Uint8Array(10000);
  await volume.read(4096, into); // round robin reaches chunk 0 or 1; read twice so chunk 0 is tried
  await volume.read(4096, into);
  assert.deepEqual(into, data);
  assert.equal(volume.state, 'Degraded');
  assert.deepEqual(volume.info().chunks.map((c) => c.state), ['Offline', 'Online']);
  assert.deepEqual(events.map((e) => e.name), ['Fail', 'DegradedArray']);
  assert.equal(events[0]!.member, 'm0');
  await volume.close({ clean: true });
  const again = await assembleTestVolume([null, members[1]!]);
  assert.equal(again.record.chunks[0]!.state, 'Offline');
  assert.equal(again.record.dirty, false);
});

test('RAID 0: an I/O error fails the request with EIO and leaves chunk states alone', async () => {
  const { record, members } = await createTestVolume({ level: 'raid0', chunkCount: 2, stripSizeBytes: 4096, chunkDataSizeBytes: MiB }, 3);
  const { volume, events } = openVolume(record, members);
  await volume.write(0, new Uint8Array(1), { fua: false }); // the dirty flag is saved before the fault
  members[1]!.faults = { writeErrorRate: 1 };
  await assert.rejects(volume.write(4096, new Uint8Array(10), { fua: false }), isEio);
  await volume.write(0, new Uint8Array(10).fill(7), { fua: false }); // chunk 0 only
  assert.equal(volume.state, 'Online');
  assert.deepEqual(volume.info().chunks.map((c) => c.state), ['Online', 'Online']);
  assert.deepEqual(events, []);
});

test('RAID 5: losing two chunks takes the volume Offline: EIO, never data', async () => {
  const { record, members } = await createTestVolume({ level: 'raid5', chunkCount: 4, stripSizeBytes: 4096, chunkDataSizeBytes: MiB }, 4);
  const { volume, events } = openVolume(record, members);
  await volume.write(0, new Uint8Array(3 * 4096).fill(9), { fua: false });
  members[0]!.disappeared = true;
  const into = new Uint8Array(3 * 4096);
  await volume.read(0, into);
  assert.ok(into.every((b) => b === 9));
  members[1]!.disappeared = true;
  await assert.rejects(volume.read(0, into), isEio);
  assert.equal(volume.state, 'Offline');
  await assert.rejects(volume.write(0, into, { fua: false }), isEio);
  assert.deepEqual(events.map((e) => e.name), ['Fail', 'DegradedArray', 'Fail', 'DeviceDisappeared']);
});

test('RAID 5: a whole-row write reads nothing; a one-strip write reads old data and parity', async () => {
  const { record, members } = await createTestVolume({ level: 'raid5', chunkCount: 5, stripSizeBytes: 4096, chunkDataSizeBytes: MiB }, 5);
  const { volume } = openVolume(record, members);
  await volume.write(0, new Uint8Array(1), { fua: false }); // marks the volume dirty first
  const reads = (): number => members.reduce((sum, m) => sum + m.counters.reads, 0);
  const before = reads();
  await volume.write(4 * 4096 * 3, new Uint8Array(4 * 4096 * 2).fill(1), { fua: false });
  assert.equal(reads(), before, 'full rows need no reads');
  await volume.write(4 * 4096 * 7 + 100, new Uint8Array(50).fill(2), { fua: false });
  assert.equal(reads(), before + 2, 'read-modify-write: old data and old parity');
});

test('flush waits for writes issued before it and makes them durable; FUA writes are durable when they resolve', async () => {
  const { record, members } = await createTestVolume({ level: 'raid1', chunkCount: 2, chunkDataSizeBytes: MiB }, 6);
  const { volume } = openVolume(record, members);
  for (const member of members) member.faults = { latencyMs: 5 };
  let written = false;
  const write = volume.write(0, new Uint8Array(4096).fill(5), { fua: false }).then(() => { written = true; });
  await volume.flush();
  assert.ok(written, 'flush resolved before a write issued before it');
  await write;
  for (const member of members) assert.equal(member.durable[record.dataOffsetBytes + 100], 5);
  await volume.write(8192, new Uint8Array(10).fill(6), { fua: true });
  for (const member of members) assert.equal(member.durable[record.dataOffsetBytes + 8192], 6);
});

test('limits and ranges are checked: too large, past the end, after close', async () => {
  const { record, members } = await createTestVolume({ level: 'concat', chunkCount: 1, chunkDataSizeBytes: MiB }, 7);
  const { volume } = openVolume(record, members, { requestBytesMax: 64 * 1024 });
  await assert.rejects(volume.read(0, new Uint8Array(64 * 1024 + 1)), (e: unknown) => e instanceof VolumeIoError && e.errno === 'EINVAL');
  await assert.rejects(volume.write(MiB - 1, new Uint8Array(2), { fua: false }), (e: unknown) => e instanceof VolumeIoError && e.errno === 'ENOSPC');
  await assert.rejects(volume.read(-1, new Uint8Array(1)), (e: unknown) => e instanceof VolumeIoError && e.errno === 'EINVAL');
  await volume.writeZeroes(0, MiB, { fua: false, mayTrim: true }); // larger than requestBytesMax: done in pieces
  await volume.close({ clean: true });
  await assert.rejects(volume.read(0, new Uint8Array(1)), (e: unknown) => e instanceof VolumeIoError && e.errno === 'ESHUTDOWN');
});

test('the first write marks the volume dirty on disk; a clean close clears it', async () => {
  const { record, members } = await createTestVolume({ level: 'raid1', chunkCount: 2, chunkDataSizeBytes: MiB }, 8);
  const { volume } = openVolume(record, members);
  await volume.write(0, new Uint8Array(1), { fua: false });
  assert.equal((await assembleTestVolume(members)).record.dirty, true);
  await volume.close({ clean: true });
  assert.equal((await assembleTestVolume(members)).record.dirty, false);
});

test('bioctl -O: setChunkOffline degrades the volume and is saved', async () => {
  const { record, members } = await createTestVolume({ level: 'raid5', chunkCount: 3, stripSizeBytes: 4096, chunkDataSizeBytes: MiB }, 9);
  const { volume, events } = openVolume(record, members);
  await volume.setChunkOffline(2);
  assert.equal(volume.state, 'Degraded');
  assert.deepEqual(events.map((e) => e.name), ['Fail', 'DegradedArray']);
  const again = await assembleTestVolume(members);
  assert.equal(again.record.chunks[2]!.state, 'Offline');
  assert.equal(again.members[2], null);
});
