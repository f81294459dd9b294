// Scrub (md's check/repair, ZFS's scrub; softraid has the Scrubbing states
// but never runs one, reference §3.14): every stripe of a redundant volume
// is checked piece by piece while the volume serves I/O — RAID 1 copies
// compared, RAID 5 parity recomputed — under the volume's range lock and
// paced with rebuild's min/max rates. Repair rewrites what disagrees.
//
// Media errors: a chunk read that fails is narrowed to the failing blocks,
// which are regenerated from redundancy, written back and read again (md's
// read-error correction, in check and repair mode alike). If the write or
// the read-back fails, the chunk goes Offline (softraid's rule, §3.7) and the
// scrub ends. Blocks with no good copy left are reported as volume byte
// ranges and never replaced by anything, zeros least of all.
//
// Chunk states stay Online: a scrub is not a condition of a chunk and must
// not outlive a crash in the metadata. The volume reports Scrubbing while it
// runs and its members are all Online (Volume.info()).
import { assert } from '@openbsd38/libutil/assert.js';
import { ChunkIoError, SoftraidError, VolumeIoError } from '../errors.js';
import { divFloor } from '@openbsd38/libutil/units.js';
import { JobMeter, type BackgroundJob, type JobFigures, type JobHost } from './background-job.js';
import { ChunkRetry } from '../disciplines/sub-io.js';
import { bytesEqual } from '../disciplines/bytes.js';
import { disciplineFor } from '../disciplines/registry.js';
import type { ByteRange, Discipline, Geometry, ScrubRules } from '../disciplines/discipline.js';
import type { ChunkBackend } from '../chunk.js';
import type { MemberSet } from './member-set.js';
import type { ScrubResultView } from '@openbsd38/bio/controller.js';
import type { Release } from './stripe-lock.js';

/** md's mismatch_cnt unit: counts are in 512-byte sectors. */
export const scrubSectorBytes = 512;
/** Unreadable ranges kept in a result; more are counted, not listed. */
export const scrubUnreadableRangesMax = 256;

/** bytesDone: bytes of each chunk's data area checked (per device, as md's sync_completed and as rebuild). */
export interface ScrubProgress extends JobFigures {
  operation: 'scrub';
  repair: boolean;
  mismatchSectors: number;
}

/**
 * How a scrub ended: bio's ScrubResultView (the counts, what was lost) on
 * the volume's clock; the controller adds wall-clock time. A mismatched
 * sector is a RAID 1 volume sector whose copies differ, or a RAID 5 sector
 * column (the same 512 bytes of a row on every chunk) whose parity is not
 * the XOR of its data.
 */
export type ScrubResult = Omit<ScrubResultView, 'startedAt' | 'durationSeconds'> & {
  /** On the volume's clock (monotonic). */
  startedAtMs: number;
  finishedAtMs: number;
};

/** What a scrub needs from its volume. */
export interface ScrubHost extends JobHost {
  readonly members: MemberSet;
  readonly geometry: Geometry;
  /** Its scrub rules say what is compared and how a repair fixes it. */
  readonly discipline: Discipline;
  /** Bytes of each chunk's data area holding volume data (discipline.chunkUsedBytes). */
  readonly chunkUsedBytes: number;
  /** The volume range to lock while a chunk range is checked (discipline.rebuildLockRange). */
  lockRange(chunkOffsetBytes: number, lengthBytes: number): ByteRange;
  lock(range: ByteRange): Promise<Release>;
  /**
   * Before a rewrite of a chunk range: the volume's first write rules (its
   * metadata says dirty, the write-intent bits of the range are durable),
   * so that a crash in the middle is resynced like any cut write. Returns
   * what to call once the rewrite is over.
   */
  beforeRewrite(chunkOffsetBytes: number, lengthBytes: number): Promise<() => void>;
}

export interface ScrubOptions {
  repair: boolean;
  pieceBytes: number;
  /** Granularity of media-error narrowing: the volume's logical block size. */
  blockBytes: number;
}

/** The scrub cannot go on (a chunk left Online); the piece's remaining work is dropped. */
class ScrubInterrupted extends Error {
  override name = 'ScrubInterrupted';
}

export class Scrub implements BackgroundJob<ScrubResult, ScrubProgress> {
  private bytesDone = 0;
  private stopping = false;
  private readonly meter: JobMeter;
  private readonly counts = { mismatchSectors: 0, repairedSectors: 0, mediaErrorSectors: 0, mediaErrorSectorsRewritten: 0 };
  private readonly unreadable: ByteRange[] = [];
  private unreadableDropped = 0;
  private readonly rules: ScrubRules;
  finished: Promise<ScrubResult>;

  constructor(private readonly host: ScrubHost, readonly options: ScrubOptions) {
    assert(host.discipline.scrub !== undefined && host.discipline.volumeRangesOnChunk !== undefined, `scrub on ${host.geometry.level}`);
    this.rules = host.discipline.scrub;
    assert(options.pieceBytes > 0 && options.pieceBytes % scrubSectorBytes === 0, 'scrub: piece size must be whole sectors');
    assert(options.blockBytes >= scrubSectorBytes && options.blockBytes % scrubSectorBytes === 0, 'scrub: bad block size');
    assert(this.rules.acceptsBlockBytes(host.geometry, options.blockBytes), 'scrub: blocks must not straddle strips');
    this.meter = new JobMeter(host, host.chunkUsedBytes);
    this.finished = Promise.resolve(this.result('stopped', 'not started'));
  }

  get bytesTotal(): number {
    return this.host.chunkUsedBytes;
  }

  start(): Promise<ScrubResult> {
    this.finished = this.run();
    return this.finished;
  }

  /** Stops after the piece in progress. */
  async stop(): Promise<ScrubResult> {
    this.stopping = true;
    return this.finished;
  }

  progress(): ScrubProgress {
    return { operation: 'scrub', repair: this.options.repair, ...this.meter.figures(this.bytesDone), mismatchSectors: this.counts.mismatchSectors };
  }

  private result(status: ScrubResult['status'], reason: string | null): ScrubResult {
    return {
      repair: this.options.repair, status, reason,
      startedAtMs: this.meter.startedMs, finishedAtMs: this.host.clock.nowMs(),
      bytesDone: this.bytesDone, bytesTotal: this.bytesTotal,
      ...this.counts,
      unreadableRanges: this.unreadable.map((range) => ({ ...range })),
      unreadableRangesDropped: this.unreadableDropped,
    };
  }

  private async run(): Promise<ScrubResult> {
    const members = this.host.members;
    while (this.bytesDone < this.bytesTotal) {
      if (this.stopping) return this.result('stopped', 'stopped by request');
      if (members.state !== 'Online') return this.result('failed', `volume ${members.deviceName} is ${members.state}`);
      const lengthBytes = Math.min(this.options.pieceBytes, this.bytesTotal - this.bytesDone);
      const release = await this.host.lock(this.host.lockRange(this.bytesDone, lengthBytes));
      try {
        await this.checkPiece(this.bytesDone, lengthBytes);
      } catch (error) {
        if (error instanceof ScrubInterrupted || error instanceof ChunkRetry || error instanceof VolumeIoError) {
          return this.result('failed', error.message);
        }
        throw error;
      } finally {
        release();
      }
      this.bytesDone += lengthBytes;
      await this.meter.pace(lengthBytes);
    }
    return this.result('finished', null);
  }

  /** Every chunk Online and still backed by the member read from: otherwise the piece is abandoned. */
  private assertUnchanged(backends: readonly ChunkBackend[]): void {
    const members = this.host.members;
    for (let chunkIndex = 0; chunkIndex < members.chunkCount; chunkIndex++) {
      if (members.chunkState(chunkIndex) !== 'Online' || members.member(chunkIndex) !== backends[chunkIndex]) {
        throw new ScrubInterrupted(`chunk ${chunkIndex} of ${members.deviceName} left state Online during the scrub`);
      }
    }
  }

  /**
   * One piece (chunk range [offset, offset + length) on every chunk):
   * 1. read it from every chunk, narrowing a failed read to its bad blocks;
   * 2. regenerate bad blocks that have redundancy left, rewrite and re-read them;
   *    record the others as unreadable;
   * 3. compare mirrors / check parity over the rest, counting mismatches;
   * 4. in repair mode, rewrite what disagrees.
   */
  private async checkPiece(chunkOffsetBytes: number, lengthBytes: number): Promise<void> {
    const members = this.host.members;
    const backends: ChunkBackend[] = [];
    for (let chunkIndex = 0; chunkIndex < members.chunkCount; chunkIndex++) {
      const backend = members.member(chunkIndex);
      if (backend === null || members.chunkState(chunkIndex) !== 'Online') throw new ScrubInterrupted(`chunk ${chunkIndex} is not online`);
      backends.push(backend);
    }
    const buffers = backends.map(() => new Uint8Array(lengthBytes));
    const badBlocks = await Promise.all(backends.map((backend, chunkIndex) => this.readNarrowing(backend, chunkOffsetBytes, buffers[chunkIndex]!)));
    this.assertUnchanged(backends);

    const blockBytes = this.options.blockBytes;
    /** Blocks (piece-relative index) no chunk could give back: left out of the comparison. */
    const lostBlocks = new Set<number>();
    const blocksWithErrors = [...new Set(badBlocks.flat())].sort((a, b) => a - b);
    for (const block of blocksWithErrors) {
      const start = block * blockBytes;
      const end = Math.min(lengthBytes, start + blockBytes);
      const bad = badBlocks.map((blocks, chunkIndex) => (blocks.includes(block) ? chunkIndex : -1)).filter((index) => index >= 0);
      this.counts.mediaErrorSectors += bad.length * ((end - start) / scrubSectorBytes);
      const regenerated = this.rules.regenerate(this.host.geometry, chunkOffsetBytes, buffers, bad, start, end);
      if (regenerated === null) {
        lostBlocks.add(block);
        for (const chunkIndex of bad) {
          for (const range of this.volumeRangesOnChunk(chunkIndex, chunkOffsetBytes + start, end - start)) this.addUnreadable(range);
        }
        continue;
      }
      for (const [i, chunkIndex] of bad.entries()) {
        buffers[chunkIndex]!.set(regenerated[i]!, start);
        await this.rewrite(chunkIndex, backends, chunkOffsetBytes + start, regenerated[i]!);
        this.counts.mediaErrorSectorsRewritten += (end - start) / scrubSectorBytes;
      }
    }
    await this.checkConsistency(chunkOffsetBytes, buffers, backends, lostBlocks);
  }

  /** Reads a chunk range; on a read error re-reads it block by block and returns the blocks that fail. */
  private async readNarrowing(backend: ChunkBackend, chunkOffsetBytes: number, into: Uint8Array): Promise<number[]> {
    const dataOffsetBytes = this.host.members.record.dataOffsetBytes;
    try {
      await backend.read(into, dataOffsetBytes + chunkOffsetBytes);
      return [];
    } catch (error) {
      if (!isChunkIoError(error)) throw error;
    }
    const bad: number[] = [];
    const blockBytes = this.options.blockBytes;
    for (let start = 0, block = 0; start < into.length; start += blockBytes, block++) {
      const view = into.subarray(start, Math.min(into.length, start + blockBytes));
      try {
        await backend.read(view, dataOffsetBytes + chunkOffsetBytes + start);
      } catch (error) {
        if (!isChunkIoError(error)) throw error;
        view.fill(0); // never used: the block is regenerated or reported lost
        bad.push(block);
      }
    }
    return bad;
  }

  /**
   * Writes regenerated or repaired bytes to a chunk through the volume's
   * failure policy (a failed write takes the chunk Offline: ChunkRetry),
   * flushes them, then reads them back; a read-back that fails or differs
   * takes it Offline too.
   */
  private async rewrite(chunkIndex: number, backends: readonly ChunkBackend[], chunkOffsetBytes: number, data: Uint8Array): Promise<void> {
    const members = this.host.members;
    this.assertUnchanged(backends);
    const rewritten = await this.host.beforeRewrite(chunkOffsetBytes, data.length);
    try {
      this.assertUnchanged(backends);
      await members.write(chunkIndex, chunkOffsetBytes, data);
      // Counted as repaired only once durable: a crash must not bring the bad bytes back
      // after the scrub said they were fixed.
      await members.flushChunk(chunkIndex);
    } finally {
      rewritten();
    }
    const back = new Uint8Array(data.length);
    let problem: string | null = null;
    try {
      await backends[chunkIndex]!.read(back, members.record.dataOffsetBytes + chunkOffsetBytes);
      if (!bytesEqual(back, data)) problem = 'read back different data';
    } catch (error) {
      if (!isChunkIoError(error)) throw error;
      problem = `read error persists after rewrite: ${error.message}`;
    }
    if (problem !== null) {
      members.setChunkState(chunkIndex, 'Offline', `scrub at chunk byte ${chunkOffsetBytes}: ${problem}`);
      await members.persist();
      throw new ScrubInterrupted(`chunk ${chunkIndex} of ${members.deviceName} went offline: ${problem}`);
    }
  }

  /**
   * Counts the sector columns the discipline finds inconsistent (blocks no
   * chunk could give back left out); in repair mode rewrites each run of
   * them as the discipline says, once its confirmation (if any) reads back
   * the same bytes; a run whose confirmation fails is left alone.
   */
  private async checkConsistency(chunkOffsetBytes: number, buffers: Uint8Array[], backends: readonly ChunkBackend[], lostBlocks: ReadonlySet<number>): Promise<void> {
    const inspection = this.rules.inspect(this.host.geometry, chunkOffsetBytes, buffers);
    if (inspection === null) return;
    const sectorsPerBlock = this.options.blockBytes / scrubSectorBytes;
    const mismatched = (sector: number): boolean => !lostBlocks.has(divFloor(sector, sectorsPerBlock)) && inspection.mismatched(sector);
    for (const run of sectorRuns(buffers[0]!.length / scrubSectorBytes, mismatched, (sector) => inspection.groupOf(sector))) {
      this.counts.mismatchSectors += run.count;
      if (!this.options.repair) continue;
      const start = run.first * scrubSectorBytes;
      const end = start + run.count * scrubSectorBytes;
      const repair = inspection.repair(start, end);
      if (repair.confirm !== null) {
        const again = new Uint8Array(end - start);
        try {
          await backends[repair.confirm.chunkIndex]!.read(again, this.host.members.record.dataOffsetBytes + chunkOffsetBytes + start);
        } catch (error) {
          if (!isChunkIoError(error)) throw error;
          continue;
        }
        if (!bytesEqual(again, repair.confirm.bytes)) continue;
      }
      for (const { chunkIndex, bytes } of repair.rewrites) await this.rewrite(chunkIndex, backends, chunkOffsetBytes + start, bytes);
      this.counts.repairedSectors += run.count;
    }
  }

  private volumeRangesOnChunk(chunkIndex: number, chunkOffsetBytes: number, lengthBytes: number): ByteRange[] {
    return this.host.discipline.volumeRangesOnChunk!(this.host.geometry, chunkIndex, chunkOffsetBytes, lengthBytes);
  }

  /** Kept sorted and merged (RAID 1 reports one range per copy; RAID 5 strips of a row arrive out of order). */
  private addUnreadable(range: ByteRange): void {
    const list = this.unreadable;
    let start = range.offsetBytes;
    let end = range.offsetBytes + range.lengthBytes;
    let index = list.findIndex((entry) => entry.offsetBytes + entry.lengthBytes >= start);
    if (index < 0) index = list.length;
    let removed = 0;
    while (index + removed < list.length && list[index + removed]!.offsetBytes <= end) {
      const entry = list[index + removed]!;
      start = Math.min(start, entry.offsetBytes);
      end = Math.max(end, entry.offsetBytes + entry.lengthBytes);
      removed++;
    }
    if (removed === 0 && list.length >= scrubUnreadableRangesMax) {
      this.unreadableDropped++;
      return;
    }
    list.splice(index, removed, { offsetBytes: start, lengthBytes: end - start });
  }
}

/** The volume byte ranges whose data a chunk range holds, ascending and merged (the discipline's inverse address mapping). */
export function volumeRangesOnChunk(geometry: Geometry, chunkIndex: number, chunkOffsetBytes: number, lengthBytes: number): ByteRange[] {
  const inverse = disciplineFor(geometry.level).volumeRangesOnChunk;
  if (inverse === undefined) throw new SoftraidError(`no redundancy to map on ${geometry.level}`);
  return inverse(geometry, chunkIndex, chunkOffsetBytes, lengthBytes);
}

/** Consecutive sectors for which `selected` holds, split where `groupOf` changes. */
function sectorRuns(sectorCount: number, selected: (sector: number) => boolean, groupOf: (sector: number) => number = () => 0): { first: number; count: number }[] {
  const runs: { first: number; count: number }[] = [];
  for (let sector = 0; sector < sectorCount; sector++) {
    if (!selected(sector)) continue;
    const last = runs[runs.length - 1];
    if (last && last.first + last.count === sector && groupOf(last.first) === groupOf(sector)) last.count++;
    else runs.push({ first: sector, count: 1 });
  }
  return runs;
}

function isChunkIoError(error: unknown): error is ChunkIoError {
  return error instanceof ChunkIoError;
}
