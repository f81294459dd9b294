// RAID 1: an n-way mirror (softraid_raid1.c).
import { assert } from '@openbsd38/libutil/assert.js';
import { levelTable } from '@openbsd38/bio/levels.js';
import { allocParityBuffer, freeParityBuffer } from '../parity/index.js';
import { raid1Scrub } from './raid1-scrub.js';
import { settleAll, unavailable } from './sub-io.js';
import type { ChunkIo, Discipline, Geometry } from './discipline.js';

/**
 * Every chunk holds the whole volume at the same chunk offset:
 *
 *   volume byte o -> chunk i byte o, for every chunk i
 *
 * Reads: one sub-I/O to the chunk `counter++ mod n`, skipping chunks that
 * cannot be read (Offline, Rebuild), trying each chunk at most once.
 */
export function raid1ReadChunk(io: Pick<ChunkIo, 'chunkCount' | 'isReadable' | 'nextRoundRobin'>, excludeChunkIndex = -1): number | null {
  const start = io.nextRoundRobin();
  for (let step = 0; step < io.chunkCount; step++) {
    const candidate = (start + step) % io.chunkCount;
    if (candidate !== excludeChunkIndex && io.isReadable(candidate)) return candidate;
  }
  return null;
}

export const raid1: Discipline = {
  level: 'raid1',
  capabilities: { redundant: true, rebuild: true, nonCoerced: false, encrypted: false },
  validate(geometry: Geometry): void {
    assert(geometry.level === 'raid1', 'raid1: wrong level');
    assert(geometry.chunkCount >= 2 && geometry.chunkCount <= levelTable.raid1.maximumChunks, 'raid1: chunk count out of range');
    assert(Number.isSafeInteger(geometry.chunkDataSizeBytes) && geometry.chunkDataSizeBytes > 0, 'raid1: bad chunk data size');
  },
  volumeSizeBytes: (g) => g.chunkDataSizeBytes,
  chunkUsedBytes: (g) => g.chunkDataSizeBytes,
  preferredBlockSizeBytes: () => 4096,
  lockRange: (_g, offsetBytes, lengthBytes) => ({ offsetBytes, lengthBytes }),
  rowBytes: () => 0,
  /** Every chunk holds the whole volume. */
  volumeRangesOnChunk: (_g, _chunkIndex, chunkOffsetBytes, lengthBytes) => (lengthBytes === 0 ? [] : [{ offsetBytes: chunkOffsetBytes, lengthBytes }]),
  scrub: raid1Scrub,

  async read(io, _g, offsetBytes, into) {
    const chunkIndex = raid1ReadChunk(io);
    if (chunkIndex === null) unavailable(`RAID 1: no chunk online, cannot read volume byte ${offsetBytes}`);
    await io.read(chunkIndex, offsetBytes, into);
  },

  /** Writes go to every chunk that is Online, Scrubbing or Rebuild. */
  async write(io, _g, offsetBytes, data) {
    const operations: Promise<void>[] = [];
    for (let chunkIndex = 0; chunkIndex < io.chunkCount; chunkIndex++) {
      if (io.isWritable(chunkIndex)) operations.push(io.write(chunkIndex, offsetBytes, data));
    }
    if (operations.length === 0) unavailable(`RAID 1: no chunk online, cannot write volume byte ${offsetBytes}`);
    await settleAll(operations);
  },

  rebuildLockRange: (_g, chunkOffsetBytes, lengthBytes) => ({ offsetBytes: chunkOffsetBytes, lengthBytes }),
  chunkRangeOf: (_g, offsetBytes, lengthBytes) => ({ offsetBytes, lengthBytes }),

  /** The first readable mirror (lowest index) is copied onto every other writable one; reads of regions pending resync wait for it. */
  async resyncPiece(io, _g, chunkOffsetBytes, lengthBytes) {
    let source = -1;
    for (let chunkIndex = 0; chunkIndex < io.chunkCount && source < 0; chunkIndex++) if (io.isReadable(chunkIndex)) source = chunkIndex;
    if (source < 0) unavailable(`RAID 1: no chunk online to resync from`);
    const buffer = allocParityBuffer(lengthBytes);
    try {
      await io.read(source, chunkOffsetBytes, buffer);
      const writes: Promise<void>[] = [];
      for (let chunkIndex = 0; chunkIndex < io.chunkCount; chunkIndex++) {
        if (chunkIndex !== source && io.isWritable(chunkIndex)) writes.push(io.write(chunkIndex, chunkOffsetBytes, buffer));
      }
      await settleAll(writes);
    } finally {
      freeParityBuffer(buffer);
    }
  },

  /** Copies the range from one readable mirror onto the rebuilding chunk. */
  async rebuildPiece(io, _g, chunkIndex, chunkOffsetBytes, lengthBytes) {
    const source = raid1ReadChunk(io, chunkIndex);
    if (source === null) unavailable(`RAID 1: no chunk online to rebuild chunk ${chunkIndex} from`);
    // From the arena's free list: reused, not allocated and zeroed per piece.
    const buffer = allocParityBuffer(lengthBytes);
    try {
      await io.read(source, chunkOffsetBytes, buffer);
      await io.write(chunkIndex, chunkOffsetBytes, buffer);
    } finally {
      freeParityBuffer(buffer);
    }
  },
};
