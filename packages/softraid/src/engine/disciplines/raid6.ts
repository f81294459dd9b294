// RAID 6: rotating P and Q over GF(2^8)/0x11D (Linux md's algebra and its
// left-symmetric rotation), surviving any two missing chunks. The address
// math is in raid6-layout.ts, the row buffers in raid6-rows.ts, the write
// path in raid6-write.ts, the scrub rules in raid6-scrub.ts.
import { assert } from '@openbsd38/libutil/assert.js';
import { copyBytes } from '@openbsd38/libutil/copy-bytes.js';
import { divCeil, divFloor } from '@openbsd38/libutil/units.js';
import { levelTable } from '@openbsd38/bio/levels.js';
import { gfMultiplyRow, gfPowGenerator } from '../parity/gf256.js';
import { raid6Recover, raid6Syndrome, type Raid6Strip } from '../parity/index.js';
import { assertStriped } from './geometry.js';
import { raid6DataIndex, raid6Map, raid6PChunk, raid6QChunk, raid6StripOf, type Raid6Geometry, type Raid6Strip as Raid6MappedStrip } from './raid6-layout.js';
import { allocRow, bufferOf, chunkOfStrip, complete, completeData, freeAll, planRowRead, rowStrips, type RowBuffers, type RowSpan } from './raid6-rows.js';
import { raid6Scrub } from './raid6-scrub.js';
import { raid6Write } from './raid6-write.js';
import { stripedVolumeRanges } from './striped-inverse.js';
import { ChunkRuns, settleAll } from './sub-io.js';
import type { ByteRange, ChunkIo, Discipline, Geometry, PartialParityEntry } from './discipline.js';

export { raid6Map, raid6PChunk, raid6QChunk, raid6DataChunk, raid6DataIndex, raid6StripOf } from './raid6-layout.js';

function rowBytesOf(geometry: Geometry): number {
  return geometry.stripSizeBytes * (geometry.chunkCount - 2);
}

function raid6GeometryOf(geometry: Geometry): Raid6Geometry {
  return { chunkCount: geometry.chunkCount, stripSizeBytes: geometry.stripSizeBytes };
}

/** The row spans a chunk range covers: [chunkOffsetBytes, +lengthBytes) cut at strip boundaries. */
function spansOf(g: Geometry, chunkOffsetBytes: number, lengthBytes: number): RowSpan[] {
  const spans: RowSpan[] = [];
  const end = chunkOffsetBytes + lengthBytes;
  for (let position = chunkOffsetBytes; position < end;) {
    const row = divFloor(position, g.stripSizeBytes);
    const startInStripBytes = position - row * g.stripSizeBytes;
    const length = Math.min(g.stripSizeBytes - startInStripBytes, end - position);
    spans.push({ row, startInStripBytes, lengthBytes: length });
    position += length;
  }
  return spans;
}

function wholeRows(g: Geometry, offsetBytes: number, lengthBytes: number): ByteRange {
  const rowBytes = rowBytesOf(g);
  const first = divFloor(offsetBytes, rowBytes);
  const end = Math.max(first + 1, divCeil(offsetBytes + lengthBytes, rowBytes));
  return { offsetBytes: first * rowBytes, lengthBytes: (end - first) * rowBytes };
}

/**
 * Reads the spans of every chunk but those in `skip`, regenerating what is
 * missing; returns the completed rows. The caller frees `scratch`.
 */
async function readRows(io: ChunkIo, g: Geometry, spans: readonly RowSpan[], skip: ReadonlySet<number>, scratch: Uint8Array[], what: string): Promise<RowBuffers[]> {
  const runs = new ChunkRuns();
  const rows = spans.map((span) => planRowRead(io, span, g.stripSizeBytes, skip, runs, scratch, what));
  await settleAll(runs.operations(io, 'read'));
  for (const row of rows) complete(row);
  return rows;
}

export const raid6: Discipline = {
  level: 'raid6',
  capabilities: { redundant: true, rebuild: true, nonCoerced: false, encrypted: false },
  validate(geometry: Geometry): void {
    assert(geometry.level === 'raid6', 'raid6: wrong level');
    assert(geometry.layout === 'left-symmetric', `raid6: bad layout ${geometry.layout}`);
    assertStriped(geometry, levelTable.raid6.minimumChunks);
    assert(geometry.chunkCount - 2 <= 255, 'raid6: more than 255 data strips per row');
  },
  volumeSizeBytes: (g) => divFloor(g.chunkDataSizeBytes, g.stripSizeBytes) * rowBytesOf(g),
  chunkUsedBytes: (g) => divFloor(g.chunkDataSizeBytes, g.stripSizeBytes) * g.stripSizeBytes,
  preferredBlockSizeBytes: (g) => rowBytesOf(g),
  rowBytes: (g) => rowBytesOf(g),
  scrub: raid6Scrub,

  /** Whole rows, as RAID 5: a write may change every strip, P and Q of each row it reaches. */
  lockRange: wholeRows,

  volumeRangesOnChunk(g, chunkIndex, chunkOffsetBytes, lengthBytes) {
    return stripedVolumeRanges({
      chunkCount: g.chunkCount, stripSizeBytes: g.stripSizeBytes, dataStrips: g.chunkCount - 2,
      dataIndexOf: (row, index) => raid6DataIndex(row, index, g.chunkCount),
    }, chunkIndex, chunkOffsetBytes, lengthBytes);
  },

  /**
   * Data chunks readable: straight into the caller's buffer. A strip on a
   * chunk that cannot be read: its row's span is read from every chunk that
   * can (at most two missing) into arena buffers and regenerated from P
   * and/or Q; the row's readable strips the request wants within that span
   * are copied out of those buffers rather than read a second time (a copy
   * costs less than a member read, and the recovery kernels run only on
   * arena buffers).
   */
  async read(io, g, offsetBytes, into) {
    const strips = raid6Map(offsetBytes, into.length, raid6GeometryOf(g));
    const inStrip = (strip: Raid6MappedStrip): number => strip.chunkOffsetBytes - strip.row * g.stripSizeBytes;
    // One span per row with a missing strip: the union of its missing strips' in-strip ranges.
    const spans: RowSpan[] = [];
    for (const strip of strips) {
      if (io.isReadable(strip.chunkIndex)) continue;
      const at = inStrip(strip);
      const last = spans.at(-1);
      if (last?.row === strip.row) {
        const end = Math.max(last.startInStripBytes + last.lengthBytes, at + strip.lengthBytes);
        last.startInStripBytes = Math.min(last.startInStripBytes, at);
        last.lengthBytes = end - last.startInStripBytes;
      } else {
        spans.push({ row: strip.row, startInStripBytes: at, lengthBytes: strip.lengthBytes });
      }
    }
    const spanOf = (strip: Raid6MappedStrip): RowSpan | undefined => {
      const span = spans.find((candidate) => candidate.row === strip.row);
      const at = inStrip(strip);
      return span !== undefined && at >= span.startInStripBytes && at + strip.lengthBytes <= span.startInStripBytes + span.lengthBytes
        ? span : undefined;
    };
    const runs = new ChunkRuns();
    const fromRows = strips.filter((strip) => spanOf(strip) !== undefined);
    for (const strip of strips) {
      if (spanOf(strip) !== undefined) continue;
      const start = strip.volumeOffsetBytes - offsetBytes;
      runs.add(strip.chunkIndex, strip.chunkOffsetBytes, into.subarray(start, start + strip.lengthBytes));
    }
    const scratch: Uint8Array[] = [];
    try {
      const rows = spans.map((span) => planRowRead(io, span, g.stripSizeBytes, new Set(), runs, scratch, `read volume byte ${offsetBytes}`));
      await settleAll(runs.operations(io, 'read'));
      for (const row of rows) completeData(row);
      for (const strip of fromRows) {
        const row = rows.find((candidate) => candidate.span.row === strip.row)!;
        const at = inStrip(strip) - row.span.startInStripBytes;
        const start = strip.volumeOffsetBytes - offsetBytes;
        copyBytes(into.subarray(start, start + strip.lengthBytes), row.data[strip.dataIndex]!.subarray(at, at + strip.lengthBytes));
      }
    } finally {
      freeAll(scratch);
    }
  },

  write: (io, g, offsetBytes, data, hooks) => raid6Write(io, raid6GeometryOf(g), offsetBytes, data, hooks),

  chunkRangeOf(g, offsetBytes, lengthBytes) {
    const range = wholeRows(g, offsetBytes, lengthBytes);
    const rowBytes = rowBytesOf(g);
    return { offsetBytes: (range.offsetBytes / rowBytes) * g.stripSizeBytes, lengthBytes: (range.lengthBytes / rowBytes) * g.stripSizeBytes };
  },

  /**
   * P and Q := the syndrome of the data strips, over the range, written
   * where they can be. With one data strip missing it is first regenerated
   * from P (from Q when P is missing too): a crash can leave a whole-row
   * write with P and Q torn apart, which no log record covers (every strip
   * was being written), and a row whose P and Q disagree would regenerate
   * its missing strips differently depending on which is used. With two data
   * strips missing there is nothing to recompute from: the partial parity log
   * made the partial writes' rows consistent at assembly.
   */
  async resyncPiece(io, g, chunkOffsetBytes, lengthBytes) {
    const n = g.chunkCount;
    for (const span of spansOf(g, chunkOffsetBytes, lengthBytes)) {
      const p = raid6PChunk(span.row, n);
      const q = raid6QChunk(span.row, n);
      const unreadable = rowStrips(n).filter((strip) => !io.isReadable(chunkOfStrip(span.row, strip, n)));
      const dataMissing = unreadable.filter((strip) => typeof strip === 'number').length;
      if (dataMissing > 1 || unreadable.length > 2 || (!io.isWritable(p) && !io.isWritable(q))) continue;
      const scratch: Uint8Array[] = [];
      try {
        const [row] = await readRows(io, g, [span], new Set(), scratch, 'resync');
        raid6Syndrome(row!.p, row!.q, row!.data);
        const at = span.row * g.stripSizeBytes + span.startInStripBytes;
        // A parity chunk may have failed meanwhile: then there is nothing to fix there.
        await settleAll([p, q].filter((chunkIndex) => io.isWritable(chunkIndex))
          .map((chunkIndex) => io.write(chunkIndex, at, chunkIndex === p ? row!.p : row!.q)));
      } finally {
        freeAll(scratch);
      }
    }
  },

  rebuildLockRange(g, chunkOffsetBytes, lengthBytes) {
    const rowBytes = rowBytesOf(g);
    const first = divFloor(chunkOffsetBytes, g.stripSizeBytes);
    const end = divCeil(chunkOffsetBytes + lengthBytes, g.stripSizeBytes);
    return { offsetBytes: first * rowBytes, lengthBytes: (end - first) * rowBytes };
  },

  /**
   * The chunk's range, whether data, P or Q, regenerated from the chunks
   * that can be read (the others, at most one more, regenerated with it).
   */
  async rebuildPiece(io, g, chunkIndex, chunkOffsetBytes, lengthBytes) {
    const scratch: Uint8Array[] = [];
    try {
      const spans = spansOf(g, chunkOffsetBytes, lengthBytes);
      const rows = await readRows(io, g, spans, new Set([chunkIndex]), scratch, `rebuild chunk ${chunkIndex}`);
      const target = rows.map((row) => bufferOf(row, raid6StripOf(row.span.row, chunkIndex, g.chunkCount)));
      if (target.length === 1) await io.write(chunkIndex, chunkOffsetBytes, target[0]!);
      else await io.writev(chunkIndex, chunkOffsetBytes, target);
    } finally {
      freeAll(scratch);
    }
  },

  replayPartialParity: replayRecord,
};

/**
 * After a crash, one partial parity log record (for P's chunk or for Q's):
 * 1. every modified strip readable: that parity := its partial parity ⊕ the
 *    modified strips as they are now (weighted by g^k for Q), which is right
 *    for the unmodified strips whatever happened to the modified ones;
 * 2. a modified strip missing (the volume was degraded): an unmodified strip
 *    missing too is regenerated from the partial parity, the modified ones
 *    from P and Q as they are, and both parities rewritten from the result,
 *    so that the unmodified strips read back right. The cut write's own strip
 *    on the missing chunk may read back as neither its old nor its new data
 *    (as md's PPL, docs/RELIABILITY.md).
 * False when it cannot.
 */
async function replayRecord(io: ChunkIo, g: Geometry, record: PartialParityEntry): Promise<boolean> {
  const n = g.chunkCount;
  const row = divFloor(record.chunkOffsetBytes, g.stripSizeBytes);
  const startInStripBytes = record.chunkOffsetBytes - row * g.stripSizeBytes;
  if (startInStripBytes + record.lengthBytes > g.stripSizeBytes) return false;
  const kind = raid6StripOf(row, record.parityChunkIndex, n);
  if (kind !== 'p' && kind !== 'q') return false;
  const modified = new Set<number>();
  for (const chunkIndex of record.modifiedChunkIndexes) {
    if (chunkIndex >= n) return false;
    const strip = raid6StripOf(row, chunkIndex, n);
    if (typeof strip !== 'number') return false;
    modified.add(strip);
  }
  if (!io.isWritable(record.parityChunkIndex)) return false;
  const span: RowSpan = { row, startInStripBytes, lengthBytes: record.lengthBytes };
  const scratch: Uint8Array[] = [];
  try {
    const buffers = allocRow(span, n, scratch);
    const unreadable = rowStrips(n).filter((strip) => !io.isReadable(chunkOfStrip(row, strip, n)));
    const readable = rowStrips(n).filter((strip) => !unreadable.includes(strip));
    await settleAll(readable.map((strip) => io.read(chunkOfStrip(row, strip, n), record.chunkOffsetBytes, bufferOf(buffers, strip))));
    const partial = record.partialParity ?? new Uint8Array(record.lengthBytes);
    const modifiedMissing = unreadable.filter((strip) => typeof strip === 'number' && modified.has(strip));
    if (modifiedMissing.length === 0) {
      const parity = bufferOf(buffers, kind);
      parity.set(partial);
      for (const k of modified) addWeighted(parity, buffers.data[k]!, kind === 'p' ? 0 : k);
      await io.write(record.parityChunkIndex, record.chunkOffsetBytes, parity);
      return true;
    }
    const unmodifiedMissing = unreadable.filter((strip): strip is number => typeof strip === 'number' && !modified.has(strip));
    if (unmodifiedMissing.length > 1) return false;
    const [u] = unmodifiedMissing;
    if (u !== undefined) {
      // partial = Σ over the unmodified strips: take away the ones that are here.
      const value = partial.slice();
      for (let k = 0; k < n - 2; k++) {
        if (k !== u && !modified.has(k)) addWeighted(value, buffers.data[k]!, kind === 'p' ? 0 : k);
      }
      if (kind === 'q') {
        const row = gfMultiplyRow(gfPowGenerator(-u));
        for (let i = 0; i < value.length; i++) value[i] = row[value[i]!]!;
      }
      buffers.data[u]!.set(value);
    }
    const lost: Raid6Strip[] = [...modifiedMissing, ...unreadable.filter((strip) => typeof strip !== 'number')];
    if (lost.length > 2) return false;
    raid6Recover(buffers.data, buffers.p, buffers.q, lost);
    raid6Syndrome(buffers.p, buffers.q, buffers.data);
    const p = raid6PChunk(row, n);
    const q = raid6QChunk(row, n);
    await settleAll([p, q].filter((chunkIndex) => io.isWritable(chunkIndex))
      .map((chunkIndex) => io.write(chunkIndex, record.chunkOffsetBytes, chunkIndex === p ? buffers.p : buffers.q)));
    return true;
  } finally {
    freeAll(scratch);
  }
}

/** target ^= g^k·source (k = 0: plain XOR). */
function addWeighted(target: Uint8Array, source: Uint8Array, k: number): void {
  if (k === 0) {
    for (let i = 0; i < target.length; i++) target[i]! ^= source[i]!;
    return;
  }
  const row = gfMultiplyRow(gfPowGenerator(k));
  for (let i = 0; i < target.length; i++) target[i]! ^= row[source[i]!]!;
}
