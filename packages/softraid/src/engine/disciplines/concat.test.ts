import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concatMap } from './concat.js';
import { disciplineFor } from './registry.js';
import { SoftraidError } from '../errors.js';

// Chunks of 102400, 51200 and 204800 bytes laid end to end: chunk 1 starts at
// volume byte 102400, chunk 2 at 153600.
const sizes = [102400, 51200, 204800];

test('CONCAT: hand-computed chunk and offset', () => {
  assert.deepEqual(concatMap(102400, 1, sizes), [{ chunkIndex: 1, chunkOffsetBytes: 0, lengthBytes: 1, volumeOffsetBytes: 102400 }]);
  assert.deepEqual(concatMap(153605, 1, sizes), [{ chunkIndex: 2, chunkOffsetBytes: 5, lengthBytes: 1, volumeOffsetBytes: 153605 }]);
  assert.deepEqual(concatMap(102399, 1, sizes)[0]!.chunkIndex, 0);
});

test('CONCAT: split at chunk ends', () => {
  assert.deepEqual(concatMap(102000, 52000, sizes), [
    { chunkIndex: 0, chunkOffsetBytes: 102000, lengthBytes: 400, volumeOffsetBytes: 102000 },
    { chunkIndex: 1, chunkOffsetBytes: 0, lengthBytes: 51200, volumeOffsetBytes: 102400 },
    { chunkIndex: 2, chunkOffsetBytes: 0, lengthBytes: 400, volumeOffsetBytes: 153600 },
  ]);
});

test('registry: levels without a discipline are refused clearly', () => {
  assert.throws(() => disciplineFor('crypto'), (error: unknown) => error instanceof SoftraidError && /CRYPTO is not supported yet/.test(error.message));
  assert.throws(() => disciplineFor('raid1c'), (error: unknown) => error instanceof SoftraidError && /RAID 1C is not supported yet/.test(error.message));
  assert.equal(disciplineFor('raid6').level, 'raid6');
  assert.equal(disciplineFor('concat').level, 'concat');
  assert.equal(disciplineFor('raid5').capabilities.redundant, true);
});
