import { test } from 'node:test';
import assert from 'node:assert/strict';
import { saveVolumeMetadata } from '../metadata/io.js';
import { createTestVolume } from '../../../tests/sim/harness.js';
import { MemberSet } from './member-set.js';

const KiB = 1024;

test('hasUnflushedWritesIn: only ranges written since the last flush, per chunk', async () => {
  const { record, members } = await createTestVolume({ level: 'raid5', chunkCount: 3, stripSizeBytes: 16 * KiB, chunkDataSizeBytes: 1024 * KiB }, 5);
  const set = new MemberSet(record, [...members], true, { saveMetadata: saveVolumeMetadata, onEvent: () => {} });
  assert.equal(set.hasUnflushedWritesIn(0, 0, 16 * KiB), false);
  await set.write(0, 32 * KiB, new Uint8Array(4 * KiB));
  await set.writev(1, 0, [new Uint8Array(16 * KiB), new Uint8Array(16 * KiB)]);
  assert.equal(set.hasUnflushedWritesIn(0, 32 * KiB, 16 * KiB), true);
  assert.equal(set.hasUnflushedWritesIn(0, 36 * KiB, 4 * KiB), true, 'the same strip: a write there may have left unflushed data');
  assert.equal(set.hasUnflushedWritesIn(0, 0, 16 * KiB), false, 'another strip of the same chunk');
  assert.equal(set.hasUnflushedWritesIn(1, 16 * KiB, 4 * KiB), true, 'the second buffer of a vectored write');
  assert.equal(set.hasUnflushedWritesIn(2, 32 * KiB, 16 * KiB), false, 'another chunk');
  await set.flushChunk(0);
  assert.equal(set.hasUnflushedWritesIn(0, 32 * KiB, 16 * KiB), false, 'flushed');
  assert.equal(set.hasUnflushedWritesIn(1, 0, 4 * KiB), true, 'chunk 1 was not flushed');
  await set.flush();
  assert.equal(set.hasUnflushedWritesIn(1, 0, 32 * KiB), false);
  // A strip 4096 buckets further on shares its bucket: "maybe" (one flush too many), never a missed one.
  await set.write(2, 0, new Uint8Array(512));
  assert.equal(set.hasUnflushedWritesIn(2, 4096 * 16 * KiB, 512), true);
});
