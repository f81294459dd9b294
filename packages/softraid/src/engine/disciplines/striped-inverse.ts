// The inverse of a parity level's address mapping: which volume bytes a
// chunk range holds. Pure address math, shared by RAID 5 and RAID 6.
import { assert } from '@openbsd38/libutil/assert.js';
import { divFloor } from '@openbsd38/libutil/units.js';
import type { ByteRange } from './discipline.js';

export interface StripedRows {
  chunkCount: number;
  stripSizeBytes: number;
  /** Data strips per row. */
  dataStrips: number;
  /** Which data strip of the row (0 .. dataStrips-1) the chunk holds there; null for a parity strip. */
  dataIndexOf(row: number, chunkIndex: number): number | null;
}

/**
 * The volume byte ranges whose data [chunkOffsetBytes, +lengthBytes) of a
 * chunk holds, ascending and merged: its data strips in the rows the range
 * covers (a later row's strips lie further into the volume).
 */
export function stripedVolumeRanges(rows: StripedRows, chunkIndex: number, chunkOffsetBytes: number, lengthBytes: number): ByteRange[] {
  assert(chunkIndex >= 0 && chunkIndex < rows.chunkCount && chunkOffsetBytes >= 0 && lengthBytes >= 0, 'volumeRangesOnChunk: bad range');
  const { stripSizeBytes, dataStrips } = rows;
  const ranges: ByteRange[] = [];
  const end = chunkOffsetBytes + lengthBytes;
  for (let position = chunkOffsetBytes; position < end;) {
    const row = divFloor(position, stripSizeBytes);
    const inStripBytes = position - row * stripSizeBytes;
    const length = Math.min(stripSizeBytes - inStripBytes, end - position);
    const dataIndex = rows.dataIndexOf(row, chunkIndex);
    if (dataIndex !== null) {
      const offsetBytes = (row * dataStrips + dataIndex) * stripSizeBytes + inStripBytes;
      const last = ranges.at(-1);
      if (last && last.offsetBytes + last.lengthBytes === offsetBytes) last.lengthBytes += length;
      else ranges.push({ offsetBytes, lengthBytes: length });
    }
    position += length;
  }
  return ranges;
}
