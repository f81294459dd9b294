// RAID 5 reads with one chunk missing: the regenerated strips XOR the data
// strips the request reads anyway (the caller's own views) with only the
// parity read extra. Checked against the volume's bytes over odd offsets and
// lengths, both layouts, strips above and below the staging threshold, and
// the I/O a whole-row read issues: every byte of it read once, one vectored
// call per chunk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { randomBytes, seedFromEnv } from '../../../tests/sim/harness.js';
import { raid5, raid5DataChunk, raid5ParityChunk } from './raid5.js';
import type { ChunkIo, Geometry } from './discipline.js';
import type { Raid5Layout } from '@openbsd38/bio/levels.js';

const KiB = 1024;

interface Shape {
  layout: Raid5Layout;
  chunkCount: number;
  stripSizeBytes: number;
  rows: number;
}

/** The chunks' data areas for `volume`: its data strips, and each row's parity. */
function chunksOf(shape: Shape, volume: Uint8Array): Uint8Array[] {
  const { chunkCount, stripSizeBytes, rows, layout } = shape;
  const chunks = Array.from({ length: chunkCount }, () => new Uint8Array(rows * stripSizeBytes));
  for (let row = 0; row < rows; row++) {
    const parity = chunks[raid5ParityChunk(row, chunkCount)]!.subarray(row * stripSizeBytes, (row + 1) * stripSizeBytes);
    for (let dataIndex = 0; dataIndex < chunkCount - 1; dataIndex++) {
      const start = (row * (chunkCount - 1) + dataIndex) * stripSizeBytes;
      const strip = volume.subarray(start, start + stripSizeBytes);
      chunks[raid5DataChunk(row, dataIndex, chunkCount, layout)]!.set(strip, row * stripSizeBytes);
      for (let i = 0; i < stripSizeBytes; i++) parity[i]! ^= strip[i]!;
    }
  }
  return chunks;
}

/** A ChunkIo over in-memory chunks, one of them unreadable, counting each chunk's calls and bytes read. */
function degradedIo(chunks: Uint8Array[], missingChunkIndex: number): ChunkIo & { calls: number[]; bytesRead: number[] } {
  const calls = chunks.map(() => 0);
  const bytesRead = chunks.map(() => 0);
  const readInto = (chunkIndex: number, chunkOffsetBytes: number, buffers: readonly Uint8Array[]): Promise<void> => {
    assert.notEqual(chunkIndex, missingChunkIndex, 'read from the missing chunk');
    calls[chunkIndex]!++;
    let at = chunkOffsetBytes;
    for (const buffer of buffers) {
      buffer.set(chunks[chunkIndex]!.subarray(at, at + buffer.length));
      assert.equal(at + buffer.length <= chunks[chunkIndex]!.length, true, 'read past the chunk');
      at += buffer.length;
      bytesRead[chunkIndex]! += buffer.length;
    }
    return Promise.resolve();
  };
  return {
    chunkCount: chunks.length,
    calls,
    bytesRead,
    isReadable: (chunkIndex) => chunkIndex !== missingChunkIndex,
    isWritable: (chunkIndex) => chunkIndex !== missingChunkIndex,
    read: (chunkIndex, chunkOffsetBytes, into) => readInto(chunkIndex, chunkOffsetBytes, [into]),
    readv: (chunkIndex, chunkOffsetBytes, into) => readInto(chunkIndex, chunkOffsetBytes, into),
    write: () => Promise.reject(new Error('no writes here')),
    writev: () => Promise.reject(new Error('no writes here')),
    nextRoundRobin: () => 0,
  };
}

function geometryOf(shape: Shape): Geometry {
  const chunkDataSizeBytes = shape.rows * shape.stripSizeBytes;
  return {
    level: 'raid5',
    chunkCount: shape.chunkCount,
    stripSizeBytes: shape.stripSizeBytes,
    layout: shape.layout,
    chunkDataSizeBytes,
    chunkUsableSizesBytes: Array.from({ length: shape.chunkCount }, () => chunkDataSizeBytes),
  };
}

const shapes: Shape[] = [];
for (const layout of ['left-asymmetric', 'left-symmetric'] as const) {
  // 64 KiB strips: regenerated pieces above and below the 32 KiB staging threshold; 4 KiB: always below.
  shapes.push({ layout, chunkCount: 4, stripSizeBytes: 64 * KiB, rows: 8 });
  shapes.push({ layout, chunkCount: 3, stripSizeBytes: 64 * KiB, rows: 6 });
  shapes.push({ layout, chunkCount: 5, stripSizeBytes: 4 * KiB, rows: 10 });
}

for (const shape of shapes) {
  const name = `RAID 5 ${shape.layout}, ${shape.chunkCount} chunks, ${shape.stripSizeBytes / KiB} KiB strips`;

  test(`${name}: a degraded read at odd offsets and lengths returns the volume's bytes`, async () => {
    const seed = seedFromEnv();
    const random = seededRandom(seed);
    const g = geometryOf(shape);
    const volume = randomBytes(random, raid5.volumeSizeBytes(g));
    const chunks = chunksOf(shape, volume);
    for (let missing = 0; missing < shape.chunkCount; missing++) {
      const io = degradedIo(chunks, missing);
      const reads: [number, number][] = [[0, volume.length]];
      for (let i = 0; i < 60; i++) {
        const offsetBytes = Math.floor(random() * volume.length);
        const lengthBytes = 1 + Math.floor(random() * Math.min(volume.length - offsetBytes, 3 * shape.stripSizeBytes * shape.chunkCount));
        reads.push([offsetBytes, lengthBytes]);
      }
      for (const [offsetBytes, lengthBytes] of reads) {
        const into = new Uint8Array(lengthBytes).fill(0xa5);
        await raid5.read(io, g, offsetBytes, into);
        assert.deepEqual(into, volume.subarray(offsetBytes, offsetBytes + lengthBytes),
          `seed ${seed} (SOFTRAID_SEED replays it): chunk ${missing} missing, read ${offsetBytes}+${lengthBytes}`);
      }
    }
  });

  test(`${name}: a degraded read of whole rows reads each byte once, one call per chunk`, async () => {
    const g = geometryOf(shape);
    const rowBytes = shape.stripSizeBytes * (shape.chunkCount - 1);
    const volume = randomBytes(seededRandom(7), raid5.volumeSizeBytes(g));
    const chunks = chunksOf(shape, volume);
    for (let missing = 0; missing < shape.chunkCount; missing++) {
      for (const [firstRow, rowCount] of [[0, shape.rows], [1, 3], [2, 1]] as const) {
        const io = degradedIo(chunks, missing);
        const into = new Uint8Array(rowCount * rowBytes);
        await raid5.read(io, g, firstRow * rowBytes, into);
        assert.deepEqual(into, volume.subarray(firstRow * rowBytes, (firstRow + rowCount) * rowBytes));
        // Each regenerated strip costs one parity strip of the same length, nothing more: the request's length in all.
        assert.equal(io.bytesRead.reduce((sum, bytes) => sum + bytes, 0), into.length, `chunk ${missing} missing, rows ${firstRow}+${rowCount}`);
        assert.deepEqual(io.calls, chunks.map((_c, chunkIndex) => (chunkIndex === missing ? 0 : 1)), 'the reads on each chunk merged into one call');
      }
    }
  });
}
