// A parity level's forward address mapping, shared by RAID 5 and RAID 6:
// a volume range split at strip boundaries onto the data strips of rows
// (strip = floor(o / S), row = floor(strip / d), data index = strip mod d,
// chunk offset = row * S + o mod S). Which chunk holds a row's data strip
// is the level's rotation. The inverse is striped-inverse.ts.
import { divFloor } from '@openbsd38/libutil/units.js';
import type { ChunkExtent } from './discipline.js';

export interface StripedDataStrip extends ChunkExtent {
  /** Row (stripe) number: the same on every chunk, chunk offset = row * S + offset in strip. */
  row: number;
  /** The chunk holding the row's (first) parity strip: RAID 5's parity, RAID 6's P. */
  parityChunkIndex: number;
  /** Which data strip of the row (0 .. d-1) this is, in volume order. */
  dataIndex: number;
}

/** The level's rotation: which chunk holds a row's data strip, and its (first) parity strip. */
export interface StripeRotation {
  dataChunk(row: number, dataIndex: number): number;
  parityChunk(row: number): number;
}

export function mapOntoDataStrips(offsetBytes: number, lengthBytes: number, stripSizeBytes: number, dataStrips: number,
  rotation: StripeRotation): StripedDataStrip[] {
  const strips: StripedDataStrip[] = [];
  const endBytes = offsetBytes + lengthBytes;
  let position = offsetBytes;
  while (position < endBytes) {
    const strip = divFloor(position, stripSizeBytes);
    const row = divFloor(strip, dataStrips);
    const dataIndex = strip - row * dataStrips;
    const inStripBytes = position - strip * stripSizeBytes;
    const length = Math.min(stripSizeBytes - inStripBytes, endBytes - position);
    strips.push({
      chunkIndex: rotation.dataChunk(row, dataIndex), chunkOffsetBytes: row * stripSizeBytes + inStripBytes, lengthBytes: length,
      volumeOffsetBytes: position, row, parityChunkIndex: rotation.parityChunk(row), dataIndex,
    });
    position += length;
  }
  return strips;
}

/** The strips of a request grouped by row, in order (the map gives them ascending). */
export function stripsByRow<T extends { row: number }>(strips: readonly T[]): T[][] {
  const rows: T[][] = [];
  for (const strip of strips) {
    const last = rows.at(-1);
    if (last !== undefined && last[0]!.row === strip.row) last.push(strip);
    else rows.push([strip]);
  }
  return rows;
}
