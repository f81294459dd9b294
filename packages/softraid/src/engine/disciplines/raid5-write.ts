// The RAID 5 write path: per row, keep parity exact with the fewest reads,
// whatever chunk is missing, so that a later rebuild is exact.
import { assert } from '@openbsd38/libutil/assert.js';
import { stripsByRow } from './striped-map.js';
import { allocParityBuffer, freeParityBuffer, xorMany } from '../parity/index.js';
import { raid5DataChunk, raid5Map, type Raid5Geometry, type Raid5Strip } from './raid5-layout.js';
import { ChunkRuns, settleAll, unavailable } from './sub-io.js';
import type { ChunkIo, PartialParityEntry, WriteHooks } from './discipline.js';

/**
 * How a column segment of a row gets its new parity:
 * - 'rmw'  read-modify-write: parity ^= old data ^ new data of the touched strips;
 * - 'rcw'  reconstruct-write: parity = XOR of new data and the untouched strips' data
 *          (a whole row written is the case with nothing to read);
 * - 'data-only' the parity chunk is offline: only data is written.
 */
type ParityMode = 'rmw' | 'rcw' | 'data-only';

/** A range of in-strip offsets over which the same data strips of a row are written. */
interface Segment {
  startInStripBytes: number;
  endInStripBytes: number;
  touched: Raid5Strip[];
  mode: ParityMode;
}

interface RowPlan {
  row: number;
  parityChunkIndex: number;
  segments: Segment[];
  /** Parity over [spanStart, spanEnd) of the strip; views per segment. */
  spanStartInStripBytes: number;
  parity: Uint8Array;
  /** Per segment: buffers read from chunks to XOR into the parity view. */
  xorSources: Uint8Array[][];
  /** Per segment: a chunk read lands straight in the parity view (old parity, or an untouched strip). */
  parityPrefilled: boolean[];
  /** Per segment, after computeParity: the XOR of the unmodified strips (null when every strip is modified or parity is not written). */
  partialParity: (Uint8Array | null)[];
}

/**
 * Writes `data` at volume `offsetBytes`. Every row is planned before any
 * I/O starts (an impossible row fails the request with nothing written),
 * then all reads run, parity is computed, and all writes run:
 * 1. parity chunk offline                  -> write the data only;
 * 2. a touched data chunk cannot be read   -> reconstruct-write from the other data strips;
 * 3. an untouched data chunk cannot be read-> read-modify-write (it is not needed);
 * 4. every chunk readable                  -> whichever of read-modify-write and
 *                                             reconstruct-write reads fewer strips
 *                                             (a whole row reads nothing).
 * A rebuilding chunk cannot be read but is written: its data and parity are
 * kept exact in every range, rebuilt or not.
 */
export async function raid5Write(io: ChunkIo, geometry: Raid5Geometry, offsetBytes: number, data: Uint8Array, hooks: WriteHooks = {}): Promise<void> {
  const strips = raid5Map(offsetBytes, data.length, geometry);
  // Parity and the strips read for it live in the parity arena (the XOR runs
  // in place there); all of them go back when every sub-I/O has settled.
  const scratch: Uint8Array[] = [];
  try {
    const reads = new ChunkRuns();
    const plans: RowPlan[] = stripsByRow(strips).map((row) => planRow(io, geometry, row, reads, scratch));
    await settleAll(reads.operations(io, 'read'));

    const stripSizeBytes = geometry.stripSizeBytes;
    for (const plan of plans) computeParity(plan, offsetBytes, data, stripSizeBytes);
    if (hooks.beforeWrites) await hooks.beforeWrites(partialParityEntries(io, plans, stripSizeBytes));

    // Row by row, so that each chunk's pieces come in chunk-offset order and
    // a chunk's data and parity strips of consecutive rows make one writev.
    const writes = new ChunkRuns();
    let next = 0;
    for (const plan of plans) {
      if (io.isWritable(plan.parityChunkIndex)) {
        for (const run of parityRuns(plan)) {
          writes.add(plan.parityChunkIndex, plan.row * stripSizeBytes + run.startInStripBytes,
            plan.parity.subarray(run.startInStripBytes - plan.spanStartInStripBytes, run.endInStripBytes - plan.spanStartInStripBytes));
        }
      }
      for (; next < strips.length && strips[next]!.row === plan.row; next++) {
        const strip = strips[next]!;
        if (io.isWritable(strip.chunkIndex)) writes.add(strip.chunkIndex, strip.chunkOffsetBytes, newDataOf(strip, offsetBytes, data, 0, strip.lengthBytes));
      }
    }
    await settleAll(writes.operations(io, 'write'));
  } finally {
    for (const buffer of scratch) freeParityBuffer(buffer);
  }
}

function planRow(io: ChunkIo, geometry: Raid5Geometry, rowStrips: Raid5Strip[], reads: ChunkRuns, scratch: Uint8Array[]): RowPlan {
  const { chunkCount, stripSizeBytes, layout } = geometry;
  const dataChunks = chunkCount - 1;
  const row = rowStrips[0]!.row;
  const parityChunkIndex = rowStrips[0]!.parityChunkIndex;
  const rowBaseBytes = row * stripSizeBytes;
  const unreadableDataIndexes: number[] = [];
  for (let k = 0; k < dataChunks; k++) {
    if (!io.isReadable(raid5DataChunk(row, k, chunkCount, layout))) unreadableDataIndexes.push(k);
  }
  const parityReadable = io.isReadable(parityChunkIndex);
  if (unreadableDataIndexes.length + (parityReadable ? 0 : 1) > 1) {
    unavailable(`RAID 5: two chunks of row ${row} are offline, cannot write volume byte ${rowStrips[0]!.volumeOffsetBytes}`);
  }

  const segments = rowSegments(rowStrips, stripSizeBytes, dataChunks).map((segment) => ({
    ...segment, mode: chooseMode(io, parityChunkIndex, parityReadable, unreadableDataIndexes, segment.touched, dataChunks),
  }));
  const spanStart = segments[0]!.startInStripBytes;
  const spanEnd = segments.at(-1)!.endInStripBytes;
  const parity = arenaBuffer(spanEnd - spanStart, scratch);
  const xorSources: Uint8Array[][] = [];
  const parityPrefilled: boolean[] = [];
  for (const segment of segments) {
    const lengthBytes = segment.endInStripBytes - segment.startInStripBytes;
    const parityView = parity.subarray(segment.startInStripBytes - spanStart, segment.endInStripBytes - spanStart);
    const chunkOffsetBytes = rowBaseBytes + segment.startInStripBytes;
    const sources: Uint8Array[] = [];
    xorSources.push(sources);
    parityPrefilled.push(segment.mode === 'rmw' || (segment.mode === 'rcw' && segment.touched.length < dataChunks));
    if (segment.mode === 'rmw') {
      reads.add(parityChunkIndex, chunkOffsetBytes, parityView);
      for (const strip of segment.touched) {
        const old = arenaBuffer(lengthBytes, scratch);
        reads.add(strip.chunkIndex, chunkOffsetBytes, old);
        sources.push(old);
      }
    } else if (segment.mode === 'rcw') {
      const touchedIndexes = new Set(segment.touched.map((s) => s.dataIndex));
      let intoParity = true;
      for (let k = 0; k < dataChunks; k++) {
        if (touchedIndexes.has(k)) continue;
        const into = intoParity ? parityView : arenaBuffer(lengthBytes, scratch);
        reads.add(raid5DataChunk(row, k, chunkCount, layout), chunkOffsetBytes, into);
        if (!intoParity) sources.push(into);
        intoParity = false;
      }
    }
  }
  return { row, parityChunkIndex, segments, spanStartInStripBytes: spanStart, parity, xorSources, parityPrefilled, partialParity: [] };
}

function arenaBuffer(lengthBytes: number, scratch: Uint8Array[]): Uint8Array {
  const buffer = allocParityBuffer(lengthBytes);
  scratch.push(buffer);
  return buffer;
}

/**
 * The row's column segments: ranges of in-strip offsets over which the same
 * data strips are written. A whole row (every strip written in full, the
 * sequential-write case) is one segment, without sorting anything.
 */
function rowSegments(rowStrips: Raid5Strip[], stripSizeBytes: number, dataChunks: number): Omit<Segment, 'mode'>[] {
  if (rowStrips.length === dataChunks && rowStrips.every((s) => s.lengthBytes === stripSizeBytes)) {
    return [{ startInStripBytes: 0, endInStripBytes: stripSizeBytes, touched: rowStrips }];
  }
  // Segment boundaries: every touched strip's start and end within the strip.
  const bounds = [...new Set(rowStrips.flatMap((s) => [inStripStart(s, stripSizeBytes), inStripStart(s, stripSizeBytes) + s.lengthBytes]))]
    .sort((a, b) => a - b);
  const segments: Omit<Segment, 'mode'>[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const start = bounds[i]!;
    const end = bounds[i + 1]!;
    const touched = rowStrips.filter((s) => inStripStart(s, stripSizeBytes) <= start && inStripStart(s, stripSizeBytes) + s.lengthBytes >= end);
    if (touched.length > 0) segments.push({ startInStripBytes: start, endInStripBytes: end, touched });
  }
  return segments;
}

/**
 * The log entries of the planned rows: one per segment that writes parity
 * and leaves a data strip unmodified. A segment modifying every data strip
 * needs none: after a crash all its strips count as being written.
 */
function partialParityEntries(io: ChunkIo, plans: readonly RowPlan[], stripSizeBytes: number): PartialParityEntry[] {
  const entries: PartialParityEntry[] = [];
  for (const plan of plans) {
    if (!io.isWritable(plan.parityChunkIndex)) continue;
    plan.segments.forEach((segment, index) => {
      const partialParity = plan.partialParity[index] ?? null;
      if (segment.mode === 'data-only' || partialParity === null) return;
      entries.push({
        parityChunkIndex: plan.parityChunkIndex,
        chunkOffsetBytes: plan.row * stripSizeBytes + segment.startInStripBytes,
        lengthBytes: segment.endInStripBytes - segment.startInStripBytes,
        modifiedChunkIndexes: segment.touched.map((strip) => strip.chunkIndex),
        partialParity,
      });
    });
  }
  return entries;
}

function chooseMode(io: ChunkIo, parityChunkIndex: number, parityReadable: boolean, unreadableDataIndexes: readonly number[],
  touched: readonly Raid5Strip[], dataChunks: number): ParityMode {
  if (!parityReadable) return io.isWritable(parityChunkIndex) ? 'rcw' : 'data-only';
  if (unreadableDataIndexes.length === 1) {
    return touched.some((s) => s.dataIndex === unreadableDataIndexes[0]) ? 'rcw' : 'rmw';
  }
  if (touched.length === dataChunks) return 'rcw';
  return touched.length + 1 <= dataChunks - touched.length ? 'rmw' : 'rcw';
}

/**
 * After the reads: turns the plan's parity buffer into the new parity, one
 * multi-source XOR per step (the parity and the strips read are in the
 * arena; only the caller's new data is staged into the kernel).
 */
function computeParity(plan: RowPlan, offsetBytes: number, data: Uint8Array, stripSizeBytes: number): void {
  plan.segments.forEach((segment, index) => {
    if (segment.mode === 'data-only') return;
    const parityView = plan.parity.subarray(segment.startInStripBytes - plan.spanStartInStripBytes,
      segment.endInStripBytes - plan.spanStartInStripBytes);
    const sources = plan.xorSources[index]!;
    const newData = segment.touched.map((strip) =>
      newDataOf(strip, offsetBytes, data, segment.startInStripBytes - inStripStart(strip, stripSizeBytes), parityView.length));
    if (!plan.parityPrefilled[index]!) {
      // A whole column written: parity is the XOR of the new data alone.
      assert(sources.length === 0, 'raid5: strips read for a column written whole');
      plan.partialParity[index] = null;
      xorMany(parityView, newData);
      return;
    }
    // Before the new data goes in, the buffer holds the XOR of the unmodified strips (read, or old parity ^ old data).
    if (sources.length > 0) xorMany(parityView, [parityView, ...sources]);
    plan.partialParity[index] = parityView.slice();
    xorMany(parityView, [parityView, ...newData]);
  });
}

/** Maximal runs of adjacent segments that carry parity (gaps keep their old parity). */
function parityRuns(plan: RowPlan): { startInStripBytes: number; endInStripBytes: number }[] {
  const runs: { startInStripBytes: number; endInStripBytes: number }[] = [];
  for (const segment of plan.segments) {
    if (segment.mode === 'data-only') continue;
    const last = runs.at(-1);
    if (last && last.endInStripBytes === segment.startInStripBytes) last.endInStripBytes = segment.endInStripBytes;
    else runs.push({ startInStripBytes: segment.startInStripBytes, endInStripBytes: segment.endInStripBytes });
  }
  return runs;
}

function inStripStart(strip: Raid5Strip, stripSizeBytes: number): number {
  return strip.chunkOffsetBytes - strip.row * stripSizeBytes;
}

/** The caller's bytes for part of a strip: a view, never a copy. */
function newDataOf(strip: Raid5Strip, offsetBytes: number, data: Uint8Array, fromInStripPieceBytes: number, lengthBytes: number): Uint8Array {
  const start = strip.volumeOffsetBytes - offsetBytes + fromInStripPieceBytes;
  assert(start >= 0 && start + lengthBytes <= data.length, 'raid5: new data view out of range');
  return data.subarray(start, start + lengthBytes);
}
