// CONCAT: chunks laid end to end, each with its own usable size
// (softraid_concat.c, SR_CAP_NON_COERCED).
import { assert } from '@openbsd38/libutil/assert.js';
import { levelTable } from '@openbsd38/bio/levels.js';
import { transferExtents } from './sub-io.js';
import type { ChunkExtent, Discipline, Geometry } from './discipline.js';

/**
 * Volume bytes onto chunks, each chunk's whole usable size in turn
 * (sizes 100, 50, 200):
 *
 *   volume [0, 100)   -> chunk 0 [0, 100)
 *   volume [100, 150) -> chunk 1 [0, 50)
 *   volume [150, 350) -> chunk 2 [0, 200)
 *
 * A request is split at chunk ends.
 */
export function concatMap(offsetBytes: number, lengthBytes: number, chunkSizesBytes: readonly number[]): ChunkExtent[] {
  const extents: ChunkExtent[] = [];
  const endBytes = offsetBytes + lengthBytes;
  let chunkStartBytes = 0;
  for (let chunkIndex = 0; chunkIndex < chunkSizesBytes.length && chunkStartBytes < endBytes; chunkIndex++) {
    const chunkEndBytes = chunkStartBytes + chunkSizesBytes[chunkIndex]!;
    const start = Math.max(offsetBytes, chunkStartBytes);
    const end = Math.min(endBytes, chunkEndBytes);
    if (start < end) {
      extents.push({ chunkIndex, chunkOffsetBytes: start - chunkStartBytes, lengthBytes: end - start, volumeOffsetBytes: start });
    }
    chunkStartBytes = chunkEndBytes;
  }
  assert(lengthBytes === 0 || extents.at(-1)!.volumeOffsetBytes + extents.at(-1)!.lengthBytes === endBytes,
    `concat: ${offsetBytes}+${lengthBytes} beyond the volume`);
  return extents;
}

export const concat: Discipline = {
  level: 'concat',
  capabilities: { redundant: false, rebuild: false, nonCoerced: true, encrypted: false },
  validate(geometry: Geometry): void {
    assert(geometry.level === 'concat', 'concat: wrong level');
    assert(geometry.chunkCount >= 1 && geometry.chunkCount <= levelTable.concat.maximumChunks, 'concat: chunk count out of range');
    assert(geometry.chunkUsableSizesBytes.length === geometry.chunkCount, 'concat: one usable size per chunk');
    for (const size of geometry.chunkUsableSizesBytes) assert(Number.isSafeInteger(size) && size > 0, `concat: bad chunk size ${size}`);
  },
  volumeSizeBytes: (g) => g.chunkUsableSizesBytes.reduce((sum, size) => sum + size, 0),
  chunkUsedBytes: (g, chunkIndex) => g.chunkUsableSizesBytes[chunkIndex]!,
  preferredBlockSizeBytes: () => 4096,
  lockRange: (_g, offsetBytes, lengthBytes) => ({ offsetBytes, lengthBytes }),
  rowBytes: () => 0,
  read: (io, g, offsetBytes, into) => transferExtents(io, concatMap(offsetBytes, into.length, g.chunkUsableSizesBytes), offsetBytes, into, 'read'),
  write: (io, g, offsetBytes, data) => transferExtents(io, concatMap(offsetBytes, data.length, g.chunkUsableSizesBytes), offsetBytes, data, 'write'),
};
