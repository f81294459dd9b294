// A volume's scrubs (md's check and repair; docs/scrub.md): the volume's
// side of scrub.ts — when a scrub may start, its host (the range lock, the
// pacing, the write rules a repair follows), and the last result.
import { levelTable } from '@openbsd38/bio/levels.js';
import { SoftraidError, VolumeIoError } from '../errors.js';
import { Scrub, type ScrubResult } from './scrub.js';
import type { CrashRecovery } from './recovery.js';
import type { Rebuilding } from './rebuilding.js';
import { VolumePart, type VolumeInternals } from './internals.js';

export class Scrubbing extends VolumePart {
  private scrubRun: Scrub | null = null;
  private lastScrubResult: ScrubResult | null = null;

  constructor(host: VolumeInternals, private readonly recovery: CrashRecovery, private readonly rebuilding: Rebuilding) {
    super(host);
  }

  /** The scrub running now, if any. */
  get running(): Scrub | null {
    return this.scrubRun;
  }

  /** The last scrub that ended on this volume since it was opened. */
  get last(): ScrubResult | null {
    return this.lastScrubResult;
  }

  /**
   * Starts a consistency check of every stripe (repair: also rewrite what
   * disagrees). Only on a redundant level, with every chunk Online and no
   * rebuild or scrub running. It runs under the range lock, paced by the
   * rebuild rate limits; the volume reports Scrubbing meanwhile.
   */
  start(options: { repair: boolean }): { finished: Promise<ScrubResult> } {
    this.host.checkOpen();
    const name = this.members.record.deviceName;
    if (!this.discipline.capabilities.redundant || this.discipline.rebuildLockRange === undefined || this.discipline.scrub === undefined) {
      throw new SoftraidError(`${name}: ${levelTable[this.geometry.level].displayName} has no redundancy to scrub`);
    }
    if (this.scrubRun !== null) throw new SoftraidError(`${name}: scrub already in progress`);
    if (this.rebuilding.running !== null || this.members.state === 'Rebuild') throw new SoftraidError(`${name}: rebuild in progress`);
    // Regions a crash left dirty would count as mismatches: crash recovery first.
    if (this.recovery.runningResync !== null) throw new SoftraidError(`${name}: resync in progress`);
    if (this.members.state !== 'Online') throw new SoftraidError(`${name}: volume is ${this.members.state}, a scrub needs every chunk online`);
    const lockRange = this.discipline.rebuildLockRange;
    const scrub = new Scrub({
      ...this.host.jobHost,
      members: this.members,
      geometry: this.geometry,
      discipline: this.discipline,
      chunkUsedBytes: this.discipline.chunkUsedBytes(this.geometry, 0),
      lockRange: (chunkOffsetBytes, lengthBytes) => lockRange(this.geometry, chunkOffsetBytes, lengthBytes),
      lock: (range) => this.host.locks.acquire(range.offsetBytes, range.lengthBytes),
      beforeRewrite: (chunkOffsetBytes, lengthBytes) => this.beforeRewrite(chunkOffsetBytes, lengthBytes),
    }, { repair: options.repair, pieceBytes: this.host.limits.rebuildPieceBytes, blockBytes: this.host.blockSizeMinBytes });
    this.scrubRun = scrub;
    // Crash recovery (log replay, bitmap) runs first: what it repairs is no mismatch.
    const recovered = this.recovery.ready().catch((error: unknown) => {
      if (!(error instanceof VolumeIoError)) throw error; // the scrub meets the same failure and reports it
    });
    const finished = recovered.then(() => scrub.start()).then((result) => {
      this.lastScrubResult = result;
      return result;
    }).finally(() => {
      if (this.scrubRun === scrub) this.scrubRun = null;
    });
    return { finished };
  }

  /** Stops a running scrub after its current piece; resolves with its result, or null when none runs. */
  async stop(): Promise<ScrubResult | null> {
    const scrub = this.scrubRun;
    if (scrub === null) return null;
    return scrub.stop();
  }

  /** A scrub rewrite follows the write path's first rules (docs/write-ordering.md, 1 and 3). */
  private async beforeRewrite(chunkOffsetBytes: number, lengthBytes: number): Promise<() => void> {
    await this.host.markDirty();
    const bitmap = this.recovery.bitmap;
    if (bitmap === null) return () => {};
    const bits = bitmap.bitsOf({ offsetBytes: chunkOffsetBytes, lengthBytes });
    await bitmap.startWrite(bits);
    return () => bitmap.endWrite(bits);
  }
}
