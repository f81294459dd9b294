// Rebuild (softraid §3.13, paced like md): regenerate one chunk's data area
// piece by piece while the volume serves I/O. Each piece is locked against
// overlapping requests by the volume. Writes during a rebuild reach the
// rebuilding chunk in every range, rebuilt or not, so the range behind the
// checkpoint stays exact and the range ahead is overwritten consistently.
import { assert } from '@openbsd38/libutil/assert.js';
import { VolumeIoError } from '../errors.js';
import { JobMeter, percentDone, type BackgroundJob, type JobFigures, type JobHost } from './background-job.js';
import { ChunkRetry } from '../disciplines/sub-io.js';
import type { ByteRange } from '../disciplines/discipline.js';
import type { MemberSet } from './member-set.js';

export interface RebuildProgress extends JobFigures {
  operation: 'rebuild';
  chunkIndex: number;
}

export type RebuildOutcome =
  | { status: 'finished' }
  /** The range (chunk-relative) that could not be rebuilt, when a piece failed. */
  | { status: 'failed'; reason: string; failedRange: ByteRange | null }
  | { status: 'aborted'; checkpointBytes: number };

/** What a rebuild needs from its volume. */
export interface RebuildHost extends JobHost {
  readonly members: MemberSet;
  /** Locks the piece's volume range and regenerates it onto the chunk; rejects with VolumeIoError or RebuildTargetLost. */
  rebuildPiece(chunkIndex: number, chunkOffsetBytes: number, lengthBytes: number): Promise<void>;
}

export interface RebuildPieces {
  pieceBytes: number;
  /** Pieces regenerated at once (default 1); the checkpoint is the lowest piece not done. */
  piecesInFlightMax?: number;
}

/** The rebuilding chunk left state Rebuild (it failed, or bioctl -O took it). */
export class RebuildTargetLost extends Error {
  override name = 'RebuildTargetLost';
}

const milestonesPercent = [20, 40, 60, 80] as const;

export class Rebuild implements BackgroundJob<RebuildOutcome, RebuildProgress> {
  private bytesDone: number;
  private aborting = false;
  private readonly meter: JobMeter;
  /** The checkpoint save in progress (at most one): pieces keep being issued meanwhile. */
  private checkpointSave: Promise<void> | null = null;
  /** A checkpoint save that threw (a bug, not an I/O error): rethrown by the loop. */
  private checkpointError: { error: unknown } | null = null;
  /** Pieces actually regenerated (a partial rebuild skips the clean ones). */
  piecesCopied = 0;
  finished: Promise<RebuildOutcome> = Promise.resolve({ status: 'finished' });

  constructor(
    private readonly host: RebuildHost,
    readonly chunkIndex: number,
    startBytes: number,
    readonly bytesTotal: number,
    readonly pieces: RebuildPieces,
    /** A returning member: only pieces the write-intent bitmap marks stale are copied (the rest are counted done). */
    private readonly isPieceStale: ((chunkOffsetBytes: number, lengthBytes: number) => boolean) | null = null,
  ) {
    this.bytesDone = startBytes;
    this.meter = new JobMeter(host, bytesTotal, startBytes);
  }

  /** Starts the loop; `finished` resolves with its outcome (it never rejects on I/O errors). */
  start(): Promise<RebuildOutcome> {
    this.finished = this.run();
    return this.finished;
  }

  progress(): RebuildProgress {
    return { operation: 'rebuild', chunkIndex: this.chunkIndex, ...this.meter.figures(this.bytesDone) };
  }

  /** Stops after the pieces in progress, saving the checkpoint (close, shutdown). */
  stop(): Promise<RebuildOutcome> {
    this.aborting = true;
    return this.finished;
  }

  private percentOf(bytes: number): number {
    return percentDone(bytes, this.bytesTotal);
  }

  /**
   * Up to piecesInFlightMax pieces run at once (each under its own lock), so
   * one piece's reads overlap another's XOR and writes. Pieces finish in any
   * order; bytesDone, the milestones and the checkpoint follow the lowest
   * piece not yet done, so a resumed rebuild never skips a piece.
   */
  private async run(): Promise<RebuildOutcome> {
    const members = this.host.members;
    const record = members.record;
    const piecesMax = Math.max(1, this.pieces.piecesInFlightMax ?? 1);
    const pending = new Map<number, Promise<void>>();
    const finished = new Set<number>();
    const outcome: { failed: { reason: string; range: ByteRange } | null } = { failed: null };
    let issueBytes = this.bytesDone;
    let savedPercent = this.percentOf(this.bytesDone);
    for (;;) {
      while (!this.aborting && outcome.failed === null && issueBytes < this.bytesTotal && pending.size < piecesMax) {
        const offsetBytes = issueBytes;
        const lengthBytes = this.pieceLengthAt(offsetBytes);
        issueBytes += lengthBytes;
        const skipped = this.isPieceStale !== null && !this.isPieceStale(offsetBytes, lengthBytes);
        if (!skipped) this.piecesCopied++;
        const piece = (skipped ? Promise.resolve() : this.host.rebuildPiece(this.chunkIndex, offsetBytes, lengthBytes)).then(() => {
          finished.add(offsetBytes);
        }, (error: unknown) => {
          if (!(error instanceof VolumeIoError) && !(error instanceof RebuildTargetLost)) throw error;
          // The lowest failed piece is the one reported.
          if (outcome.failed === null || offsetBytes < outcome.failed.range.offsetBytes) {
            outcome.failed = { reason: error.message, range: { offsetBytes, lengthBytes } };
          }
        }).finally(() => pending.delete(offsetBytes));
        pending.set(offsetBytes, piece);
        if (skipped) continue;
        await this.meter.pace(lengthBytes);
        // Pieces finish while the pacing waits: progress and checkpoints follow them as they go.
        savedPercent = this.advance(finished, savedPercent);
      }
      if (pending.size === 0) {
        // Pieces may have finished while the last advance ran.
        savedPercent = this.advance(finished, savedPercent);
        if (pending.size === 0) break;
        continue;
      }
      await Promise.race(pending.values());
      savedPercent = this.advance(finished, savedPercent);
    }
    await this.checkpointSaved();
    if (outcome.failed !== null) return this.fail(outcome.failed.reason, outcome.failed.range);
    if (this.bytesDone < this.bytesTotal) {
      assert(this.aborting, 'rebuild: loop ended before the last piece');
      await this.saveCheckpoint(this.bytesDone);
      return { status: 'aborted', checkpointBytes: record.rebuildCheckpointBytes };
    }
    // The target's rebuilt data is durable before any metadata calls it Online.
    if (!await this.targetFlushed()) return this.fail('rebuild target went offline', null);
    record.rebuildCheckpointBytes = 0;
    const name = record.chunks[this.chunkIndex]!.name;
    members.setChunkState(this.chunkIndex, 'Online', 'rebuild finished');
    await members.persist();
    members.emit({ name: 'RebuildFinished', chunkIndex: this.chunkIndex, member: name, message: `rebuild of ${name} finished` });
    members.emit({ name: 'SpareActive', chunkIndex: this.chunkIndex, member: name, message: `${name} is now online` });
    return { status: 'finished' };
  }

  private pieceLengthAt(offsetBytes: number): number {
    return Math.min(this.pieces.pieceBytes, this.bytesTotal - offsetBytes);
  }

  /**
   * Moves bytesDone over the finished pieces at its front: milestones, and
   * the checkpoint when the percent changes. The save runs in the
   * background: waiting for it (eight metadata copies encoded, checksummed,
   * written and flushed) would leave the pieces in flight to drain with
   * none issued behind them. While one save runs, a newer percent waits for
   * the next advance after it, so the checkpoint on disk is always a
   * boundary below which every piece is done.
   */
  private advance(finished: Set<number>, savedPercent: number): number {
    if (this.checkpointError !== null) throw this.checkpointError.error;
    const members = this.host.members;
    const record = members.record;
    const before = this.percentOf(this.bytesDone);
    while (finished.delete(this.bytesDone)) this.bytesDone += this.pieceLengthAt(this.bytesDone);
    const after = this.percentOf(this.bytesDone);
    for (const milestone of milestonesPercent) {
      if (before < milestone && after >= milestone) {
        members.emit({ name: `Rebuild${milestone}`, chunkIndex: this.chunkIndex, member: record.chunks[this.chunkIndex]!.name,
          message: `rebuild of ${record.chunks[this.chunkIndex]!.name} ${milestone}% done` });
      }
    }
    // softraid saves the checkpoint whenever the integer percent changes.
    if (after !== savedPercent && this.bytesDone < this.bytesTotal && this.checkpointSave === null) {
      this.checkpointSave = this.saveCheckpoint(this.bytesDone).catch((error: unknown) => {
        this.checkpointError = { error };
      }).finally(() => {
        this.checkpointSave = null;
      });
      return after;
    }
    return savedPercent;
  }

  /**
   * Saves `bytesDone` as the checkpoint once the pieces below it are durable
   * on the target (docs/write-ordering.md, "A rebuild's checkpoint and its
   * end"): the target is flushed first, and only then does the record
   * (which any save may write) carry the new checkpoint. Were the checkpoint durable before the data, a crash
   * would leave a mirror or a parity member that the metadata calls rebuilt
   * over stale bytes, and a later resync could copy them over good ones.
   * A target that fails its flush keeps the checkpoint it had.
   */
  private async saveCheckpoint(bytesDone: number): Promise<void> {
    if (!await this.targetFlushed()) return;
    const members = this.host.members;
    members.record.rebuildCheckpointBytes = bytesDone;
    members.touch();
    await members.persist();
  }

  /** Flushes the target; false when it failed (and went Offline) or is no longer being rebuilt. */
  private async targetFlushed(): Promise<boolean> {
    const members = this.host.members;
    try {
      await members.flushChunk(this.chunkIndex);
    } catch (error) {
      if (!(error instanceof ChunkRetry) && !(error instanceof VolumeIoError)) throw error;
      return false;
    }
    return members.chunkState(this.chunkIndex) === 'Rebuild';
  }

  /** Waits for the checkpoint save in progress, if any; rethrows what it threw. */
  private async checkpointSaved(): Promise<void> {
    while (this.checkpointSave !== null) await this.checkpointSave;
    if (this.checkpointError !== null) throw this.checkpointError.error;
  }

  /**
   * A piece could not be rebuilt: the target goes Offline (the volume goes
   * back to Degraded, or Offline when a source was lost too). No zeros are
   * written in place of unreadable data.
   */
  private async fail(reason: string, failedRange: ByteRange | null): Promise<RebuildOutcome> {
    const members = this.host.members;
    members.record.rebuildCheckpointBytes = 0;
    members.touch();
    members.setChunkState(this.chunkIndex, 'Offline', `rebuild failed: ${reason}`);
    await members.persist();
    return { status: 'failed', reason, failedRange };
  }
}
