// Crash recovery of a volume (docs/write-ordering.md, docs/RELIABILITY.md):
// before its first I/O, the partial parity log is replayed (RAID 5) and the
// write-intent bitmap loaded; a volume not shut down cleanly then resyncs
// the regions the bitmap marks, in the background, while requests that
// touch a region still pending resync it first themselves.
import { assert } from '@openbsd38/libutil/assert.js';
import { VolumeIoError, SoftraidError } from '../errors.js';
import { reservedRegionsDefault } from '../metadata/layout.js';
import { WriteIntentBitmap } from './write-intent.js';
import { Resync, type ResyncOutcome } from './resync.js';
import type { LockMode } from './stripe-lock.js';
import type { RecoveryResult } from './partial-parity-log.js';
import { VolumePart, type VolumeInternals } from './internals.js';

/** What the crash-safety machinery did since the volume was opened (tests, the simulator, bioctl). */
export interface RecoveryInfo {
  dirtyAtAssembly: boolean;
  bitmapFound: boolean;
  regionsPendingAtAssembly: number;
  partialParityLog: RecoveryResult | null;
}

export interface ResyncHandle {
  finished: Promise<ResyncOutcome>;
}

export class CrashRecovery extends VolumePart {
  private loadedBitmap: WriteIntentBitmap | null = null;
  readonly info: RecoveryInfo;
  /** ready() has finished: reads may share their range unless a resync is due there. */
  private recovered = false;
  private readyPromise: Promise<void> | null = null;
  private resync: Resync | null = null;
  private resyncFinished: Promise<ResyncOutcome> | null = null;

  constructor(host: VolumeInternals) {
    super(host);
    this.info = { dirtyAtAssembly: host.dirtyAtAssembly, bitmapFound: false, regionsPendingAtAssembly: 0, partialParityLog: null };
  }

  /** Redundant levels: the write-intent bitmap, loaded by ready(). */
  get bitmap(): WriteIntentBitmap | null {
    return this.loadedBitmap;
  }

  /** The resync running now, if any (progress, close). */
  get runningResync(): Resync | null {
    return this.resync;
  }

  /**
   * Once, before the first I/O of any kind: replays the partial parity log
   * (RAID 5) and loads the write-intent bitmap; when the volume was not shut
   * down cleanly, marks its set bits (all bits when none was found) pending
   * resync.
   */
  ready(): Promise<void> {
    this.readyPromise ??= this.recover();
    return this.readyPromise;
  }

  private async recover(): Promise<void> {
    // Log replay and resync write: first every member must record the dirty
    // state (a member that missed the last save before the crash may not).
    if (this.host.dirtyAtAssembly) {
      this.members.touch();
      await this.members.persist();
    }
    if (this.host.writeIntentRegionBytes !== 0) await this.loadBitmap();
    if (this.host.ppl !== null) this.info.partialParityLog = await this.host.ppl.recover(this.members.record.uuid);
    this.recovered = true;
  }

  /**
   * Loads the union of the members' bitmaps and writes it back to all of
   * them, so that every member holds every set bit before anything is
   * written (log replay included).
   */
  private async loadBitmap(): Promise<void> {
    const regions = this.members.record.reservedRegions ?? reservedRegionsDefault;
    const loaded = await WriteIntentBitmap.load(this.members, this.host.jobHost.clock, regions.bitmap, this.host.writeIntentRegionBytes,
      this.discipline.chunkUsedBytes(this.geometry, 0));
    this.loadedBitmap = loaded.bitmap;
    this.info.bitmapFound = loaded.found;
    // Without a bitmap, nobody can say where a member that is away now went
    // stale: only members that take a save from now on are tracked.
    if (!loaded.found) loaded.bitmap.lastClearEventCounter = this.members.record.eventCounter + 1;
    if (this.host.dirtyAtAssembly) this.info.regionsPendingAtAssembly = loaded.bitmap.markResyncPending(!loaded.found);
    await loaded.bitmap.saveNow();
  }

  /**
   * After assembly: replays the partial parity log and, when the volume was
   * not shut down cleanly, resyncs the regions the write-intent bitmap marks
   * (all of them when no bitmap was found), in the background. Returns null
   * on a level without resync; otherwise the handle (idempotent).
   */
  resumeResync(): ResyncHandle | null {
    this.host.checkOpen();
    if (this.discipline.resyncPiece === undefined || this.host.writeIntentRegionBytes === 0) return null;
    this.resyncFinished ??= this.ready().then(() => this.runResync(null), (error: unknown) => {
      if (error instanceof VolumeIoError) return { status: 'failed', reason: error.message } as const;
      throw error;
    });
    return { finished: this.resyncFinished };
  }

  /**
   * Resyncs every region (md's full resync), whatever the bitmap says: for
   * measurements and for volumes whose bitmap was lost. Fails while another
   * resync runs.
   */
  async fullResync(): Promise<ResyncOutcome> {
    this.host.checkOpen();
    await this.ready();
    const bitmap = this.loadedBitmap;
    if (bitmap === null) throw new SoftraidError(`${this.members.record.deviceName}: no resync on this level`);
    if (this.resync !== null) throw new SoftraidError(`${this.members.record.deviceName}: resync already in progress`);
    bitmap.markResyncPending(true);
    await bitmap.persist();
    return this.runResync(null);
  }

  private async runResync(onlyBits: number[] | null): Promise<ResyncOutcome> {
    const bitmap = this.loadedBitmap;
    assert(bitmap !== null, 'resync without a bitmap');
    const bits = onlyBits ?? bitmap.pendingBits({ firstBit: 0, endBit: bitmap.bitCount });
    if (bits.length === 0 || this.host.isClosing()) return { status: 'finished', regions: 0, bytes: 0, elapsedMs: 0 };
    const resync = new Resync({ ...this.host.jobHost, bitmap, resyncRegion: (bit) => this.resyncRegion(bit) }, bits);
    this.resync = resync;
    try {
      return await resync.start();
    } finally {
      if (this.resync === resync) this.resync = null;
    }
  }

  /** Resyncs what is still pending of one region, a rebuild piece at a time under the range lock. */
  private async resyncRegion(bit: number): Promise<void> {
    const bitmap = this.loadedBitmap!;
    const lockRangeOf = this.discipline.rebuildLockRange!;
    const region = bitmap.rangeOf(bit);
    for (let doneBytes = 0; doneBytes < region.lengthBytes && bitmap.isResyncPending(bit);) {
      const lengthBytes = Math.min(this.host.limits.rebuildPieceBytes, region.lengthBytes - doneBytes);
      const chunkOffsetBytes = region.offsetBytes + doneBytes;
      const range = lockRangeOf(this.geometry, chunkOffsetBytes, lengthBytes);
      const release = await this.host.locks.acquire(range.offsetBytes, range.lengthBytes);
      try {
        // A request may have resynced the region while this piece waited for its lock, and a
        // flush may have cleared its bit since: a write there now would break the bitmap's rule.
        if (!bitmap.isResyncPending(bit)) break;
        await this.host.withRetry(() => this.discipline.resyncPiece!(this.members, this.geometry, chunkOffsetBytes, lengthBytes));
      } finally {
        release();
      }
      doneBytes += lengthBytes;
    }
    bitmap.resyncDone(bit);
  }

  /**
   * A request holding the lock of [offsetBytes, +lengthBytes) touches regions
   * still pending resync: resyncs its own chunk range of them first, so that
   * a read never sees mirrors disagree and a RAID 5 write never computes
   * parity (or partial parity) from an inconsistent row.
   */
  async resyncPendingUnderLock(offsetBytes: number, lengthBytes: number): Promise<void> {
    const bitmap = this.loadedBitmap;
    if (bitmap === null || this.resyncFinished === null || lengthBytes === 0 || bitmap.resyncPendingCount === 0) return;
    const chunkRange = this.discipline.chunkRangeOf!(this.geometry, offsetBytes, lengthBytes);
    const pending = bitmap.pendingBits(bitmap.bitsOf(chunkRange));
    for (const bit of pending) {
      const region = bitmap.rangeOf(bit);
      const startBytes = Math.max(region.offsetBytes, chunkRange.offsetBytes);
      const endBytes = Math.min(region.offsetBytes + region.lengthBytes, chunkRange.offsetBytes + chunkRange.lengthBytes);
      if (endBytes <= startBytes) continue;
      await this.host.withRetry(() => this.discipline.resyncPiece!(this.members, this.geometry, startBytes, endBytes - startBytes));
      if (startBytes === region.offsetBytes && endBytes === region.offsetBytes + region.lengthBytes) bitmap.resyncDone(bit);
    }
  }

  /**
   * Reads share their range (they never wait for each other, RAID 5 reads
   * of one row included) once recovery has run and no resync is due there:
   * a read that must resync first writes, so it takes the range alone.
   */
  readLockMode(offsetBytes: number, lengthBytes: number): LockMode {
    if (!this.recovered) return 'exclusive';
    const bitmap = this.loadedBitmap;
    if (bitmap === null || this.resyncFinished === null || bitmap.resyncPendingCount === 0) return 'shared';
    const pending = bitmap.pendingBits(bitmap.bitsOf(this.discipline.chunkRangeOf!(this.geometry, offsetBytes, lengthBytes)));
    return pending.length === 0 ? 'shared' : 'exclusive';
  }
}
