// The RAID 6 row as the discipline works on it: one row over a range of
// in-strip offsets, its data strips (in volume order), P and Q in arena
// buffers, read from the chunks that can be read and completed by P+Q
// recovery (parity/raid6.ts) when at most two are missing.
import { allocParityBuffer, freeParityBuffer, raid6Recover, type Raid6Strip } from '../parity/index.js';
import { raid6DataChunk, raid6PChunk, raid6QChunk } from './raid6-layout.js';
import { unavailable, type ChunkRuns } from './sub-io.js';
import type { ChunkIo } from './discipline.js';

/** A row over [startInStripBytes, startInStripBytes + lengthBytes) of its strips. */
export interface RowSpan {
  row: number;
  startInStripBytes: number;
  lengthBytes: number;
}

export interface RowBuffers {
  span: RowSpan;
  data: Uint8Array[];
  p: Uint8Array;
  q: Uint8Array;
  /** The strips no chunk gave: outputs of complete(). */
  lost: Raid6Strip[];
}

/** Arena buffers, each pushed to `scratch` for the caller to free. */
export function arenaBuffer(lengthBytes: number, scratch: Uint8Array[]): Uint8Array {
  const buffer = allocParityBuffer(lengthBytes);
  scratch.push(buffer);
  return buffer;
}

export function freeAll(buffers: readonly Uint8Array[]): void {
  for (const buffer of buffers) freeParityBuffer(buffer);
}

/** The chunk holding a strip of the row. */
export function chunkOfStrip(row: number, strip: Raid6Strip, chunkCount: number): number {
  if (strip === 'p') return raid6PChunk(row, chunkCount);
  if (strip === 'q') return raid6QChunk(row, chunkCount);
  return raid6DataChunk(row, strip, chunkCount);
}

/** Every strip of a row: data 0 .. d-1, then P and Q. */
export function rowStrips(chunkCount: number): Raid6Strip[] {
  return [...Array.from({ length: chunkCount - 2 }, (_v, k) => k), 'p', 'q'];
}

export function allocRow(span: RowSpan, chunkCount: number, scratch: Uint8Array[]): RowBuffers {
  return {
    span,
    data: Array.from({ length: chunkCount - 2 }, () => arenaBuffer(span.lengthBytes, scratch)),
    p: arenaBuffer(span.lengthBytes, scratch),
    q: arenaBuffer(span.lengthBytes, scratch),
    lost: [],
  };
}

export function bufferOf(row: RowBuffers, strip: Raid6Strip): Uint8Array {
  if (strip === 'p') return row.p;
  if (strip === 'q') return row.q;
  return row.data[strip]!;
}

/**
 * Plans the reads that give a whole row span: every strip whose chunk is
 * readable and not in `skip` is read (added to `runs`), the others are
 * lost. More than two lost: the volume cannot serve it (`what` says what).
 */
export function planRowRead(io: ChunkIo, span: RowSpan, stripSizeBytes: number, skip: ReadonlySet<number>,
  runs: ChunkRuns, scratch: Uint8Array[], what: string): RowBuffers {
  const buffers = allocRow(span, io.chunkCount, scratch);
  const chunkOffsetBytes = span.row * stripSizeBytes + span.startInStripBytes;
  const planned: { chunkIndex: number; buffer: Uint8Array }[] = [];
  for (const strip of rowStrips(io.chunkCount)) {
    const chunkIndex = chunkOfStrip(span.row, strip, io.chunkCount);
    if (skip.has(chunkIndex) || !io.isReadable(chunkIndex)) buffers.lost.push(strip);
    else planned.push({ chunkIndex, buffer: bufferOf(buffers, strip) });
  }
  assertRecoverable(buffers.lost, span.row, io.chunkCount, what);
  // In chunk order, so that consecutive rows on one chunk merge into one vectored read.
  planned.sort((a, b) => a.chunkIndex - b.chunkIndex);
  for (const { chunkIndex, buffer } of planned) runs.add(chunkIndex, chunkOffsetBytes, buffer);
  return buffers;
}

export function assertRecoverable(lost: readonly Raid6Strip[], row: number, chunkCount: number, what: string): void {
  if (lost.length > 2) {
    const chunks = lost.map((strip) => chunkOfStrip(row, strip, chunkCount)).sort((a, b) => a - b);
    unavailable(`RAID 6: chunks ${chunks.join(', ')} of row ${row} are offline, cannot ${what}`);
  }
}

/** After the reads: regenerates the lost strips in place. */
export function complete(buffers: RowBuffers): void {
  if (buffers.lost.length > 0) raid6Recover(buffers.data, buffers.p, buffers.q, buffers.lost);
}

/**
 * After the reads, for a caller that wants only the data strips (a read):
 * regenerates the lost data strips, and P only where Q must regenerate a
 * data strip. A lost Q beside one lost data strip is not recomputed (that
 * strip comes from P alone), nor is a lost parity strip with no data lost.
 */
export function completeData(buffers: RowBuffers): void {
  const lostData = buffers.lost.filter((strip) => typeof strip === 'number');
  if (lostData.length === 0) return;
  const needed = lostData.length === 1 && buffers.lost.includes('p') ? buffers.lost : lostData;
  raid6Recover(buffers.data, buffers.p, buffers.q, needed);
}
