// The RAID 6 write path: per row, P and Q kept exact whatever (up to two)
// chunks are missing, so that a later rebuild of one or two is exact.
import { assert } from '@openbsd38/libutil/assert.js';
import { stripsByRow } from './striped-map.js';
import { copyBytes, zeroBytes } from '@openbsd38/libutil/copy-bytes.js';
import { raid6Syndrome } from '../parity/index.js';
import { raid6Map, raid6PChunk, raid6QChunk, type Raid6Geometry, type Raid6Strip } from './raid6-layout.js';
import { allocRow, arenaBuffer, assertRecoverable, bufferOf, chunkOfStrip, complete, freeAll, rowStrips, type RowBuffers } from './raid6-rows.js';
import { ChunkRuns, settleAll } from './sub-io.js';
import type { ChunkIo, PartialParityEntry, WriteHooks } from './discipline.js';

interface RowPlan {
  buffers: RowBuffers;
  touched: Raid6Strip[];
}

function inStripStart(strip: Raid6Strip, stripSizeBytes: number): number {
  return strip.chunkOffsetBytes - strip.row * stripSizeBytes;
}

/**
 * Writes `data` at volume `offsetBytes`. Every row is planned before any
 * I/O starts (a row with more than two chunks missing fails the request with
 * nothing written), then all reads run, P and Q are computed, the partial
 * parity log hook runs, and all writes run. Per row, over the in-strip span
 * the request touches:
 * 1. every data strip written over the whole span (a whole row): nothing read;
 * 2. a data strip that is neither written over the whole span nor readable:
 *    the old row is read in full and its missing strips regenerated from P
 *    and Q, then the new data goes in (reconstruct, then write);
 * 3. otherwise: the data strips not written over the whole span are read
 *    (reconstruct-write: P and Q are computed from the full new row).
 * A rebuilding chunk cannot be read but is written: its data, P and Q stay
 * exact in every range, rebuilt or not.
 */
export async function raid6Write(io: ChunkIo, geometry: Raid6Geometry, offsetBytes: number, data: Uint8Array, hooks: WriteHooks = {}): Promise<void> {
  const { chunkCount, stripSizeBytes } = geometry;
  const strips = raid6Map(offsetBytes, data.length, geometry);
  const scratch: Uint8Array[] = [];
  try {
    const reads = new ChunkRuns();
    const plans: RowPlan[] = stripsByRow(strips).map((row) => planRow(io, geometry, row, reads, scratch));
    await settleAll(reads.operations(io, 'read'));

    const entries: PartialParityEntry[] = [];
    for (const plan of plans) {
      complete(plan.buffers);
      if (hooks.beforeWrites) entries.push(...partialParityEntries(io, geometry, plan, scratch));
      const { span } = plan.buffers;
      for (const strip of plan.touched) {
        const at = inStripStart(strip, stripSizeBytes) - span.startInStripBytes;
        copyBytes(plan.buffers.data[strip.dataIndex]!.subarray(at, at + strip.lengthBytes), newDataOf(strip, offsetBytes, data));
      }
      raid6Syndrome(plan.buffers.p, plan.buffers.q, plan.buffers.data);
    }
    if (hooks.beforeWrites) await hooks.beforeWrites(entries);

    const writes = new ChunkRuns();
    for (const plan of plans) {
      const { row, startInStripBytes } = plan.buffers.span;
      const chunkOffsetBytes = row * stripSizeBytes + startInStripBytes;
      const p = raid6PChunk(row, chunkCount);
      const q = raid6QChunk(row, chunkCount);
      if (io.isWritable(p)) writes.add(p, chunkOffsetBytes, plan.buffers.p);
      if (io.isWritable(q)) writes.add(q, chunkOffsetBytes, plan.buffers.q);
      for (const strip of plan.touched) {
        if (io.isWritable(strip.chunkIndex)) writes.add(strip.chunkIndex, strip.chunkOffsetBytes, newDataOf(strip, offsetBytes, data));
      }
    }
    await settleAll(writes.operations(io, 'write'));
  } finally {
    freeAll(scratch);
  }
}

function planRow(io: ChunkIo, geometry: Raid6Geometry, touched: Raid6Strip[], reads: ChunkRuns, scratch: Uint8Array[]): RowPlan {
  const { chunkCount, stripSizeBytes } = geometry;
  const row = touched[0]!.row;
  const startInStripBytes = Math.min(...touched.map((strip) => inStripStart(strip, stripSizeBytes)));
  const endInStripBytes = Math.max(...touched.map((strip) => inStripStart(strip, stripSizeBytes) + strip.lengthBytes));
  const span = { row, startInStripBytes, lengthBytes: endInStripBytes - startInStripBytes };
  const covered = new Set(touched.filter((strip) => strip.lengthBytes === span.lengthBytes).map((strip) => strip.dataIndex));
  const unreadable = rowStrips(chunkCount).filter((strip) => !io.isReadable(chunkOfStrip(row, strip, chunkCount)));
  assertRecoverable(unreadable, row, chunkCount, `write volume byte ${touched[0]!.volumeOffsetBytes}`);
  const buffers = allocRow(span, chunkCount, scratch);
  const reconstruct = unreadable.some((strip) => typeof strip === 'number' && !covered.has(strip));
  const chunkOffsetBytes = row * stripSizeBytes + startInStripBytes;
  for (const strip of rowStrips(chunkCount)) {
    const chunkIndex = chunkOfStrip(row, strip, chunkCount);
    const needed = reconstruct || (typeof strip === 'number' && !covered.has(strip));
    if (!needed) continue;
    if (unreadable.includes(strip)) buffers.lost.push(strip);
    else reads.add(chunkIndex, chunkOffsetBytes, bufferOf(buffers, strip));
  }
  // Without reconstruction, P and Q are outputs and the lost list names data strips written whole: nothing to regenerate.
  if (!reconstruct) buffers.lost = [];
  return { buffers, touched };
}

/**
 * Before the new data goes in (the buffers hold the row as the chunks do):
 * the log entries of the row, one per column segment that leaves a data
 * strip unmodified, for P's chunk and for Q's: the partial P (XOR of the
 * unmodified strips) and partial Q (their g^k-weighted sum). A segment
 * modifying every data strip needs none.
 */
function partialParityEntries(io: ChunkIo, geometry: Raid6Geometry, plan: RowPlan, scratch: Uint8Array[]): PartialParityEntry[] {
  const { chunkCount, stripSizeBytes } = geometry;
  const { span } = plan.buffers;
  const p = raid6PChunk(span.row, chunkCount);
  const q = raid6QChunk(span.row, chunkCount);
  if (!io.isWritable(p) && !io.isWritable(q)) return [];
  const dataStrips = chunkCount - 2;
  const bounds = [...new Set([0, span.lengthBytes, ...plan.touched.flatMap((strip) => {
    const at = inStripStart(strip, stripSizeBytes) - span.startInStripBytes;
    return [at, at + strip.lengthBytes];
  })])].sort((a, b) => a - b);
  const segments: { start: number; end: number; modified: Raid6Strip[] }[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const start = bounds[i]!;
    const end = bounds[i + 1]!;
    const modified = plan.touched.filter((strip) => {
      const at = inStripStart(strip, stripSizeBytes) - span.startInStripBytes;
      return at <= start && at + strip.lengthBytes >= end;
    });
    if (modified.length > 0 && modified.length < dataStrips) segments.push({ start, end, modified });
  }
  if (segments.length === 0) return [];
  // Partial syndromes over the span: the row with the written ranges zeroed.
  const unmodified = plan.buffers.data.map((strip) => {
    const copy = arenaBuffer(strip.length, scratch);
    copyBytes(copy, strip);
    return copy;
  });
  for (const strip of plan.touched) {
    const at = inStripStart(strip, stripSizeBytes) - span.startInStripBytes;
    zeroBytes(unmodified[strip.dataIndex]!, at, at + strip.lengthBytes);
  }
  const partialP = arenaBuffer(span.lengthBytes, scratch);
  const partialQ = arenaBuffer(span.lengthBytes, scratch);
  raid6Syndrome(partialP, partialQ, unmodified);
  const entries: PartialParityEntry[] = [];
  for (const segment of segments) {
    const base = {
      chunkOffsetBytes: span.row * stripSizeBytes + span.startInStripBytes + segment.start,
      lengthBytes: segment.end - segment.start,
      modifiedChunkIndexes: segment.modified.map((strip) => strip.chunkIndex),
    };
    if (io.isWritable(p)) entries.push({ ...base, parityChunkIndex: p, partialParity: partialP.slice(segment.start, segment.end) });
    if (io.isWritable(q)) entries.push({ ...base, parityChunkIndex: q, partialParity: partialQ.slice(segment.start, segment.end) });
  }
  return entries;
}

/** The caller's bytes for a strip piece: a view, never a copy. */
function newDataOf(strip: Raid6Strip, offsetBytes: number, data: Uint8Array): Uint8Array {
  const start = strip.volumeOffsetBytes - offsetBytes;
  assert(start >= 0 && start + strip.lengthBytes <= data.length, 'raid6: new data view out of range');
  return data.subarray(start, start + strip.lengthBytes);
}
