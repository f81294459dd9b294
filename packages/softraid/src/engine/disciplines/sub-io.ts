// Helpers shared by disciplines for issuing sub-I/Os to chunks.
import { VolumeIoError } from '../errors.js';
import { chunkIoVectorsMax } from '../chunk.js';
import type { ChunkExtent, ChunkIo } from './discipline.js';

/**
 * Waits for every sub-I/O (never leaves one running behind a failed request,
 * which could still write into the caller's buffer), then rejects with the
 * first failure if any. A VolumeIoError or a bug outranks a chunk failure the
 * core may retry, because retrying would not help.
 */
export async function settleAll(operations: readonly Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(operations);
  let chosen: unknown = undefined;
  let chosenRank = 0;
  for (const result of results) {
    if (result.status === 'fulfilled') continue;
    const rank = rankOf(result.reason);
    if (rank > chosenRank) {
      chosen = result.reason;
      chosenRank = rank;
    }
  }
  if (chosenRank > 0) throw chosen;
}

/** 1: a chunk failure the core may retry around; 2: the volume cannot serve; 3: anything else (a bug). */
function rankOf(reason: unknown): number {
  if (reason instanceof ChunkRetry) return 1;
  if (reason instanceof VolumeIoError) return 2;
  return 3;
}

/**
 * Thrown by the core's ChunkIo after a chunk of a redundant volume failed,
 * went Offline and the metadata recording it was saved: the request is
 * planned again with the chunks that remain.
 */
export class ChunkRetry extends Error {
  override name = 'ChunkRetry';
  constructor(readonly chunkIndex: number, cause: Error) {
    super(`chunk ${chunkIndex} failed: ${cause.message}`);
  }
}

/** The volume cannot serve this request from the chunks it has. */
export function unavailable(message: string): never {
  throw new VolumeIoError('EIO', message);
}

/** Buffers that follow one another on one chunk: one vectored chunk call. */
export interface ChunkRun {
  chunkIndex: number;
  chunkOffsetBytes: number;
  lengthBytes: number;
  buffers: Uint8Array[];
}

/**
 * Collects pieces into runs adjacent on their chunk. A piece extends the
 * last run of its chunk when it starts where that run ends, so pieces given
 * in chunk-offset order per chunk (as the address maps yield them) make the
 * fewest runs: a RAID 0 request over 16 strips of 4 chunks is 4 runs.
 */
export class ChunkRuns {
  readonly runs: ChunkRun[] = [];
  private readonly lastOfChunk = new Map<number, ChunkRun>();

  add(chunkIndex: number, chunkOffsetBytes: number, buffer: Uint8Array): void {
    const last = this.lastOfChunk.get(chunkIndex);
    if (last !== undefined && last.chunkOffsetBytes + last.lengthBytes === chunkOffsetBytes && last.buffers.length < chunkIoVectorsMax) {
      last.buffers.push(buffer);
      last.lengthBytes += buffer.length;
      return;
    }
    const run: ChunkRun = { chunkIndex, chunkOffsetBytes, lengthBytes: buffer.length, buffers: [buffer] };
    this.runs.push(run);
    this.lastOfChunk.set(chunkIndex, run);
  }

  /** One sub-I/O per run (a vectored one for runs of several buffers). */
  operations(io: ChunkIo, direction: 'read' | 'write'): Promise<void>[] {
    return this.runs.map((run) => {
      if (run.buffers.length === 1) {
        return direction === 'read' ? io.read(run.chunkIndex, run.chunkOffsetBytes, run.buffers[0]!)
          : io.write(run.chunkIndex, run.chunkOffsetBytes, run.buffers[0]!);
      }
      return direction === 'read' ? io.readv(run.chunkIndex, run.chunkOffsetBytes, run.buffers)
        : io.writev(run.chunkIndex, run.chunkOffsetBytes, run.buffers);
    });
  }
}

/**
 * RAID 0 and CONCAT: every extent goes to its one chunk, straight into or out
 * of the caller's buffer (no copy), extents adjacent on a chunk in one
 * vectored call. A chunk that cannot serve fails the I/O.
 */
export async function transferExtents(io: ChunkIo, extents: readonly ChunkExtent[], requestOffsetBytes: number,
  buffer: Uint8Array, direction: 'read' | 'write'): Promise<void> {
  for (const extent of extents) {
    const usable = direction === 'read' ? io.isReadable(extent.chunkIndex) : io.isWritable(extent.chunkIndex);
    if (!usable) unavailable(`chunk ${extent.chunkIndex} is offline, cannot ${direction} volume byte ${extent.volumeOffsetBytes}`);
  }
  const runs = new ChunkRuns();
  for (const extent of extents) {
    const start = extent.volumeOffsetBytes - requestOffsetBytes;
    runs.add(extent.chunkIndex, extent.chunkOffsetBytes, buffer.subarray(start, start + extent.lengthBytes));
  }
  await settleAll(runs.operations(io, direction));
}
