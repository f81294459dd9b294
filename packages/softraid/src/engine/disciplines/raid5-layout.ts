// RAID 5 address math: pure functions, no I/O.
import { assertNever } from '@openbsd38/libutil/assert.js';
import type { Raid5Layout } from '@openbsd38/bio/levels.js';
import { mapOntoDataStrips, type StripedDataStrip } from './striped-map.js';

export interface Raid5Geometry {
  chunkCount: number;
  stripSizeBytes: number;
  layout: Raid5Layout;
}

/** One strip-sized-or-smaller piece of a request on a data chunk. */
export type Raid5Strip = StripedDataStrip;

/**
 * n chunks, d = n - 1 data strips per row, strip size S. For volume byte o:
 * strip = floor(o / S), row = floor(strip / d), k = strip mod d,
 * parity chunk p = d - (row mod n) (both layouts: row 0 on the last chunk,
 * moving left and wrapping), chunk offset = row * S + o mod S.
 *
 * left-asymmetric (OpenBSD softraid, md layout 0): data chunk = k, plus 1
 * when k >= p. n = 4:
 *
 *   row   chunk 0  chunk 1  chunk 2  chunk 3
 *    0     D0       D1       D2       P
 *    1     D3       D4       P        D5
 *    2     D6       P        D7       D8
 *    3     P        D9       D10      D11
 *
 * left-symmetric (Linux md's default, layout 2): data chunk = (p + 1 + k)
 * mod n, so data starts right after the parity and wraps. n = 4:
 *
 *   row   chunk 0  chunk 1  chunk 2  chunk 3
 *    0     D0       D1       D2       P
 *    1     D4       D5       P        D3
 *    2     D8       P        D6       D7
 *    3     P        D9       D10      D11
 */
export function raid5ParityChunk(row: number, chunkCount: number): number {
  return chunkCount - 1 - (row % chunkCount);
}

export function raid5DataChunk(row: number, dataIndex: number, chunkCount: number, layout: Raid5Layout): number {
  const parity = raid5ParityChunk(row, chunkCount);
  switch (layout) {
    case 'left-asymmetric': return dataIndex >= parity ? dataIndex + 1 : dataIndex;
    case 'left-symmetric': return (parity + 1 + dataIndex) % chunkCount;
    default: return assertNever(layout, 'unknown RAID 5 layout');
  }
}

/** Which data strip of the row (0 .. d-1) a chunk holds: raid5DataChunk inverted; null for the parity chunk. */
export function raid5DataIndex(row: number, chunkIndex: number, chunkCount: number, layout: Raid5Layout): number | null {
  const parity = raid5ParityChunk(row, chunkCount);
  if (chunkIndex === parity) return null;
  return layout === 'left-asymmetric' ? (chunkIndex > parity ? chunkIndex - 1 : chunkIndex)
    : (chunkIndex - parity - 1 + chunkCount) % chunkCount;
}

/** Splits a volume range at strip boundaries onto data chunks. */
export function raid5Map(offsetBytes: number, lengthBytes: number, geometry: Raid5Geometry): Raid5Strip[] {
  const { chunkCount, stripSizeBytes, layout } = geometry;
  return mapOntoDataStrips(offsetBytes, lengthBytes, stripSizeBytes, chunkCount - 1, {
    dataChunk: (row, dataIndex) => raid5DataChunk(row, dataIndex, chunkCount, layout),
    parityChunk: (row) => raid5ParityChunk(row, chunkCount),
  });
}
