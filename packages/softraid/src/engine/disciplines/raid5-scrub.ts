// What a RAID 5 scrub compares and how a repair fixes it: the XOR of a
// sector column over all chunks must be zero. A repair recomputes the row's
// parity strip from its data (md's repair) where it was wrong.
import { divFloor } from '@openbsd38/libutil/units.js';
import { xorInto } from '../parity/index.js';
import { isZero } from './bytes.js';
import { raid5ParityChunk } from './raid5-layout.js';
import type { ScrubRules } from './discipline.js';

const sectorBytes = 512;

export const raid5Scrub: ScrubRules = {
  acceptsBlockBytes: (g, blockBytes) => g.stripSizeBytes % blockBytes === 0,

  /** One bad chunk: the XOR of the others. */
  regenerate(_g, _at, buffers, bad, start, end) {
    if (bad.length !== 1) return null;
    const regenerated = new Uint8Array(end - start);
    buffers.forEach((buffer, chunkIndex) => {
      if (chunkIndex !== bad[0]) xorInto(regenerated, buffer.subarray(start, end));
    });
    return [regenerated];
  },

  inspect(g, chunkOffsetBytes, buffers) {
    const syndrome = buffers[0]!.slice();
    for (const buffer of buffers.slice(1)) xorInto(syndrome, buffer);
    if (isZero(syndrome)) return null;
    const rowOf = (sector: number): number => divFloor(chunkOffsetBytes + sector * sectorBytes, g.stripSizeBytes);
    return {
      mismatched: (sector) => !isZero(syndrome.subarray(sector * sectorBytes, (sector + 1) * sectorBytes)),
      groupOf: rowOf,
      repair(start, end) {
        const parityChunkIndex = raid5ParityChunk(rowOf(start / sectorBytes), g.chunkCount);
        const parity = buffers[parityChunkIndex]!.slice(start, end);
        xorInto(parity, syndrome.subarray(start, end));
        return { confirm: null, rewrites: [{ chunkIndex: parityChunkIndex, bytes: parity }] };
      },
    };
  },
};
