import { test } from 'node:test';
import assert from 'node:assert/strict';
import { raid5DataChunk, raid5Map, raid5ParityChunk } from './raid5-layout.js';
import { raid5 } from './raid5.js';
import type { Geometry } from './discipline.js';

const KiB = 1024;

// Hand-computed rows, n = 4 chunks (d = 3), strip 4 KiB. For volume byte o:
// strip = o >> 12, row = strip div 3, k = strip mod 3, parity = 3 - (row mod 4).
//   o = 20487 = 5*4096+7: strip 5, row 1, k 2, parity 2
//     left-asymmetric: k >= parity -> chunk 3; left-symmetric: (2+1+2) mod 4 = 1; chunk offset 4096+7
//   o = 28672 = 7*4096: strip 7, row 2, k 1, parity 1
//     asym: chunk 2; sym: (1+1+1) mod 4 = 3; chunk offset 8192
//   o = 36964 = 9*4096+100: strip 9, row 3, k 0, parity 0
//     asym: chunk 1; sym: (0+1+0) = 1; chunk offset 12388
//   o = 49152 = 12*4096: strip 12, row 4, k 0, parity 3 (wraps): chunk 0, offset 16384
const rows4 = [
  { o: 0, asym: 0, sym: 0, chunkOffset: 0, parity: 3 },
  { o: 20487, asym: 3, sym: 1, chunkOffset: 4103, parity: 2 },
  { o: 28672, asym: 2, sym: 3, chunkOffset: 8192, parity: 1 },
  { o: 36964, asym: 1, sym: 1, chunkOffset: 12388, parity: 0 },
  { o: 49152, asym: 0, sym: 0, chunkOffset: 16384, parity: 3 },
];

test('RAID 5 n=4, 4 KiB strips: hand-computed chunk and offset for both layouts', () => {
  for (const row of rows4) {
    for (const layout of ['left-asymmetric', 'left-symmetric'] as const) {
      const [strip] = raid5Map(row.o, 1, { chunkCount: 4, stripSizeBytes: 4 * KiB, layout });
      const expected = layout === 'left-asymmetric' ? row.asym : row.sym;
      assert.equal(strip!.chunkIndex, expected, `byte ${row.o} ${layout}`);
      assert.equal(strip!.chunkOffsetBytes, row.chunkOffset, `byte ${row.o} ${layout}`);
      assert.equal(strip!.parityChunkIndex, row.parity, `byte ${row.o}`);
    }
  }
});

// n = 3 (d = 2), strip 64 KiB, o = 3*65536+5: strip 3, row 1, k 1, parity 1:
// asym: chunk 2; sym: (1+1+1) mod 3 = 0 (md left-symmetric row 1 is "D3 P D2").
test('RAID 5 n=3, 64 KiB strips: md left-symmetric row 1 is D3 P D2', () => {
  const o = 3 * 65536 + 5;
  const asym = raid5Map(o, 1, { chunkCount: 3, stripSizeBytes: 64 * KiB, layout: 'left-asymmetric' })[0]!;
  const sym = raid5Map(o, 1, { chunkCount: 3, stripSizeBytes: 64 * KiB, layout: 'left-symmetric' })[0]!;
  assert.deepEqual([asym.chunkIndex, sym.chunkIndex, asym.chunkOffsetBytes, asym.parityChunkIndex], [2, 0, 65536 + 5, 1]);
  assert.equal(raid5DataChunk(1, 0, 3, 'left-symmetric'), 2);
});

test('RAID 5: a request is split at strip boundaries with volume offsets', () => {
  const strips = raid5Map(4000, 200, { chunkCount: 4, stripSizeBytes: 4096, layout: 'left-asymmetric' });
  assert.deepEqual(strips, [
    { chunkIndex: 0, chunkOffsetBytes: 4000, lengthBytes: 96, volumeOffsetBytes: 4000, row: 0, parityChunkIndex: 3, dataIndex: 0 },
    { chunkIndex: 1, chunkOffsetBytes: 0, lengthBytes: 104, volumeOffsetBytes: 4096, row: 0, parityChunkIndex: 3, dataIndex: 1 },
  ]);
});

test('RAID 5: every row places parity and data on distinct chunks, data in volume order per layout', () => {
  for (let n = 3; n <= 9; n++) {
    for (const layout of ['left-asymmetric', 'left-symmetric'] as const) {
      for (let row = 0; row < 3 * n; row++) {
        const parity = raid5ParityChunk(row, n);
        assert.equal(parity, n - 1 - (row % n));
        const chunks = Array.from({ length: n - 1 }, (_, k) => raid5DataChunk(row, k, n, layout));
        assert.deepEqual([...chunks, parity].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), `n=${n} row=${row} ${layout}`);
        if (layout === 'left-asymmetric') assert.deepEqual(chunks, [...chunks].sort((a, b) => a - b));
        else assert.equal(chunks[0], (parity + 1) % n);
      }
    }
  }
});

test('RAID 5: lock ranges cover whole rows, rebuild lock ranges the rows of a chunk range', () => {
  const geometry: Geometry = { level: 'raid5', chunkCount: 4, stripSizeBytes: 4096, layout: 'left-symmetric', chunkDataSizeBytes: 65536, chunkUsableSizesBytes: [65536, 65536, 65536, 65536] };
  assert.deepEqual(raid5.lockRange(geometry, 12287, 2), { offsetBytes: 0, lengthBytes: 24576 });
  assert.deepEqual(raid5.lockRange(geometry, 12288, 1), { offsetBytes: 12288, lengthBytes: 12288 });
  assert.deepEqual(raid5.rebuildLockRange!(geometry, 4096, 8192), { offsetBytes: 12288, lengthBytes: 24576 });
  assert.equal(raid5.volumeSizeBytes(geometry), 16 * 12288);
});
