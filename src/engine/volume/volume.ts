// A RAID volume: softraid's generic core for one discipline instance. It
// admits requests (bounded), serializes overlapping ones (RangeLock), runs
// the discipline with the failure policy of MemberSet and retries a request
// when a chunk drops out, keeps flush ordering, and schedules rebuilds.
import { assert } from '../../lib/assert.js';
import { SoftraidError, VolumeIoError } from '../../lib/errors.js';
import { alignDown } from '../../lib/units.js';
import { levelTable, type Raid5Layout, type RaidLevel } from '../levels.js';
import { disciplineFor } from '../disciplines/registry.js';
import { geometryFromRecord } from '../disciplines/geometry.js';
import { ChunkRetry } from '../disciplines/sub-io.js';
import { Admission } from './admission.js';
import { volumeLimitsDefault, type VolumeLimits } from './limits.js';
import { MemberSet } from './member-set.js';
import { Rebuild, RebuildTargetLost, type RebuildHost, type RebuildOutcome, type RebuildProgress } from './rebuild.js';
import { RangeLock } from './stripe-lock.js';
import { Scrub, type ScrubProgress, type ScrubResult } from './scrub.js';
import type { BlockDevice, WriteOptions, WriteZeroesOptions } from '../block-device.js';
import type { ChunkBackend } from '../chunk.js';
import type { Discipline, Geometry } from '../disciplines/discipline.js';
import type { VolumeRecord } from '../metadata/record.js';
import type { ChunkState, VolumeState } from '../state.js';
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
  progress: RebuildProgress | ScrubProgress | null;
}

export interface RebuildHandle {
  chunkIndex: number;
  finished: Promise<RebuildOutcome>;
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
  private closing = false;

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
    this.members = new MemberSet(record, [...members], this.discipline.capabilities.redundant, deps);
    this.locks = new RangeLock(this.limits.requestsInFlightMax + 2);
    this.admission = new Admission(this.limits.requestsInFlightMax, this.limits.requestsWaitingMax);
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
    await this.track(this.requestsInFlight, this.locked(offsetBytes, into.length,
      () => this.withRetry(() => this.discipline.read(this.members, this.geometry, offsetBytes, into))));
  }

  async write(offsetBytes: number, data: Uint8Array, options: WriteOptions): Promise<void> {
    this.checkRequest(offsetBytes, data.length, 'write');
    if (data.length > 0) {
      const request = this.locked(offsetBytes, data.length, async () => {
        await this.markDirty();
        await this.withRetry(() => this.discipline.write(this.members, this.geometry, offsetBytes, data));
      });
      await this.track(this.writesInFlight, this.track(this.requestsInFlight, request));
    }
    if (options.fua) await this.flushMembers();
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
      const request = this.locked(offsetBytes, lengthBytes, async () => {
        await this.markDirty();
        for (let done = 0; done < lengthBytes;) {
          const pieceBytes = Math.min(zeroes.length, lengthBytes - done);
          const pieceOffsetBytes = offsetBytes + done;
          await this.withRetry(() => this.discipline.write(this.members, this.geometry, pieceOffsetBytes, zeroes.subarray(0, pieceBytes)));
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
      progress: this.rebuild?.progress() ?? this.scrubRun?.progress() ?? null,
    };
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
    if (this.state === 'Rebuild' || this.rebuild !== null) throw new SoftraidError(`${name}: rebuild already in progress`);
    if (this.state !== 'Degraded') throw new SoftraidError(`${name}: volume not degraded`);
    if (!Number.isSafeInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= this.geometry.chunkCount
      || this.members.chunkState(chunkIndex) !== 'Offline') {
      throw new SoftraidError(`${name}: no offline chunk ${chunkIndex} to rebuild`);
    }
    const requiredBytes = record.dataOffsetBytes + this.discipline.chunkUsedBytes(this.geometry, chunkIndex);
    if (member.sizeBytes < requiredBytes) {
      throw new SoftraidError(`${member.name} partition too small, at least ${requiredBytes} bytes required`);
    }
    this.members.replaceMember(chunkIndex, member);
    record.chunks[chunkIndex]!.usableSizeBytes = alignDown(member.sizeBytes - record.dataOffsetBytes, 512);
    record.rebuildCheckpointBytes = 0;
    this.members.setChunkState(chunkIndex, 'Rebuild', 'rebuild started');
    await this.members.persist();
    this.members.emit({ name: 'RebuildStarted', chunkIndex, member: member.name, message: `rebuild of ${name} started on ${member.name}` });
    return this.launchRebuild(chunkIndex, 0);
  }

  /**
   * Resumes a rebuild recorded in the metadata (a chunk in state Rebuild) at
   * its checkpoint; returns null when there is none. The controller calls it
   * after assembly.
   */
  resumeRebuild(): RebuildHandle | null {
    this.checkOpen();
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
    }
    startBytes -= startBytes % pieceAlignBytes;
    this.members.emit({ name: 'RebuildStarted', chunkIndex, member: this.record.chunks[chunkIndex]!.name, message });
    return this.launchRebuild(chunkIndex, startBytes);
  }

  /** Flushes, stops a rebuild at a checkpoint, and on a clean close saves dirty = false. */
  async close(options: { clean: boolean }): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.rebuild?.abort();
    await this.scrubRun?.stop();
    await Promise.all([...this.requestsInFlight]);
    let failure: unknown = null;
    try {
      await this.members.flush();
    } catch (error) {
      failure = error;
    }
    if (options.clean && failure === null && this.state !== 'Offline' && this.record.dirty) {
      this.record.dirty = false;
      this.members.touch();
    }
    await this.members.persist();
    if (failure !== null) throw failure;
  }

  private launchRebuild(chunkIndex: number, startBytes: number): RebuildHandle {
    const host: RebuildHost = {
      members: this.members,
      clock: this.clock,
      rebuildPiece: (index, chunkOffsetBytes, lengthBytes) => this.rebuildPiece(index, chunkOffsetBytes, lengthBytes),
      isBusy: () => this.requestsInFlight.size > 0 || this.clock.nowMs() - this.lastRequestEndMs < this.limits.rebuildIdleAfterMs,
    };
    const rebuild = new Rebuild(host, chunkIndex, startBytes, this.discipline.chunkUsedBytes(this.geometry, chunkIndex), {
      pieceBytes: this.limits.rebuildPieceBytes,
      rateBytesPerSecondMin: this.limits.rebuildRateBytesPerSecondMin,
      rateBytesPerSecondMax: this.limits.rebuildRateBytesPerSecondMax,
    });
    this.rebuild = rebuild;
    const finished = rebuild.start().finally(() => {
      if (this.rebuild === rebuild) this.rebuild = null;
    });
    return { chunkIndex, finished };
  }

  /** md's speed_limit_min/max for rebuilds started or resumed from now on, and the one running. */
  setRebuildRateLimits(limits: { rateBytesPerSecondMin: number; rateBytesPerSecondMax: number }): void {
    assert(limits.rateBytesPerSecondMin > 0 && limits.rateBytesPerSecondMax >= limits.rateBytesPerSecondMin, 'bad rebuild rate limits');
    this.limits.rebuildRateBytesPerSecondMin = limits.rateBytesPerSecondMin;
    this.limits.rebuildRateBytesPerSecondMax = limits.rateBytesPerSecondMax;
    if (this.rebuild) {
      this.rebuild.pacing.rateBytesPerSecondMin = limits.rateBytesPerSecondMin;
      this.rebuild.pacing.rateBytesPerSecondMax = limits.rateBytesPerSecondMax;
    }
  }

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
    if (this.state !== 'Online') throw new SoftraidError(`${name}: volume is ${this.state}, a scrub needs every chunk online`);
    const lockRange = this.discipline.rebuildLockRange;
    const scrub = new Scrub({
      members: this.members,
      clock: this.clock,
      geometry: this.geometry,
      chunkUsedBytes: this.discipline.chunkUsedBytes(this.geometry, 0),
      lockRange: (chunkOffsetBytes, lengthBytes) => lockRange(this.geometry, chunkOffsetBytes, lengthBytes),
      lock: (range) => this.locks.acquire(range.offsetBytes, range.lengthBytes),
      isBusy: () => this.requestsInFlight.size > 0 || this.clock.nowMs() - this.lastRequestEndMs < this.limits.rebuildIdleAfterMs,
      rates: () => ({ rateBytesPerSecondMin: this.limits.rebuildRateBytesPerSecondMin, rateBytesPerSecondMax: this.limits.rebuildRateBytesPerSecondMax }),
    }, { repair: options.repair, pieceBytes: this.limits.rebuildPieceBytes, blockBytes: this.blockSizeMinBytes });
    this.scrubRun = scrub;
    const finished = scrub.start().then((result) => {
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
  private async locked(offsetBytes: number, lengthBytes: number, operation: () => Promise<void>): Promise<void> {
    const waiting = this.admission.enter();
    try {
      if (waiting !== null) await waiting;
      const range = this.discipline.lockRange(this.geometry, offsetBytes, lengthBytes);
      const release = await this.locks.acquire(range.offsetBytes, range.lengthBytes);
      try {
        await operation();
      } finally {
        release();
      }
    } finally {
      this.admission.leave();
      this.lastRequestEndMs = this.clock.nowMs();
    }
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

  /** First write since the volume was clean: record dirty before any data changes (md's safe mode). */
  private async markDirty(): Promise<void> {
    if (!this.record.dirty) {
      this.record.dirty = true;
      this.members.touch();
    }
    await this.members.persist();
  }

  private async flushMembers(): Promise<void> {
    await Promise.all([...this.writesInFlight]);
    await this.members.flush();
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
