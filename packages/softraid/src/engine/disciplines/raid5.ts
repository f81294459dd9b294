// RAID 5: rotating parity (softraid_raid5.c), left-asymmetric as OpenBSD
// lays it out and left-symmetric as Linux md's default. The address math is
// in raid5-layout.ts, the write path in raid5-write.ts.
import { assert } from '@openbsd38/libutil/assert.js';
import { copyBytes } from '@openbsd38/libutil/copy-bytes.js';
import { divCeil, divFloor } from '@openbsd38/libutil/units.js';
import { allocParityBuffer, freeParityBuffer, parityArena, xorInto, xorMany } from '../parity/index.js';
import { assertStriped } from './geometry.js';
import { raid5DataChunk, raid5DataIndex, raid5Map, raid5ParityChunk, type Raid5Geometry, type Raid5Strip } from './raid5-layout.js';
import { raid5Scrub } from './raid5-scrub.js';
import { stripedVolumeRanges } from './striped-inverse.js';
import { raid5Write } from './raid5-write.js';
import { ChunkRuns, settleAll, unavailable } from './sub-io.js';
import type { ChunkIo, Discipline, Geometry } from './discipline.js';

export { raid5Map, raid5DataChunk, raid5DataIndex, raid5ParityChunk, type Raid5Strip, type Raid5Geometry } from './raid5-layout.js';

function raid5GeometryOf(geometry: Geometry): Raid5Geometry {
  assert(geometry.layout !== null, 'raid5: no layout');
  return { chunkCount: geometry.chunkCount, stripSizeBytes: geometry.stripSizeBytes, layout: geometry.layout };
}

function divExactRows(bytes: number, rowBytes: number): number {
  assert(bytes % rowBytes === 0, 'raid5: range not in whole rows');
  return bytes / rowBytes;
}

function rowBytesOf(geometry: Geometry): number {
  return geometry.stripSizeBytes * (geometry.chunkCount - 1);
}

/**
 * Plans reads of the range on every chunk but `missingChunkIndex` into
 * arena buffers (the XOR then runs in place, without staging copies); the
 * first buffer returned is where reconstructed() leaves the result. The
 * caller frees every buffer in `scratch`.
 */
function planReconstruction(io: ChunkIo, missingChunkIndex: number, chunkOffsetBytes: number, lengthBytes: number,
  runs: ChunkRuns, scratch: Uint8Array[]): Uint8Array[] {
  const sources: Uint8Array[] = [];
  for (let chunkIndex = 0; chunkIndex < io.chunkCount; chunkIndex++) {
    if (chunkIndex === missingChunkIndex) continue;
    const buffer = allocParityBuffer(lengthBytes);
    scratch.push(buffer);
    sources.push(buffer);
    runs.add(chunkIndex, chunkOffsetBytes, buffer);
  }
  return sources;
}

/** After the reads: what the missing chunk holds there, in sources[0]. */
function reconstructed(sources: Uint8Array[]): Uint8Array {
  const target = sources[0]!;
  if (sources.length > 1) xorMany(target, sources);
  return target;
}

/**
 * The sources that regenerate a strip of a read on the missing chunk: the
 * same chunk range on every other chunk of its row. Where the request reads
 * that range of a data strip anyway (a sequential read covers whole rows),
 * the source is the caller's own view of it, filled by the request's data
 * read: a degraded read then reads only the parity extra, not every strip
 * twice. What the request does not cover in full (the parity, the data
 * strips at its edges) is read into an arena buffer in `scratch`, added to
 * `runs` in row order so it merges with the data reads on its chunk.
 */
function planDegradedRead(io: ChunkIo, g: Raid5Geometry, strip: Raid5Strip, requestOffsetBytes: number, into: Uint8Array,
  runs: ChunkRuns, scratch: Uint8Array[]): Uint8Array[] {
  const { chunkCount, stripSizeBytes, layout } = g;
  const rowVolumeOffsetBytes = strip.row * stripSizeBytes * (chunkCount - 1);
  const inStripBytes = strip.chunkOffsetBytes - strip.row * stripSizeBytes;
  const sources: Uint8Array[] = [];
  for (let chunkIndex = 0; chunkIndex < io.chunkCount; chunkIndex++) {
    if (chunkIndex === strip.chunkIndex) continue;
    if (chunkIndex !== strip.parityChunkIndex) {
      const dataIndex = raid5DataIndex(strip.row, chunkIndex, chunkCount, layout)!;
      const start = rowVolumeOffsetBytes + dataIndex * stripSizeBytes + inStripBytes - requestOffsetBytes;
      if (start >= 0 && start + strip.lengthBytes <= into.length) {
        sources.push(into.subarray(start, start + strip.lengthBytes));
        continue;
      }
    }
    const buffer = allocParityBuffer(strip.lengthBytes);
    scratch.push(buffer);
    sources.push(buffer);
    runs.add(chunkIndex, strip.chunkOffsetBytes, buffer);
  }
  return sources;
}

/**
 * view := XOR of the sources. Sources all in the arena: XOR in place into
 * the first, one copy out. Some of them the caller's own views: XOR
 * straight into the view, xorMany staging the plain buffers through arena
 * windows. Measured on 1 MiB sequential reads with a chunk of 4 missing:
 * 0.41 CPU s per GiB read, against 0.58 reading those strips a second time
 * into the arena and 0.51 reading them only into the arena and copying
 * them out to the caller (the same number of copies, over larger buffers).
 */
function reconstructInto(view: Uint8Array, sources: Uint8Array[]): void {
  if (sources.every((source) => parityArena?.owns(source) ?? false)) copyBytes(view, reconstructed(sources));
  else xorMany(view, sources);
}

function freeAll(buffers: readonly Uint8Array[]): void {
  for (const buffer of buffers) freeParityBuffer(buffer);
}

function assertOthersReadable(io: ChunkIo, missingChunkIndex: number, what: string): void {
  for (let chunkIndex = 0; chunkIndex < io.chunkCount; chunkIndex++) {
    if (chunkIndex !== missingChunkIndex && !io.isReadable(chunkIndex)) {
      unavailable(`RAID 5: chunks ${missingChunkIndex} and ${chunkIndex} are offline, cannot ${what}`);
    }
  }
}

export const raid5: Discipline = {
  level: 'raid5',
  capabilities: { redundant: true, rebuild: true, nonCoerced: false, encrypted: false },
  validate(geometry: Geometry): void {
    assert(geometry.level === 'raid5', 'raid5: wrong level');
    assert(geometry.layout === 'left-asymmetric' || geometry.layout === 'left-symmetric', `raid5: bad layout ${geometry.layout}`);
    assertStriped(geometry, 3);
  },
  volumeSizeBytes: (g) => divFloor(g.chunkDataSizeBytes, g.stripSizeBytes) * rowBytesOf(g),
  chunkUsedBytes: (g) => divFloor(g.chunkDataSizeBytes, g.stripSizeBytes) * g.stripSizeBytes,
  preferredBlockSizeBytes: (g) => rowBytesOf(g),
  rowBytes: (g) => rowBytesOf(g),
  scrub: raid5Scrub,

  volumeRangesOnChunk(g, chunkIndex, chunkOffsetBytes, lengthBytes) {
    const { layout } = raid5GeometryOf(g);
    return stripedVolumeRanges({
      chunkCount: g.chunkCount, stripSizeBytes: g.stripSizeBytes, dataStrips: g.chunkCount - 1,
      dataIndexOf: (row, index) => raid5DataIndex(row, index, g.chunkCount, layout),
    }, chunkIndex, chunkOffsetBytes, lengthBytes);
  },

  /**
   * Parity := partial parity XOR the modified strips as they are now, which
   * is right for the unmodified strips whatever happened to the modified
   * ones; false when the parity chunk or a modified strip is not there.
   */
  async replayPartialParity(io, _g, record) {
    const { parityChunkIndex, chunkOffsetBytes, lengthBytes } = record;
    if (!io.isWritable(parityChunkIndex)) return false;
    if (!record.modifiedChunkIndexes.every((index) => index < io.chunkCount && io.isReadable(index))) return false;
    const parity = record.partialParity?.slice() ?? new Uint8Array(lengthBytes);
    const strips = record.modifiedChunkIndexes.map(() => new Uint8Array(lengthBytes));
    await settleAll(record.modifiedChunkIndexes.map((index, i) => io.read(index, chunkOffsetBytes, strips[i]!)));
    for (const strip of strips) xorInto(parity, strip);
    if (!io.isWritable(parityChunkIndex)) return false;
    await io.write(parityChunkIndex, chunkOffsetBytes, parity);
    return true;
  },

  /** softraid locks the whole row (stripe) range of every I/O. */
  lockRange(g, offsetBytes, lengthBytes) {
    const rowBytes = rowBytesOf(g);
    const first = divFloor(offsetBytes, rowBytes);
    const end = Math.max(first + 1, divCeil(offsetBytes + lengthBytes, rowBytes));
    return { offsetBytes: first * rowBytes, lengthBytes: (end - first) * rowBytes };
  },

  /**
   * 1. data chunk readable -> read it straight into the caller's buffer;
   * 2. otherwise regenerate the strip by XOR of the same range on every other
   *    chunk, all of which must be readable (planDegradedRead).
   */
  async read(io, g, offsetBytes, into) {
    const rg = raid5GeometryOf(g);
    const strips = raid5Map(offsetBytes, into.length, rg);
    for (const strip of strips) {
      if (!io.isReadable(strip.chunkIndex)) assertOthersReadable(io, strip.chunkIndex, `read volume byte ${strip.volumeOffsetBytes}`);
    }
    // Reads adjacent on a chunk go in one vectored call: the data strips a
    // request reads there and, degraded, the ranges read to reconstruct.
    const runs = new ChunkRuns();
    const scratch: Uint8Array[] = [];
    const missing: { view: Uint8Array; sources: Uint8Array[] }[] = [];
    try {
      for (const strip of strips) {
        const start = strip.volumeOffsetBytes - offsetBytes;
        const view = into.subarray(start, start + strip.lengthBytes);
        if (io.isReadable(strip.chunkIndex)) runs.add(strip.chunkIndex, strip.chunkOffsetBytes, view);
        else missing.push({ view, sources: planDegradedRead(io, rg, strip, offsetBytes, into, runs, scratch) });
      }
      await settleAll(runs.operations(io, 'read'));
      for (const { view, sources } of missing) reconstructInto(view, sources);
    } finally {
      freeAll(scratch);
    }
  },

  write: (io, g, offsetBytes, data, hooks) => raid5Write(io, raid5GeometryOf(g), offsetBytes, data, hooks),

  /** Whole rows: a write may touch every strip and the parity of each row it reaches. */
  chunkRangeOf(g, offsetBytes, lengthBytes) {
    const range = raid5.lockRange(g, offsetBytes, lengthBytes);
    const rowBytes = rowBytesOf(g);
    return { offsetBytes: divExactRows(range.offsetBytes, rowBytes) * g.stripSizeBytes, lengthBytes: divExactRows(range.lengthBytes, rowBytes) * g.stripSizeBytes };
  },

  /**
   * Parity := XOR of the data strips, over the range, when every data strip
   * can be read and the parity chunk written. Degraded, there is nothing to
   * recompute from: the partial parity log made the row consistent at
   * assembly (docs/write-ordering.md).
   */
  async resyncPiece(io, g, chunkOffsetBytes, lengthBytes) {
    const rg = raid5GeometryOf(g);
    const firstRow = divFloor(chunkOffsetBytes, g.stripSizeBytes);
    const endRow = divCeil(chunkOffsetBytes + lengthBytes, g.stripSizeBytes);
    for (let row = firstRow; row < endRow; row++) {
      const parityChunkIndex = raid5ParityChunk(row, g.chunkCount);
      const dataChunks: number[] = [];
      for (let k = 0; k < g.chunkCount - 1; k++) dataChunks.push(raid5DataChunk(row, k, g.chunkCount, rg.layout));
      if (!io.isWritable(parityChunkIndex) || !dataChunks.every((chunkIndex) => io.isReadable(chunkIndex))) continue;
      const startBytes = Math.max(chunkOffsetBytes, row * g.stripSizeBytes);
      const endBytes = Math.min(chunkOffsetBytes + lengthBytes, (row + 1) * g.stripSizeBytes);
      const strips = dataChunks.map(() => allocParityBuffer(endBytes - startBytes));
      try {
        await settleAll(dataChunks.map((chunkIndex, i) => io.read(chunkIndex, startBytes, strips[i]!)));
        const parity = reconstructed(strips);
        // The parity chunk may have failed meanwhile: then there is no parity to fix.
        if (io.isWritable(parityChunkIndex)) await io.write(parityChunkIndex, startBytes, parity);
      } finally {
        freeAll(strips);
      }
    }
  },

  rebuildLockRange(g, chunkOffsetBytes, lengthBytes) {
    const rowBytes = rowBytesOf(g);
    const first = divFloor(chunkOffsetBytes, g.stripSizeBytes);
    const end = divCeil(chunkOffsetBytes + lengthBytes, g.stripSizeBytes);
    return { offsetBytes: first * rowBytes, lengthBytes: (end - first) * rowBytes };
  },

  /** The chunk's range is the XOR of the same range on all others, whether data or parity. */
  async rebuildPiece(io, _g, chunkIndex, chunkOffsetBytes, lengthBytes) {
    assertOthersReadable(io, chunkIndex, `rebuild chunk ${chunkIndex}`);
    const runs = new ChunkRuns();
    const scratch: Uint8Array[] = [];
    try {
      const sources = planReconstruction(io, chunkIndex, chunkOffsetBytes, lengthBytes, runs, scratch);
      await settleAll(runs.operations(io, 'read'));
      await io.write(chunkIndex, chunkOffsetBytes, reconstructed(sources));
    } finally {
      freeAll(scratch);
    }
  },
};
