// RAID 0: striping without redundancy (softraid_raid0.c).
import { assert } from '@openbsd38/libutil/assert.js';
import { divFloor } from '@openbsd38/libutil/units.js';
import { assertStriped } from './geometry.js';
import { transferExtents } from './sub-io.js';
import type { ChunkExtent, Discipline, Geometry } from './discipline.js';

export interface StripeGeometry {
  chunkCount: number;
  stripSizeBytes: number;
}

/**
 * Volume bytes onto chunks, strip by strip, chunks in order (n = 3):
 *
 *   row   chunk 0   chunk 1   chunk 2
 *    0    strip 0   strip 1   strip 2
 *    1    strip 3   strip 4   strip 5
 *
 * strip = floor(offset / S); chunk = strip mod n;
 * chunk offset = floor(strip / n) * S + offset mod S.
 * A request is split at strip boundaries; one extent per touched strip.
 */
export function raid0Map(offsetBytes: number, lengthBytes: number, geometry: StripeGeometry): ChunkExtent[] {
  const { chunkCount, stripSizeBytes } = geometry;
  const extents: ChunkExtent[] = [];
  const endBytes = offsetBytes + lengthBytes;
  let position = offsetBytes;
  while (position < endBytes) {
    const strip = divFloor(position, stripSizeBytes);
    const inStripBytes = position - strip * stripSizeBytes;
    const lengthInStrip = Math.min(stripSizeBytes - inStripBytes, endBytes - position);
    extents.push({
      chunkIndex: strip % chunkCount,
      chunkOffsetBytes: divFloor(strip, chunkCount) * stripSizeBytes + inStripBytes,
      lengthBytes: lengthInStrip,
      volumeOffsetBytes: position,
    });
    position += lengthInStrip;
  }
  return extents;
}

export const raid0: Discipline = {
  level: 'raid0',
  capabilities: { redundant: false, rebuild: false, nonCoerced: false, encrypted: false },
  validate(geometry: Geometry): void {
    assert(geometry.level === 'raid0', 'raid0: wrong level');
    assertStriped(geometry, 2);
  },
  volumeSizeBytes: (g) => divFloor(g.chunkDataSizeBytes, g.stripSizeBytes) * g.stripSizeBytes * g.chunkCount,
  chunkUsedBytes: (g) => divFloor(g.chunkDataSizeBytes, g.stripSizeBytes) * g.stripSizeBytes,
  preferredBlockSizeBytes: (g) => g.stripSizeBytes,
  lockRange: (_g, offsetBytes, lengthBytes) => ({ offsetBytes, lengthBytes }),
  rowBytes: () => 0,
  read: (io, g, offsetBytes, into) => transferExtents(io, raid0Map(offsetBytes, into.length, g), offsetBytes, into, 'read'),
  write: (io, g, offsetBytes, data) => transferExtents(io, raid0Map(offsetBytes, data.length, g), offsetBytes, data, 'write'),
};
