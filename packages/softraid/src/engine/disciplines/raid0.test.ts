import { test } from 'node:test';
import assert from 'node:assert/strict';
import { raid0Map } from './raid0.js';

// n = 3, strip 64 KiB. o = 200000: strip = floor(200000 / 65536) = 3, in strip
// 200000 - 196608 = 3392; chunk = 3 mod 3 = 0; offset = (3 div 3) * 65536 + 3392 = 68928.
// o = 262154 = 4*65536+10: strip 4 -> chunk 1, offset 65536 + 10 = 65546.
test('RAID 0: hand-computed chunk and offset', () => {
  const geometry = { chunkCount: 3, stripSizeBytes: 65536 };
  assert.deepEqual(raid0Map(200000, 1, geometry), [{ chunkIndex: 0, chunkOffsetBytes: 68928, lengthBytes: 1, volumeOffsetBytes: 200000 }]);
  assert.deepEqual(raid0Map(262154, 1, geometry), [{ chunkIndex: 1, chunkOffsetBytes: 65546, lengthBytes: 1, volumeOffsetBytes: 262154 }]);
  assert.deepEqual(raid0Map(131072 + 5, 1, geometry)[0]!.chunkIndex, 2);
});

test('RAID 0: split at strip boundaries', () => {
  assert.deepEqual(raid0Map(65000, 1000, { chunkCount: 3, stripSizeBytes: 65536 }), [
    { chunkIndex: 0, chunkOffsetBytes: 65000, lengthBytes: 536, volumeOffsetBytes: 65000 },
    { chunkIndex: 1, chunkOffsetBytes: 0, lengthBytes: 464, volumeOffsetBytes: 65536 },
  ]);
  const extents = raid0Map(1234, 4096 * 7, { chunkCount: 2, stripSizeBytes: 4096 });
  assert.equal(extents.reduce((sum, e) => sum + e.lengthBytes, 0), 4096 * 7);
  assert.deepEqual(extents.map((e) => e.chunkIndex), [0, 1, 0, 1, 0, 1, 0, 1]);
});
