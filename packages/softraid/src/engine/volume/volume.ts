// A RAID volume: softraid's generic core for one discipline instance. It
// admits requests (bounded), serializes overlapping ones (RangeLock), runs
// the discipline with the failure policy of MemberSet and retries a request
// when a chunk drops out, keeps flush ordering, and schedules rebuilds.
import { assert } from '@openbsd38/libutil/assert.js';
import { ChunkIoError, MetadataError, SoftraidError, VolumeIoError } from '../errors.js';
import { alignDown, alignUp, divFloor } from '@openbsd38/libutil/units.js';
import { levelTable, type Raid5Layout, type RaidLevel } from '@openbsd38/bio/levels.js';
import { disciplineFor } from '../disciplines/registry.js';
import { geometryFromRecord, parityRowBytes } from '../disciplines/geometry.js';
import { ChunkRetry } from '../disciplines/sub-io.js';
import { Admission } from './admission.js';
import { volumeLimitsDefault, type VolumeLimits } from './limits.js';
import { MemberSet } from './member-set.js';
import { Rebuild, RebuildTargetLost, type RebuildHost, type RebuildOutcome, type RebuildProgress } from './rebuild.js';
import { RangeLock, type LockMode } from './stripe-lock.js';
import { RowGather } from './row-gather.js';
import { WriteIntentBitmap, type BitRange } from './write-intent.js';
import { PartialParityLog, type PplTicket, type RecoveryResult } from './partial-parity-log.js';
import { Resync, type ResyncOutcome, type ResyncProgress } from './resync.js';
import type { JobHost, JobRates } from './background-job.js';
import { writeIntentRegionBytesFor } from '../metadata/write-intent.js';
import { featureFlag, reservedRegionsDefault } from '../metadata/layout.js';
import { readChunkMetadata } from '../metadata/io.js';
import { Scrub, type ScrubProgress, type ScrubResult } from './scrub.js';
import type { BlockDevice, WriteOptions, WriteZeroesOptions } from '@openbsd38/bio/block-device.js';
import type { ChunkBackend } from '../chunk.js';
import type { ByteRange, Discipline, Geometry, PartialParityEntry } from '../disciplines/discipline.js';
import type { VolumeRecord } from '../metadata/record.js';
import type { ChunkState, VolumeState } from '@openbsd38/bio/states.js';
import type { Clock, VolumeDeps } from './events.js';

export interface ChunkInfo {
  chunkIndex: number;
  /** The member's name; the recorded name when it is missing. */
  name: string;
  present: boolean;
  state: ChunkState;
  /** Usable size of the member (softraid's scm_size). */
  sizeBytes: number;
}

/** What bioctl shows of a volume. */
export interface VolumeInfo {
  deviceName: string;
  uuid: string;
  level: RaidLevel;
  layout: Raid5Layout | null;
  stripSizeBytes: number;
  state: VolumeState;
  sizeBytes: number;
  dirty: boolean;
  noAutoAssemble: boolean;
  chunks: ChunkInfo[];
  progress: RebuildProgress | ResyncProgress | ScrubProgress | null;
}

export interface RebuildHandle {
  chunkIndex: number;
  finished: Promise<RebuildOutcome>;
  /** A returning member rebuilt only where the write-intent bitmap says it went stale. */
  partial: boolean;
}

export interface ResyncHandle {
  finished: Promise<ResyncOutcome>;
}

/** What the crash-safety machinery did since the volume was opened (tests, the simulator, bioctl). */
export interface RecoveryInfo {
  dirtyAtAssembly: boolean;
  bitmapFound: boolean;
  regionsPendingAtAssembly: number;
  partialParityLog: RecoveryResult | null;
}

export class Volume implements BlockDevice {
  readonly sizeBytes: number;
  readonly blockSizeMinBytes: number;
  readonly blockSizePreferredBytes: number;
  readonly requestBytesMax: number;
  readonly readOnly = false;
  readonly flushIsGlobal = true;
  readonly members: MemberSet;
  readonly clock: Clock;
  private readonly discipline: Discipline;
  private readonly geometry: Geometry;
  private readonly limits: VolumeLimits;
  private readonly locks: RangeLock;
  private readonly admission: Admission;
  /** Every request in flight, as a promise that never rejects: flush and close wait on them. */
  private readonly writesInFlight = new Set<Promise<void>>();
  private readonly requestsInFlight = new Set<Promise<void>>();
  private lastRequestEndMs = Number.NEGATIVE_INFINITY;
  private zeroes: Uint8Array | null = null;
  private rebuild: Rebuild | null = null;
  /** Settles when the last rebuild launched has ended and let go of `rebuild`. */
  private rebuildEnded: Promise<void> = Promise.resolve();
  private closing = false;
  /** The dirty flag as the members hold it (the record's may be set by the owner before it is saved). */
  private dirtyOnDisk: boolean;
  /** Set at assembly: the volume was not shut down cleanly (resync and log replay are due). */
  readonly dirtyAtAssembly: boolean;
  /** Redundant levels: the write-intent bitmap, loaded by ready(). */
  private bitmap: WriteIntentBitmap | null = null;
  private readonly writeIntentRegionBytes: number;
  private bitmapFound = false;
  /** RAID 5: the partial parity log. */
  private readonly ppl: PartialParityLog | null;
  private readyPromise: Promise<void> | null = null;
  private resync: Resync | null = null;
  private resyncFinished: Promise<ResyncOutcome> | null = null;
  private recoveryInfo: RecoveryInfo;
  /** ready() has finished: reads may share their range unless a resync is due there. */
  private recovered = false;
  /** Parity levels: the volume bytes of a row, and the gathering of partial rows into whole ones. */
  private readonly rowBytes: number;
  private readonly gather: RowGather | null;
  /** Where the last write to arrive ended: the next one starting there is part of a sequential stream. */
  private lastWriteEndBytes = -1;
  /** Submitters in the middle of handing over requests (BlockDevice.plug). */
  private plugged = 0;

  constructor(record: VolumeRecord, members: (ChunkBackend | null)[], private readonly deps: VolumeDeps, limits: Partial<VolumeLimits> = {}) {
    this.limits = { ...volumeLimitsDefault, ...limits };
    assert(record.kind !== 'hotspare', 'Volume: a hot spare is not a volume');
    this.discipline = disciplineFor(record.kind);
    this.geometry = geometryFromRecord(record);
    this.discipline.validate(this.geometry);
    const capacityBytes = this.discipline.volumeSizeBytes(this.geometry);
    assert(record.volumeSizeBytes > 0 && record.volumeSizeBytes <= capacityBytes,
      `volume ${record.deviceName}: recorded size ${record.volumeSizeBytes} exceeds the ${capacityBytes} bytes the chunks hold`);
    assert(this.discipline.capabilities.redundant === levelTable[record.kind].toleratedMissing(record.chunkCount) > 0,
      'discipline and level table disagree on redundancy');
    assert(Number.isSafeInteger(record.dataOffsetBytes) && record.dataOffsetBytes >= 0, 'Volume: bad data offset');
    members.forEach((member, index) => {
      assert(member === null || member.sizeBytes >= record.dataOffsetBytes + this.discipline.chunkUsedBytes(this.geometry, index),
        `volume ${record.deviceName}: member ${member?.name} smaller than its data area`);
    });
    this.sizeBytes = record.volumeSizeBytes;
    this.blockSizeMinBytes = Math.max(512, ...members.map((member) => member?.sectorSizeBytes ?? 512));
    this.blockSizePreferredBytes = this.discipline.preferredBlockSizeBytes(this.geometry);
    this.requestBytesMax = this.limits.requestBytesMax;
    this.clock = deps.clock;
    this.jobHost = {
      clock: deps.clock,
      isBusy: () => this.requestsInFlight.size > 0 || this.clock.nowMs() - this.lastRequestEndMs < this.limits.rebuildIdleAfterMs,
      rates: () => ({ rateBytesPerSecondMin: this.limits.rebuildRateBytesPerSecondMin, rateBytesPerSecondMax: this.limits.rebuildRateBytesPerSecondMax }),
    };
    this.members = new MemberSet(record, [...members], this.discipline.capabilities.redundant, deps);
    this.locks = new RangeLock(this.limits.requestsInFlightMax + 4);
    this.admission = new Admission(this.limits.requestsInFlightMax, this.limits.requestsWaitingMax);
    this.rowBytes = parityRowBytes(this.geometry);
    this.gather = this.rowBytes > 0
      ? new RowGather(this.rowBytes, { submit: (at, data) => this.lockedWrite(at, data), sleepMs: (ms) => this.clock.sleepMs(ms) })
      : null;
    // Not every member may hold the dirty state the assembled record shows: the first write saves it again.
    this.dirtyOnDisk = false;
    this.dirtyAtAssembly = record.dirty;
    this.recoveryInfo = { dirtyAtAssembly: record.dirty, bitmapFound: false, regionsPendingAtAssembly: 0, partialParityLog: null };
    // Crash safety (docs/write-ordering.md): redundant levels keep a write-intent
    // bitmap, RAID 5 a partial parity log, in the regions every v1 chunk reserves.
    const regions = record.reservedRegions ?? reservedRegionsDefault;
    const features = record.featureFlags ?? 0;
    let wanted = features;
    this.writeIntentRegionBytes = 0;
    if (this.discipline.resyncPiece !== undefined && this.discipline.chunkRangeOf !== undefined && regions.bitmap.lengthBytes > 0) {
      this.writeIntentRegionBytes = record.writeIntentRegionBytes
        || writeIntentRegionBytesFor(this.discipline.chunkUsedBytes(this.geometry, 0), this.geometry.stripSizeBytes, regions.bitmap,
          this.limits.writeIntentRegionBytesAtLeast);
      wanted |= featureFlag.writeIntentBitmap;
    }
    this.ppl = null;
    if (this.geometry.level === 'raid5' && regions.journal.lengthBytes > 0) {
      this.ppl = new PartialParityLog(this.members, regions.journal);
      wanted |= featureFlag.partialParityLog | featureFlag.partialParityLogMarks;
    }
    if (wanted !== features || (this.writeIntentRegionBytes !== 0 && record.writeIntentRegionBytes !== this.writeIntentRegionBytes)) {
      record.featureFlags = wanted;
      if (this.writeIntentRegionBytes !== 0) record.writeIntentRegionBytes = this.writeIntentRegionBytes;
      this.members.touch();
    }
  }

  /** What crash recovery found and did (after ready()). */
  get recovery(): RecoveryInfo {
    return this.recoveryInfo;
  }

  /** The write-intent bitmap once loaded (tests and figures). */
  get writeIntent(): WriteIntentBitmap | null {
    return this.bitmap;
  }

  /** Parity levels: what write gathering did (row-gather.ts); null on other levels. */
  get writeGathering(): RowGather['counters'] | null {
    return this.gather?.counters ?? null;
  }

  get partialParityLog(): PartialParityLog | null {
    return this.ppl;
  }

  get state(): VolumeState {
    return this.members.state;
  }

  get record(): VolumeRecord {
    return this.members.record;
  }

  async read(offsetBytes: number, into: Uint8Array): Promise<void> {
    this.checkRequest(offsetBytes, into.length, 'read');
    if (into.length === 0) return;
    this.gather?.noteArrival();
    this.gather?.releaseOverlapping(offsetBytes, into.length);
    await this.track(this.requestsInFlight, this.locked(offsetBytes, into.length, this.readLockMode(offsetBytes, into.length), async () => {
      await this.ready();
      await this.resyncPendingUnderLock(offsetBytes, into.length);
      await this.withRetry(() => this.discipline.read(this.members, this.geometry, offsetBytes, into));
    }));
  }

  async write(offsetBytes: number, data: Uint8Array, options: WriteOptions): Promise<void> {
    this.checkRequest(offsetBytes, data.length, 'write');
    if (data.length > 0) {
      const request = this.gather === null ? this.lockedWrite(offsetBytes, data) : this.writeByRows(offsetBytes, data, !options.fua);
      await this.track(this.writesInFlight, this.track(this.requestsInFlight, request));
    }
    if (options.fua) await this.flushMembers();
  }

  plug(): void {
    this.plugged++;
  }

  unplug(): void {
    assert(this.plugged > 0, 'Volume: unplug without plug');
    this.plugged--;
    this.releaseHeldIfIdle();
  }

  /** Nothing in flight and nothing being handed over: no request is coming soon to complete a held row. */
  private releaseHeldIfIdle(): void {
    if (this.plugged === 0 && this.admission.requestsInFlight === 0) this.gather?.releaseAll();
  }

  private lockedWrite(offsetBytes: number, data: Uint8Array): Promise<void> {
    return this.locked(offsetBytes, data.length, 'exclusive', async () => {
      await this.markDirty();
      await this.ready();
      await this.writeRange(offsetBytes, data);
    });
  }

  /**
   * Parity levels: a write is cut at row boundaries and each piece takes its
   * own row lock, so that two requests sharing a row wait for each other
   * only there, and their whole rows go ahead in parallel. Partial rows go
   * through the row gatherer: the last one of a sequential write may wait
   * for the next request to complete it (row-gather.ts). Pieces are queued
   * synchronously, in order, so conflicting requests still run in arrival
   * order row by row.
   */
  private async writeByRows(offsetBytes: number, data: Uint8Array, mayHold: boolean): Promise<void> {
    const gather = this.gather!;
    const rowBytes = this.rowBytes;
    const endBytes = offsetBytes + data.length;
    // Held only in a sequential stream with company: more requests in flight or on their way.
    const hold = mayHold && offsetBytes === this.lastWriteEndBytes;
    this.lastWriteEndBytes = endBytes;
    const company = (): boolean => this.admission.requestsInFlight > 0 || this.plugged > 0;
    gather.noteArrival();
    const pieces: Promise<void>[] = [];
    const view = (from: number, to: number): Uint8Array => data.subarray(from - offsetBytes, to - offsetBytes);
    const wholeStart = Math.min(alignUp(offsetBytes, rowBytes), endBytes);
    const wholeEnd = Math.max(alignDown(endBytes, rowBytes), wholeStart);
    if (offsetBytes < wholeStart) {
      // Head piece: the whole request when it ends inside its first row.
      const isLast = wholeStart === endBytes;
      pieces.push(gather.offer(offsetBytes, view(offsetBytes, wholeStart), isLast && hold && company()));
    }
    if (wholeStart < wholeEnd) {
      gather.releaseOverlapping(wholeStart, wholeEnd - wholeStart);
      pieces.push(this.lockedWrite(wholeStart, view(wholeStart, wholeEnd)));
    }
    if (wholeEnd < endBytes) {
      pieces.push(gather.offer(wholeEnd, view(wholeEnd, endBytes), hold && company()));
    }
    const outcomes = await Promise.allSettled(pieces);
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
  }

  /**
   * Writes zeroes through the normal write path, in pieces of a shared zero
   * buffer, under one lock for the whole range. `mayTrim` is not used: on
   * every level zeroes keep mirrors and parity exact.
   */
  async writeZeroes(offsetBytes: number, lengthBytes: number, options: WriteZeroesOptions): Promise<void> {
    this.checkRange(offsetBytes, lengthBytes, 'write');
    if (lengthBytes > 0) {
      this.zeroes ??= new Uint8Array(this.limits.zeroPieceBytes);
      const zeroes = this.zeroes;
      this.gather?.noteArrival();
      this.gather?.releaseOverlapping(offsetBytes, lengthBytes);
      const request = this.locked(offsetBytes, lengthBytes, 'exclusive', async () => {
        await this.markDirty();
        await this.ready();
        for (let done = 0; done < lengthBytes;) {
          const pieceBytes = Math.min(zeroes.length, lengthBytes - done);
          await this.writeRange(offsetBytes + done, zeroes.subarray(0, pieceBytes));
          done += pieceBytes;
        }
      });
      await this.track(this.writesInFlight, this.track(this.requestsInFlight, request));
    }
    if (options.fua) await this.flushMembers();
  }

  /**
   * Advisory discard: does nothing, which the contract allows (the range
   * reads back as its old contents). Passing discards to members would let
   * mirrors and parity disagree on devices that do not read back zeroes.
   */
  async trim(offsetBytes: number, lengthBytes: number): Promise<void> {
    this.checkRange(offsetBytes, lengthBytes, 'write');
    await Promise.resolve();
  }

  /** Waits for every write issued before it, then flushes every member (durable). */
  async flush(): Promise<void> {
    this.checkOpen();
    await this.flushMembers();
  }

  info(): VolumeInfo {
    const record = this.record;
    return {
      deviceName: record.deviceName,
      uuid: record.uuid,
      level: this.geometry.level,
      layout: record.layout,
      stripSizeBytes: record.stripSizeBytes,
      state: this.scrubRun !== null && this.state === 'Online' ? 'Scrubbing' : this.state,
      sizeBytes: this.sizeBytes,
      dirty: record.dirty,
      noAutoAssemble: record.noAutoAssemble,
      chunks: record.chunks.map((chunk, chunkIndex) => {
        const member = this.members.member(chunkIndex);
        return { chunkIndex, name: member?.name ?? chunk.name, present: member !== null, state: chunk.state, sizeBytes: chunk.usableSizeBytes };
      }),
      progress: this.rebuild?.progress() ?? this.resync?.progress() ?? this.scrubRun?.progress() ?? null,
    };
  }

  /** The smallest member that can take chunk `chunkIndex`'s place (rebuild, a hot spare). */
  replacementBytesMin(chunkIndex: number): number {
    return this.record.dataOffsetBytes + this.discipline.chunkUsedBytes(this.geometry, chunkIndex);
  }

  /** bioctl -O: takes a chunk offline and saves the metadata. */
  async setChunkOffline(chunkIndex: number): Promise<void> {
    this.checkOpen();
    if (!Number.isSafeInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= this.geometry.chunkCount) {
      throw new SoftraidError(`${this.record.deviceName}: no chunk ${chunkIndex}`);
    }
    this.members.setChunkState(chunkIndex, 'Offline', 'set offline by request');
    await this.members.persist();
  }

  /**
   * bioctl -R (sr_rebuild_init): puts `member` in place of the Offline chunk,
   * which goes Rebuild (the volume Rebuild), saves the metadata and starts
   * regenerating the chunk in the background.
   */
  async startRebuild(chunkIndex: number, member: ChunkBackend): Promise<RebuildHandle> {
    this.checkOpen();
    const record = this.record;
    const name = record.deviceName;
    if (!this.discipline.capabilities.rebuild) throw new SoftraidError(`${name}: discipline does not support rebuild`);
    // A rebuild whose target just dropped out (the volume is Degraded again)
    // may still be finishing its pieces in flight: let it wind down first.
    if (this.rebuild !== null && this.state === 'Degraded') await this.rebuildEnded;
    if (this.state === 'Rebuild' || this.rebuild !== null) throw new SoftraidError(`${name}: rebuild already in progress`);
    if (this.state !== 'Degraded') throw new SoftraidError(`${name}: volume not degraded`);
    if (!Number.isSafeInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= this.geometry.chunkCount
      || this.members.chunkState(chunkIndex) !== 'Offline') {
      throw new SoftraidError(`${name}: no offline chunk ${chunkIndex} to rebuild`);
    }
    const requiredBytes = this.replacementBytesMin(chunkIndex);
    if (member.sizeBytes < requiredBytes) {
      throw new SoftraidError(`${member.name} partition too small, at least ${requiredBytes} bytes required`);
    }
    const stale = await this.staleOnlyWhereDirty(chunkIndex, member);
    if (this.state !== 'Degraded' || this.members.chunkState(chunkIndex) !== 'Offline' || this.rebuild !== null) {
      throw new SoftraidError(`${name}: volume changed while the rebuild was prepared`);
    }
    // Bitmap copies and log records left on the member by an earlier life of
    // this volume are stale: wipe them before it can take new ones.
    const regions = record.reservedRegions ?? reservedRegionsDefault;
    if (this.writeIntentRegionBytes !== 0) await wipeRegion(member, regions.bitmap);
    if (this.ppl !== null) await wipeRegion(member, regions.journal);
    this.members.replaceMember(chunkIndex, member);
    record.chunks[chunkIndex]!.usableSizeBytes = alignDown(member.sizeBytes - record.dataOffsetBytes, 512);
    record.rebuildCheckpointBytes = 0;
    this.members.setChunkState(chunkIndex, 'Rebuild', 'rebuild started');
    await this.members.persist();
    // The new member takes every bitmap update from now on: give it the bits set so far.
    await this.bitmap?.saveNow();
    const how = stale === null ? '' : ` (returning member: only the ${this.bitmap!.setBitCount()} regions written while it was away)`;
    this.members.emit({ name: 'RebuildStarted', chunkIndex, member: member.name, message: `rebuild of ${name} started on ${member.name}${how}` });
    return this.launchRebuild(chunkIndex, 0, stale);
  }

  /**
   * Resumes a rebuild recorded in the metadata (a chunk in state Rebuild) at
   * its checkpoint; returns null when there is none. The controller calls it
   * after assembly.
   */
  resumeRebuild(): RebuildHandle | null {
    this.checkOpen();
    // The owner calls this right after assembly: log replay and resync start with it.
    this.resumeResync();
    if (this.rebuild !== null || this.state === 'Offline') return null;
    const chunkIndex = this.record.chunks.findIndex((chunk) => chunk.state === 'Rebuild');
    if (chunkIndex < 0) return null;
    const totalBytes = this.discipline.chunkUsedBytes(this.geometry, chunkIndex);
    let startBytes = this.record.rebuildCheckpointBytes;
    const pieceAlignBytes = Math.max(this.geometry.stripSizeBytes, 1);
    let message = `resuming rebuild on ${this.record.chunks[chunkIndex]!.name} at byte ${startBytes}`;
    if (!Number.isSafeInteger(startBytes) || startBytes < 0 || startBytes >= totalBytes) {
      message = 'bogus rebuild restart offset, starting from 0';
      startBytes = 0;
    } else if (this.dirtyAtAssembly && this.ppl !== null && startBytes > 0) {
      // A crash during a RAID 5 rebuild: rows behind the checkpoint whose
      // write was cut may be inconsistent, and neither log replay nor resync
      // can fix a row whose strip sits on the chunk being rebuilt (it is not
      // readable). Regenerating it from the start makes every row consistent.
      message = `${this.record.deviceName} was not shut down cleanly during the rebuild: restarting it from 0`;
      startBytes = 0;
    }
    startBytes -= startBytes % pieceAlignBytes;
    this.members.emit({ name: 'RebuildStarted', chunkIndex, member: this.record.chunks[chunkIndex]!.name, message });
    return this.launchRebuild(chunkIndex, startBytes);
  }

  /**
   * After assembly: replays the partial parity log and, when the volume was
   * not shut down cleanly, resyncs the regions the write-intent bitmap marks
   * (all of them when no bitmap was found), in the background. Returns null
   * on a level without resync; otherwise the handle (idempotent).
   */
  resumeResync(): ResyncHandle | null {
    this.checkOpen();
    if (this.discipline.resyncPiece === undefined || this.writeIntentRegionBytes === 0) return null;
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
    this.checkOpen();
    await this.ready();
    const bitmap = this.bitmap;
    if (bitmap === null) throw new SoftraidError(`${this.record.deviceName}: no resync on this level`);
    if (this.resync !== null) throw new SoftraidError(`${this.record.deviceName}: resync already in progress`);
    bitmap.markResyncPending(true);
    await bitmap.persist();
    return this.runResync(null);
  }

  private async runResync(onlyBits: number[] | null): Promise<ResyncOutcome> {
    const bitmap = this.bitmap;
    assert(bitmap !== null, 'resync without a bitmap');
    const bits = onlyBits ?? bitmap.pendingBits({ firstBit: 0, endBit: bitmap.bitCount });
    if (bits.length === 0 || this.closing) return { status: 'finished', regions: 0, bytes: 0, elapsedMs: 0 };
    const resync = new Resync({ ...this.jobHost, bitmap, resyncRegion: (bit) => this.resyncRegion(bit) }, bits);
    this.resync = resync;
    try {
      return await resync.start();
    } finally {
      if (this.resync === resync) this.resync = null;
    }
  }

  /** Resyncs what is still pending of one region, a rebuild piece at a time under the range lock. */
  private async resyncRegion(bit: number): Promise<void> {
    const bitmap = this.bitmap!;
    const lockRangeOf = this.discipline.rebuildLockRange!;
    const region = bitmap.rangeOf(bit);
    for (let doneBytes = 0; doneBytes < region.lengthBytes && bitmap.isResyncPending(bit);) {
      const lengthBytes = Math.min(this.limits.rebuildPieceBytes, region.lengthBytes - doneBytes);
      const chunkOffsetBytes = region.offsetBytes + doneBytes;
      const range = lockRangeOf(this.geometry, chunkOffsetBytes, lengthBytes);
      const release = await this.locks.acquire(range.offsetBytes, range.lengthBytes);
      try {
        // A request may have resynced the region while this piece waited for its lock, and a
        // flush may have cleared its bit since: a write there now would break the bitmap's rule.
        if (!bitmap.isResyncPending(bit)) break;
        await this.withRetry(() => this.discipline.resyncPiece!(this.members, this.geometry, chunkOffsetBytes, lengthBytes));
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
  private async resyncPendingUnderLock(offsetBytes: number, lengthBytes: number): Promise<void> {
    const bitmap = this.bitmap;
    if (bitmap === null || this.resyncFinished === null || lengthBytes === 0 || bitmap.resyncPendingCount === 0) return;
    const chunkRange = this.discipline.chunkRangeOf!(this.geometry, offsetBytes, lengthBytes);
    const pending = bitmap.pendingBits(bitmap.bitsOf(chunkRange));
    for (const bit of pending) {
      const region = bitmap.rangeOf(bit);
      const startBytes = Math.max(region.offsetBytes, chunkRange.offsetBytes);
      const endBytes = Math.min(region.offsetBytes + region.lengthBytes, chunkRange.offsetBytes + chunkRange.lengthBytes);
      if (endBytes <= startBytes) continue;
      await this.withRetry(() => this.discipline.resyncPiece!(this.members, this.geometry, startBytes, endBytes - startBytes));
      if (startBytes === region.offsetBytes && endBytes === region.offsetBytes + region.lengthBytes) bitmap.resyncDone(bit);
    }
  }

  /**
   * Once, before the first I/O of any kind: replays the partial parity log
   * (RAID 5) and loads the write-intent bitmap; when the volume was not shut
   * down cleanly, marks its set bits (all bits when none was found) pending
   * resync.
   */
  private ready(): Promise<void> {
    this.readyPromise ??= this.recover();
    return this.readyPromise;
  }

  private async recover(): Promise<void> {
    // Log replay and resync write: first every member must record the dirty
    // state (a member that missed the last save before the crash may not).
    if (this.dirtyAtAssembly) {
      this.members.touch();
      await this.members.persist();
    }
    if (this.writeIntentRegionBytes !== 0) await this.loadBitmap();
    if (this.ppl !== null) this.recoveryInfo.partialParityLog = await this.ppl.recover(this.record.uuid);
    this.recovered = true;
  }

  /**
   * Loads the union of the members' bitmaps and writes it back to all of
   * them, so that every member holds every set bit before anything is
   * written (log replay included).
   */
  private async loadBitmap(): Promise<void> {
    const regions = this.record.reservedRegions ?? reservedRegionsDefault;
    const loaded = await WriteIntentBitmap.load(this.members, this.clock, regions.bitmap, this.writeIntentRegionBytes,
      this.discipline.chunkUsedBytes(this.geometry, 0));
    this.bitmap = loaded.bitmap;
    this.bitmapFound = loaded.found;
    this.recoveryInfo.bitmapFound = loaded.found;
    // Without a bitmap, nobody can say where a member that is away now went
    // stale: only members that take a save from now on are tracked.
    if (!loaded.found) loaded.bitmap.lastClearEventCounter = this.record.eventCounter + 1;
    if (this.dirtyAtAssembly) this.recoveryInfo.regionsPendingAtAssembly = loaded.bitmap.markResyncPending(!loaded.found);
    await loaded.bitmap.saveNow();
  }

  /**
   * A member coming back (the same volume and chunk index in its metadata,
   * which is at least as recent as the last clearing of the bitmap) missed
   * only writes to regions whose bits are set: returns the predicate of the
   * pieces to copy, or null for a full rebuild.
   */
  private async staleOnlyWhereDirty(chunkIndex: number, member: ChunkBackend): Promise<((chunkOffsetBytes: number, lengthBytes: number) => boolean) | null> {
    if (this.writeIntentRegionBytes === 0) return null;
    await this.ready();
    const bitmap = this.bitmap!;
    let found;
    try {
      found = await readChunkMetadata(member);
    } catch (error) {
      // Unreadable or damaged metadata: a full rebuild. Anything else (an assertion) is a bug.
      if (!(error instanceof MetadataError) && !(error instanceof ChunkIoError)) throw error;
      return null;
    }
    if (found === null || found.record.uuid !== this.record.uuid || found.chunkIndex !== chunkIndex) return null;
    if (found.record.eventCounter < bitmap.lastClearEventCounter) return null;
    return (chunkOffsetBytes, lengthBytes) => {
      const bits = bitmap.bitsOf({ offsetBytes: chunkOffsetBytes, lengthBytes });
      for (let bit = bits.firstBit; bit < bits.endBit; bit++) if (bitmap.isSet(bit)) return true;
      return false;
    };
  }

  /**
   * The write path below the lock (docs/write-ordering.md): regions pending
   * resync resynced, the write-intent bits durable, then the discipline's
   * write, which logs partial parity between its reads and its writes (RAID
   * 5, in pieces that bound the log space one write takes).
   */
  private async writeRange(offsetBytes: number, data: Uint8Array): Promise<void> {
    await this.resyncPendingUnderLock(offsetBytes, data.length);
    const bitmap = this.bitmap;
    let bits: BitRange | null = null;
    if (bitmap !== null) {
      bits = bitmap.bitsOf(this.discipline.chunkRangeOf!(this.geometry, offsetBytes, data.length));
      await bitmap.startWrite(bits);
    }
    // A piece's log records are done once that piece's writes are (retired at the next member
    // flush), not at the end of the whole range: a range holding its earlier pieces' records
    // while it waits for log space for the next one, with other ranges doing the same, filled a
    // parity chunk's log with records nobody could finish (fio, 4k-512k random writes).
    let tickets: PplTicket[] = [];
    const ppl = this.ppl;
    const hooks = ppl === null ? {} : {
      beforeWrites: async (entries: PartialParityEntry[]): Promise<void> => {
        if (entries.length > 0) tickets.push(await ppl.log(entries, this.record.uuid));
      },
    };
    const piecesDone = (): void => {
      const finished = tickets;
      tickets = [];
      for (const ticket of finished) ticket.done();
    };
    try {
      for (const piece of this.writePieces(offsetBytes, data.length)) {
        const pieceData = data.subarray(piece.offsetBytes - offsetBytes, piece.offsetBytes - offsetBytes + piece.lengthBytes);
        try {
          await this.withRetry(() => this.discipline.write(this.members, this.geometry, piece.offsetBytes, pieceData, hooks));
        } finally {
          piecesDone();
        }
      }
    } finally {
      if (bitmap !== null && bits !== null) bitmap.endWrite(bits);
    }
  }

  /** RAID 5 with a log: whole rows in one piece, partial rows split at pplPieceBytesMax. */
  private writePieces(offsetBytes: number, lengthBytes: number): ByteRange[] {
    if (this.ppl === null) return [{ offsetBytes, lengthBytes }];
    const rowBytes = this.geometry.stripSizeBytes * (this.geometry.chunkCount - 1);
    const pieceBytesMax = Math.min(this.limits.pplPieceBytesMax, divFloor(this.ppl.capacityBytes, 4));
    const pieces: ByteRange[] = [];
    const endBytes = offsetBytes + lengthBytes;
    for (let at = offsetBytes; at < endBytes;) {
      const rowEndBytes = (divFloor(at, rowBytes) + 1) * rowBytes;
      let pieceEnd: number;
      if (at % rowBytes === 0 && rowEndBytes <= endBytes) {
        pieceEnd = Math.min(endBytes - ((endBytes - at) % rowBytes), at + Math.max(rowBytes, alignDown(this.limits.zeroPieceBytes, rowBytes)));
      } else {
        pieceEnd = Math.min(endBytes, rowEndBytes, at + pieceBytesMax);
      }
      pieces.push({ offsetBytes: at, lengthBytes: pieceEnd - at });
      at = pieceEnd;
    }
    return pieces;
  }

  /** Flushes, stops a rebuild at a checkpoint, and on a clean close saves dirty = false. */
  async close(options: { clean: boolean }): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.rebuild?.stop();
    await this.resync?.stop();
    await this.scrubRun?.stop();
    this.gather?.releaseAll();
    await Promise.all([...this.requestsInFlight]);
    let failure: unknown = null;
    let resyncPending = false;
    try {
      // Recovery (log replay, bitmap load) may be running, or not have run
      // at all if nothing touched the volume since assembly: it finishes
      // first, so that a clean close never hides a replay or resync still due.
      // An Offline volume has nothing left to flush: it closes as it is.
      if (this.state !== 'Offline') await this.ready();
      if (this.state !== 'Offline') await this.flushAll(0);
      const bitmap = this.bitmap;
      if (bitmap !== null) resyncPending = bitmap.pendingBits({ firstBit: 0, endBit: bitmap.bitCount }).length > 0;
    } catch (error) {
      // A volume that went Offline while closing closes as it is too.
      if (!(error instanceof VolumeIoError && this.state === 'Offline')) failure = error;
    }
    // A resync cut short keeps the volume dirty: the next assembly resumes it.
    if (options.clean && failure === null && this.state !== 'Offline' && this.record.dirty && !resyncPending) {
      this.record.dirty = false;
      this.members.touch();
    }
    try {
      await this.members.persist();
    } catch (error) {
      if (!(error instanceof VolumeIoError && this.state === 'Offline')) throw error;
    }
    this.dirtyOnDisk = this.record.dirty;
    if (failure !== null) throw failure;
  }

  private launchRebuild(chunkIndex: number, startBytes: number,
    isPieceStale: ((chunkOffsetBytes: number, lengthBytes: number) => boolean) | null = null): RebuildHandle {
    const host: RebuildHost = {
      ...this.jobHost,
      members: this.members,
      rebuildPiece: async (index, chunkOffsetBytes, lengthBytes) => {
        await this.ready();
        await this.rebuildPiece(index, chunkOffsetBytes, lengthBytes);
      },
    };
    const rebuild = new Rebuild(host, chunkIndex, startBytes, this.discipline.chunkUsedBytes(this.geometry, chunkIndex), {
      pieceBytes: this.limits.rebuildPieceBytes,
      piecesInFlightMax: this.limits.rebuildPiecesInFlightMax,
    }, isPieceStale);
    this.rebuild = rebuild;
    const finished = rebuild.start().finally(() => {
      if (this.rebuild === rebuild) this.rebuild = null;
    });
    this.rebuildEnded = finished.then(() => undefined, () => undefined);
    return { chunkIndex, finished, partial: isPieceStale !== null };
  }

  /** md's speed_limit_min/max for every background pass (rebuild, resync, scrub), the ones running included. */
  setRebuildRateLimits(limits: JobRates): void {
    assert(limits.rateBytesPerSecondMin > 0 && limits.rateBytesPerSecondMax >= limits.rateBytesPerSecondMin, 'bad rebuild rate limits');
    this.limits.rebuildRateBytesPerSecondMin = limits.rateBytesPerSecondMin;
    this.limits.rebuildRateBytesPerSecondMax = limits.rateBytesPerSecondMax;
  }

  /** What every background pass needs of the volume (background-job.ts): the clock, whether it is busy, the rates now. */
  private readonly jobHost: JobHost;

  // ---- scrub: check and repair (scrub.ts; docs/scrub.md) ----

  private scrubRun: Scrub | null = null;
  private lastScrubResult: ScrubResult | null = null;

  /**
   * Starts a consistency check of every stripe (repair: also rewrite what
   * disagrees). Only on a redundant level, with every chunk Online and no
   * rebuild or scrub running. It runs under the range lock, paced by the
   * rebuild rate limits; the volume reports Scrubbing meanwhile.
   */
  startScrub(options: { repair: boolean }): { finished: Promise<ScrubResult> } {
    this.checkOpen();
    const name = this.record.deviceName;
    if (!this.discipline.capabilities.redundant || this.discipline.rebuildLockRange === undefined) {
      throw new SoftraidError(`${name}: ${levelTable[this.geometry.level].displayName} has no redundancy to scrub`);
    }
    if (this.scrubRun !== null) throw new SoftraidError(`${name}: scrub already in progress`);
    if (this.rebuild !== null || this.state === 'Rebuild') throw new SoftraidError(`${name}: rebuild in progress`);
    // Regions a crash left dirty would count as mismatches: crash recovery first.
    if (this.resync !== null) throw new SoftraidError(`${name}: resync in progress`);
    if (this.state !== 'Online') throw new SoftraidError(`${name}: volume is ${this.state}, a scrub needs every chunk online`);
    const lockRange = this.discipline.rebuildLockRange;
    const scrub = new Scrub({
      ...this.jobHost,
      members: this.members,
      geometry: this.geometry,
      chunkUsedBytes: this.discipline.chunkUsedBytes(this.geometry, 0),
      lockRange: (chunkOffsetBytes, lengthBytes) => lockRange(this.geometry, chunkOffsetBytes, lengthBytes),
      lock: (range) => this.locks.acquire(range.offsetBytes, range.lengthBytes),
      beforeRewrite: (chunkOffsetBytes, lengthBytes) => this.beforeScrubRewrite(chunkOffsetBytes, lengthBytes),
    }, { repair: options.repair, pieceBytes: this.limits.rebuildPieceBytes, blockBytes: this.blockSizeMinBytes });
    this.scrubRun = scrub;
    // Crash recovery (log replay, bitmap) runs first: what it repairs is no mismatch.
    const recovered = this.ready().catch((error: unknown) => {
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
  async stopScrub(): Promise<ScrubResult | null> {
    const scrub = this.scrubRun;
    if (scrub === null) return null;
    return scrub.stop();
  }

  get scrubbing(): boolean {
    return this.scrubRun !== null;
  }

  /** The last scrub that ended on this volume since it was opened. */
  get lastScrub(): ScrubResult | null {
    return this.lastScrubResult;
  }

  /** A scrub rewrite follows the write path's first rules (docs/write-ordering.md, 1 and 3). */
  private async beforeScrubRewrite(chunkOffsetBytes: number, lengthBytes: number): Promise<() => void> {
    await this.markDirty();
    const bitmap = this.bitmap;
    if (bitmap === null) return () => {};
    const bits = bitmap.bitsOf({ offsetBytes: chunkOffsetBytes, lengthBytes });
    await bitmap.startWrite(bits);
    return () => bitmap.endWrite(bits);
  }

  // ---- end of scrub ----

  private async rebuildPiece(chunkIndex: number, chunkOffsetBytes: number, lengthBytes: number): Promise<void> {
    const rebuildLockRange = this.discipline.rebuildLockRange;
    const rebuildPiece = this.discipline.rebuildPiece;
    assert(rebuildLockRange !== undefined && rebuildPiece !== undefined, 'rebuild on a discipline without rebuild');
    const range = rebuildLockRange(this.geometry, chunkOffsetBytes, lengthBytes);
    const release = await this.locks.acquire(range.offsetBytes, range.lengthBytes);
    try {
      await this.withRetry(() => {
        if (this.members.chunkState(chunkIndex) !== 'Rebuild') throw new RebuildTargetLost(`chunk ${chunkIndex} left state Rebuild`);
        return rebuildPiece(this.members, this.geometry, chunkIndex, chunkOffsetBytes, lengthBytes);
      });
    } finally {
      release();
    }
  }

  /** Admission, then the overlap lock, queued synchronously so overlapping requests run in arrival order. */
  private async locked(offsetBytes: number, lengthBytes: number, mode: LockMode, operation: () => Promise<void>): Promise<void> {
    const waiting = this.admission.enter();
    try {
      if (waiting !== null) await waiting;
      const range = this.discipline.lockRange(this.geometry, offsetBytes, lengthBytes);
      const release = await this.locks.acquire(range.offsetBytes, range.lengthBytes, mode);
      try {
        await operation();
      } finally {
        release();
      }
    } finally {
      this.admission.leave();
      this.lastRequestEndMs = this.clock.nowMs();
      this.releaseHeldIfIdle();
    }
  }

  /**
   * Reads share their range (they never wait for each other, RAID 5 reads
   * of one row included) once recovery has run and no resync is due there:
   * a read that must resync first writes, so it takes the range alone.
   */
  private readLockMode(offsetBytes: number, lengthBytes: number): LockMode {
    if (!this.recovered) return 'exclusive';
    const bitmap = this.bitmap;
    if (bitmap === null || this.resyncFinished === null || bitmap.resyncPendingCount === 0) return 'shared';
    const pending = bitmap.pendingBits(bitmap.bitsOf(this.discipline.chunkRangeOf!(this.geometry, offsetBytes, lengthBytes)));
    return pending.length === 0 ? 'shared' : 'exclusive';
  }

  /**
   * Runs a discipline operation; when a chunk dropped out under it
   * (ChunkRetry) it is planned again from the chunks left. Each retry follows
   * a chunk going Offline, so a request is retried at most chunkCount times.
   */
  private async withRetry(operation: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.state === 'Offline') throw this.members.offlineError();
      try {
        return await operation();
      } catch (error) {
        if (!(error instanceof ChunkRetry)) throw error;
        if (attempt >= 2 * this.geometry.chunkCount) throw new VolumeIoError('EIO', `${this.record.deviceName}: request failed after ${attempt + 1} attempts`);
      }
    }
  }

  /**
   * First write since the volume was clean: record dirty before any data
   * changes (md's safe mode). The record's flag may already be set by the
   * owner without being saved, so what counts is what the members hold.
   */
  private async markDirty(): Promise<void> {
    if (!this.dirtyOnDisk) {
      this.record.dirty = true;
      this.members.touch();
    }
    await this.members.persist();
    this.dirtyOnDisk = true;
  }

  private async flushMembers(): Promise<void> {
    this.gather?.releaseAll();
    await Promise.all([...this.writesInFlight]);
    await this.flushAll(this.limits.bitmapCleanAfterMs);
  }

  /**
   * A member flush with the log and the bitmap in step (docs/write-ordering.md):
   * 1. flush every member: every write completed so far is durable;
   * 2. RAID 5: retire the log records of the writes done before 1 started
   *    (a mark on each chunk holding them, written and flushed), so no valid
   *    record outlives the flush that covered it;
   * 3. clear the bits of regions idle since before 1 (every chunk Online)
   *    and save the bitmap.
   */
  private async flushAll(cleanAfterMs: number): Promise<void> {
    const flushNumber = this.bitmap?.flushStarting() ?? 0;
    const retirementPoint = this.ppl?.retirementPoint() ?? null;
    await this.members.flush();
    if (retirementPoint !== null) await this.ppl!.retire(retirementPoint);
    const bitmap = this.bitmap;
    if (bitmap !== null) {
      const mayClear = this.state === 'Online' && this.rebuild === null && this.record.chunks.every((chunk) => chunk.state === 'Online');
      await bitmap.flushCompleted(flushNumber, { cleanAfterMs, eventCounter: this.record.eventCounter, mayClear });
    }
  }

  private track(set: Set<Promise<void>>, request: Promise<void>): Promise<void> {
    const settled = request.then(() => {}, () => {});
    set.add(settled);
    void settled.finally(() => set.delete(settled));
    return request;
  }

  private checkOpen(): void {
    if (this.closing) throw new VolumeIoError('ESHUTDOWN', `${this.record.deviceName}: volume is closed`);
  }

  private checkRequest(offsetBytes: number, lengthBytes: number, operation: 'read' | 'write'): void {
    if (lengthBytes > this.requestBytesMax) {
      throw new VolumeIoError('EINVAL', `${operation} of ${lengthBytes} bytes exceeds requestBytesMax ${this.requestBytesMax}`);
    }
    this.checkRange(offsetBytes, lengthBytes, operation);
  }

  private checkRange(offsetBytes: number, lengthBytes: number, operation: 'read' | 'write'): void {
    this.checkOpen();
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0 || !Number.isSafeInteger(lengthBytes) || lengthBytes < 0
      || offsetBytes + lengthBytes > this.sizeBytes) {
      throw new VolumeIoError(operation === 'write' ? 'ENOSPC' : 'EINVAL',
        `${operation} at ${offsetBytes}+${lengthBytes} beyond the end of ${this.record.deviceName} (${this.sizeBytes} bytes)`);
    }
  }
}

/** Zeroes a reserved region of a chunk that is not (yet) a member, and flushes it. */
async function wipeRegion(chunk: ChunkBackend, region: { offsetBytes: number; lengthBytes: number }): Promise<void> {
  try {
    await chunk.write(new Uint8Array(region.lengthBytes), region.offsetBytes);
    await chunk.flush();
  } catch (error) {
    if (error instanceof ChunkIoError) throw new SoftraidError(`${chunk.name}: cannot prepare it for rebuild: ${error.message}`);
    throw error;
  }
}
