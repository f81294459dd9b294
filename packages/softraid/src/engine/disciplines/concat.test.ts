import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concatMap } from './concat.js';

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
