// Partial rows gathered into whole ones (row-gather.ts) on a real RAID 5
// volume: fewer reads and log records, the same bytes, arrival order kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { dataOffsetBytesDefault } from '../metadata/layout.js';
import { createTestVolume, openVolume, randomBytes, type FakeClock } from '../../../tests/sim/harness.js';
import { checkRedundancy, firstDifference } from '../../../tests/sim/consistency.js';
import type { MemoryChunk } from '../../chunk/memory.js';
import type { Volume } from './volume.js';
import type { VolumeRecord } from '../metadata/record.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The rows (chunk offset / strip size) of the data-area reads the members served. */
function rowsRead(members: MemoryChunk[], stripSizeBytes: number): Set<number> {
  const rows = new Set<number>();
  for (const member of members) {
    member.beforeOperation = (operation, offsetBytes) => {
      if (operation === 'read' && offsetBytes >= dataOffsetBytesDefault) rows.add(Math.floor((offsetBytes - dataOffsetBytesDefault) / stripSizeBytes));
    };
  }
  return rows;
}

/** The volume reads back `data` from byte 0, its parity agrees with its data, and it closes cleanly. */
async function expectHolds(volume: Volume, record: VolumeRecord, members: MemoryChunk[], data: Uint8Array): Promise<void> {
  const back = new Uint8Array(data.length);
  await volume.read(0, back);
  assert.equal(firstDifference(back, data), -1);
  assert.equal(checkRedundancy(record, members), null);
  await volume.close({ clean: true });
}

async function raid5(seed: number) {
  // 4 chunks of 64 KiB strips: rows of 192 KiB, which 1 MiB requests never align with.
  const { record, members } = await createTestVolume({ level: 'raid5', chunkCount: 4, stripSizeBytes: 64 * KiB, chunkDataSizeBytes: 8 * MiB }, seed);
  const opened = openVolume(record, members);
  return { ...opened, record, members };
}

test('RAID 5: sequential 1 MiB writes in flight together are written as whole rows: reads only where no stream was seen yet, and at the very end', async () => {
  const { volume, record, members } = await raid5(31);
  const read = rowsRead(members, 64 * KiB);
  const data = randomBytes(seededRandom(32), 20 * MiB);
  await Promise.all(Array.from({ length: 20 }, (_, i) => volume.write(i * MiB, data.subarray(i * MiB, (i + 1) * MiB), { fua: false })));
  await volume.flush();
  // 13 of the 19 boundaries between requests fall inside a row (a multiple of 3 MiB is one of 192 KiB).
  // Only the first is written in two halves: nothing showed a sequential stream yet. The last row of
  // the last request has no company and is written partially, once the volume is idle.
  assert.equal(volume.writeGathering!.rowsCompleted, 12);
  assert.deepEqual([...read].sort((a, b) => a - b), [5, 106], 'reads only for the first shared row and the last row');
  await expectHolds(volume, record, members, data);
});

test('RAID 5: the same writes one at a time still read and log every shared row (nothing is held without company)', async () => {
  const { volume, record, members } = await raid5(33);
  const data = randomBytes(seededRandom(34), 6 * MiB);
  for (let i = 0; i < 6; i++) await volume.write(i * MiB, data.subarray(i * MiB, (i + 1) * MiB), { fua: false });
  assert.ok(volume.partialParityLog!.counters.records >= 5, 'each request\'s partial rows were logged on their own');
  await expectHolds(volume, record, members, data);
});

test('RAID 5: small sequential writes in flight together fill rows before they are written', async () => {
  const { volume, record, members } = await raid5(35);
  const read = rowsRead(members, 64 * KiB);
  const data = randomBytes(seededRandom(36), 4 * 192 * KiB);
  await Promise.all(Array.from({ length: 192 }, (_, i) => volume.write(i * 4 * KiB, data.subarray(i * 4 * KiB, (i + 1) * 4 * KiB), { fua: false })));
  // Row 0 starts with a write nothing showed to be sequential; rows 1-3 are gathered whole.
  assert.deepEqual([...read], [0]);
  assert.equal(volume.writeGathering!.rowsCompleted, 3);
  await expectHolds(volume, record, members, data);
});

test('RAID 5: a read or write of a held row runs after the held write, as they arrived; flush and FUA do not wait for company', async () => {
  const { volume, record, members } = await raid5(37);
  const first = new Uint8Array(MiB).fill(1);
  // The first write ends 64 KiB into row 5: that tail is held while its whole rows are written.
  const writing = volume.write(0, first, { fua: false });
  const rowOfTail = Math.floor(MiB / (192 * KiB)) * 192 * KiB;
  const readBack = new Uint8Array(MiB - rowOfTail);
  const reading = volume.read(rowOfTail, readBack);
  const overwrite = volume.write(MiB - 4 * KiB, new Uint8Array(4 * KiB).fill(2), { fua: true });
  await Promise.all([writing, reading, overwrite]);
  assert.ok(readBack.every((byte) => byte === 1), 'the read saw the write that arrived before it');
  const tail = new Uint8Array(8 * KiB);
  await volume.read(MiB - 8 * KiB, tail);
  assert.deepEqual([tail[0], tail[4 * KiB]], [1, 2], 'the later overwrite won');

  // A sequential write followed by a flush: the flush lets the held tail go instead of waiting for a next request.
  const next = volume.write(MiB, new Uint8Array(100 * KiB).fill(3), { fua: false });
  const other = volume.write(4 * MiB, new Uint8Array(4 * KiB).fill(4), { fua: false });
  await volume.flush();
  await Promise.all([next, other]);
  assert.equal(checkRedundancy(record, members), null);
  await volume.close({ clean: true });
});

test('RAID 5: a merged row that cannot be written fails both requests it carried', async () => {
  const { volume, members } = await raid5(39);
  await volume.write(0, new Uint8Array(192 * KiB), { fua: false });
  // Every member fails writes in the data area: the volume goes offline and both requests fail.
  for (const member of members) member.faults.badRanges = [{ offsetBytes: dataOffsetBytesDefault, lengthBytes: 8 * MiB, operations: ['write'] }];
  const a = volume.write(192 * KiB, new Uint8Array(300 * KiB), { fua: false });
  const b = volume.write(492 * KiB, new Uint8Array(100 * KiB), { fua: false });
  await assert.rejects(a);
  await assert.rejects(b);
  await volume.close({ clean: false }).catch(() => {});
});

test('RAID 5: while a submitter is plugged a sequential tail waits for company; unplugging with nothing in flight lets it go', async () => {
  const { record, members } = await createTestVolume({ level: 'raid5', chunkCount: 4, stripSizeBytes: 64 * KiB, chunkDataSizeBytes: 8 * MiB }, 41);
  // A clock whose sleeps never end: nothing but the plug decides how long the tail is held.
  const frozen = { nowMs: () => 0, sleepMs: () => new Promise<void>(() => {}) };
  const { volume } = openVolume(record, members, {}, frozen as unknown as FakeClock);
  await volume.write(0, new Uint8Array(192 * KiB).fill(1), { fua: false });
  volume.plug();
  let done = false;
  // Sequential after the first write, ends inside row 1, nothing else in flight: held only because of the plug.
  const tail = volume.write(192 * KiB, new Uint8Array(64 * KiB).fill(2), { fua: false }).then(() => { done = true; });
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(volume.writeGathering!.held, 1);
  assert.equal(done, false, 'held while plugged');
  volume.unplug();
  await tail;
  assert.equal(done, true);
  assert.equal(checkRedundancy(record, members), null);
  await volume.close({ clean: true });
});
