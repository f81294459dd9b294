// What a RAID 1 scrub compares and how a repair fixes it: sector by sector,
// every copy against the first. A run of mismatched sectors is rewritten
// from the copy a strict majority agrees on, or else from the first chunk
// (md's choice), once that copy reads back the same bytes again.
import { bytesEqual } from './bytes.js';
import type { ScrubRules } from './discipline.js';

const sectorBytes = 512;

/** The index of a copy more than half the copies equal, else 0 (md repairs from the first). */
function majorityOrFirst(copies: readonly Uint8Array[]): number {
  for (let candidate = 0; candidate < copies.length; candidate++) {
    const agreeing = copies.filter((copy) => bytesEqual(copy, copies[candidate]!)).length;
    if (agreeing * 2 > copies.length) return candidate;
  }
  return 0;
}

export const raid1Scrub: ScrubRules = {
  acceptsBlockBytes: () => true,

  /** Any copy left is the data. */
  regenerate(_g, _at, buffers, bad, start, end) {
    const good = buffers.findIndex((_buffer, chunkIndex) => !bad.includes(chunkIndex));
    if (good < 0) return null;
    return bad.map(() => buffers[good]!.slice(start, end));
  },

  inspect(_g, _at, buffers) {
    const reference = buffers[0]!;
    if (buffers.every((buffer) => bytesEqual(buffer, reference))) return null;
    return {
      mismatched(sector) {
        const start = sector * sectorBytes;
        const expected = reference.subarray(start, start + sectorBytes);
        return buffers.some((buffer) => !bytesEqual(buffer.subarray(start, start + sectorBytes), expected));
      },
      groupOf: () => 0,
      repair(start, end) {
        const copies = buffers.map((buffer) => buffer.subarray(start, end));
        const source = majorityOrFirst(copies);
        const bytes = copies[source]!.slice();
        return {
          confirm: { chunkIndex: source, bytes },
          rewrites: copies.flatMap((copy, chunkIndex) => (chunkIndex !== source && !bytesEqual(copy, bytes) ? [{ chunkIndex, bytes }] : [])),
        };
      },
    };
  },
};
