// RAID 6 address math: pure functions, no I/O. The rotation is Linux md's
// left-symmetric RAID 6 (layout 2, ALGORITHM_LEFT_SYMMETRIC), so that the
// chunks of a softraid RAID 6 hold the bytes md's would (docs/on-disk-format.md).
import { mapOntoDataStrips, type StripedDataStrip } from './striped-map.js';

export interface Raid6Geometry {
  chunkCount: number;
  stripSizeBytes: number;
}

/** One strip-sized-or-smaller piece of a request on a data chunk. Its Q coefficient is g^dataIndex; parityChunkIndex is P's chunk. */
export type Raid6Strip = StripedDataStrip;

/**
 * n chunks, d = n - 2 data strips per row, strip size S. For volume byte o:
 * strip = floor(o / S), row = floor(strip / d), k = strip mod d,
 * P on chunk p = n - 1 - (row mod n), Q on (p + 1) mod n, data strip k on
 * (p + 2 + k) mod n: data starts right after Q and wraps. n = 5:
 *
 *   row   chunk 0  chunk 1  chunk 2  chunk 3  chunk 4
 *    0     Q        D0       D1       D2       P
 *    1     D3       D4       D5       P        Q
 *    2     D7       D8       P        Q        D6
 *    3     D11      P        Q        D9       D10
 *    4     P        Q        D12      D13      D14
 *
 * md numbers the syndrome's sources from the chunk after Q on (raid6_d0,
 * raid6_next_disk), which is data strip 0 onwards here: Q = ⊕ g^k·D[k].
 */
export function raid6PChunk(row: number, chunkCount: number): number {
  return chunkCount - 1 - (row % chunkCount);
}

export function raid6QChunk(row: number, chunkCount: number): number {
  return (raid6PChunk(row, chunkCount) + 1) % chunkCount;
}

export function raid6DataChunk(row: number, dataIndex: number, chunkCount: number): number {
  return (raid6PChunk(row, chunkCount) + 2 + dataIndex) % chunkCount;
}

/** What a chunk holds in a row: a data strip's index, 'p' or 'q'. */
export function raid6StripOf(row: number, chunkIndex: number, chunkCount: number): number | 'p' | 'q' {
  const p = raid6PChunk(row, chunkCount);
  const position = (chunkIndex - p + chunkCount) % chunkCount;
  if (position === 0) return 'p';
  if (position === 1) return 'q';
  return position - 2;
}

/** raid6DataChunk inverted: the data strip index, null for P and Q. */
export function raid6DataIndex(row: number, chunkIndex: number, chunkCount: number): number | null {
  const strip = raid6StripOf(row, chunkIndex, chunkCount);
  return typeof strip === 'number' ? strip : null;
}

/** Splits a volume range at strip boundaries onto data chunks. */
export function raid6Map(offsetBytes: number, lengthBytes: number, geometry: Raid6Geometry): Raid6Strip[] {
  const { chunkCount, stripSizeBytes } = geometry;
  return mapOntoDataStrips(offsetBytes, lengthBytes, stripSizeBytes, chunkCount - 2, {
    dataChunk: (row, dataIndex) => raid6DataChunk(row, dataIndex, chunkCount),
    parityChunk: (row) => raid6PChunk(row, chunkCount),
  });
}
