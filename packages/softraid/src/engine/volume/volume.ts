// A RAID volume: softraid's generic core for one discipline instance, and
// its request path. It admits requests (bounded), serializes overlapping
// ones (RangeLock), runs the discipline with the failure policy of MemberSet
// and retries a request when a chunk drops out, and keeps flush ordering
// (docs/write-ordering.md). Its other jobs are parts of their own, sharing
// VolumeInternals (internals.ts): crash recovery and resync (recovery.ts),
// rebuilds (rebuilding.ts), scrubs (scrubbing.ts), the crash-safety
// features it runs with (features.ts); the passes in the background share
// one shape (background-job.ts).
import { assert } from '@openbsd38/libutil/assert.js';
import { ChunkIoError, SoftraidError, VolumeIoError } from '../errors.js';
import { alignDown, alignUp, divFloor } from '@openbsd38/libutil/units.js';
import { levelTable, type Raid5Layout, type RaidLevel } from '@openbsd38/bio/levels.js';
import { disciplineFor } from '../disciplines/registry.js';
import { geometryFromRecord } from '../disciplines/geometry.js';
import { ChunkRetry } from '../disciplines/sub-io.js';
import { Admission } from './admission.js';
import { volumeLimitsDefault, type VolumeLimits } from './limits.js';
import { MemberSet } from './member-set.js';
import type { RebuildProgress } from './rebuild.js';
import { CrashRecovery, type RecoveryInfo, type ResyncHandle } from './recovery.js';
import { Rebuilding, type RebuildHandle } from './rebuilding.js';
import { Scrubbing } from './scrubbing.js';
import type { VolumeInternals } from './internals.js';
import { RangeLock, type LockMode } from './stripe-lock.js';
import { RowGather } from './row-gather.js';
import { WriteIntentBitmap, type BitRange } from './write-intent.js';
import { PartialParityLog, type PplTicket } from './partial-parity-log.js';
import { negotiateCrashSafety } from './features.js';
import type { ResyncOutcome, ResyncProgress } from './resync.js';
import type { JobHost, JobRates } from './background-job.js';
import type { ScrubProgress, ScrubResult } from './scrub.js';
import type { BlockDevice, WriteOptions, WriteZeroesOptions } from '@openbsd38/bio/block-device.js';
import type { ChunkBackend } from '../chunk.js';
import type { ByteRange, ChunkIo, Discipline, Geometry, PartialParityEntry } from '../disciplines/discipline.js';
import { encryptedIo } from './encrypted-io.js';
import { isVolumeKind, type VolumeRecord } from '../metadata/record.js';
import type { ChunkState, VolumeState } from '@openbsd38/bio/states.js';
import type { Clock, VolumeDeps } from './events.js';
import { cipherSectorBytes, withCiphertextBuffer, type SectorCipher } from '../crypto/sector-cipher.js';
import { writeKeyArea, type VolumeKeyArea } from '../metadata/key-area.js';
import { reservedRegionsDefault } from '../metadata/layout.js';

export interface ChunkInfo {
  chunkIndex: number;
  /** The member's name; the recorded name when it is missing. */
  name: string;
  present: boolean;
  state: ChunkState;
  /** Usable size of the member (softraid's scm_size). */
  sizeBytes: number;
  /** I/O errors the member returned since it took this slot. */
  ioErrors: number;
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
  private closing = false;
  /** The dirty flag as the members hold it (the record's may be set by the owner before it is saved). */
  private dirtyOnDisk: boolean;
  /** Set at assembly: the volume was not shut down cleanly (resync and log replay are due). */
  readonly dirtyAtAssembly: boolean;
  private readonly writeIntentRegionBytes: number;
  /** The volume's parts: crash recovery and resync, rebuilds, scrubs. */
  private readonly recoveryPart: CrashRecovery;
  private readonly rebuilding: Rebuilding;
  private readonly scrubs: Scrubbing;
  /** RAID 5: the partial parity log. */
  private readonly ppl: PartialParityLog | null;
  /** Parity levels: the volume bytes of a row, and the gathering of partial rows into whole ones. */
  private readonly rowBytes: number;
  private readonly gather: RowGather | null;
  /** Where the last write to arrive ended: the next one starting there is part of a sequential stream. */
  private lastWriteEndBytes = -1;
  /** Submitters in the middle of handing over requests (BlockDevice.plug). */
  private plugged = 0;
  /** CRYPTO, RAID 1C: the open data keys. Requests are encrypted here, above the discipline; null for other levels. */
  private cipher: SectorCipher | null;
  /** An encrypted level's member set as the discipline reads (and, for CRYPTO, writes) through it: reads decrypted, writes encrypted (encrypted-io.ts). */
  private readonly cipherIo: ChunkIo;
  /** Encrypted levels: the key area on every member (masked keys: no secret). */
  private currentKeyArea: VolumeKeyArea | null;

  constructor(record: VolumeRecord, members: (ChunkBackend | null)[], private readonly deps: VolumeDeps, limits: Partial<VolumeLimits> = {}) {
    this.limits = { ...volumeLimitsDefault, ...limits };
    assert(isVolumeKind(record.kind), 'Volume: a hot spare or key disk is not a volume');
    this.discipline = disciplineFor(record.kind);
    this.geometry = geometryFromRecord(record);
    this.discipline.validate(this.geometry);
    assert(this.discipline.capabilities.encrypted === (deps.encryption !== undefined),
      `volume ${record.deviceName}: ${deps.encryption === undefined ? 'an encrypted level without keys' : 'keys for a level that is not encrypted'}`);
    this.cipher = deps.encryption?.cipher ?? null;
    this.currentKeyArea = deps.encryption?.keyArea ?? null;
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
    this.cipherIo = this.cipher === null ? this.members : encryptedIo(this.members, this.cipher);
    this.locks = new RangeLock(this.limits.requestsInFlightMax + 4);
    this.admission = new Admission(this.limits.requestsInFlightMax, this.limits.requestsWaitingMax);
    this.rowBytes = this.discipline.rowBytes(this.geometry);
    this.gather = this.rowBytes > 0
      ? new RowGather(this.rowBytes, { submit: (at, data) => this.lockedWrite(at, data), sleepMs: (ms) => this.clock.sleepMs(ms) })
      : null;
    // Not every member may hold the dirty state the assembled record shows: the first write saves it again.
    this.dirtyOnDisk = false;
    this.dirtyAtAssembly = record.dirty;
    // Crash safety (features.ts): the write-intent bitmap and the partial parity log.
    const crashSafety = negotiateCrashSafety(record, this.discipline, this.geometry, this.limits);
    this.writeIntentRegionBytes = crashSafety.writeIntentRegionBytes;
    this.ppl = crashSafety.journal === null ? null : new PartialParityLog(this.members, crashSafety.journal,
      (io, entry) => this.discipline.replayPartialParity!(io, this.geometry, entry));
    if (crashSafety.recordChanged) this.members.touch();
    const internals: VolumeInternals = {
      members: this.members, discipline: this.discipline, geometry: this.geometry, limits: this.limits, locks: this.locks,
      jobHost: this.jobHost, dirtyAtAssembly: this.dirtyAtAssembly, writeIntentRegionBytes: this.writeIntentRegionBytes, ppl: this.ppl,
      blockSizeMinBytes: this.blockSizeMinBytes,
      withRetry: (operation) => this.withRetry(operation),
      checkOpen: () => this.checkOpen(),
      isClosing: () => this.closing,
      markDirty: () => this.markDirty(),
      replacementBytesMin: (chunkIndex) => this.replacementBytesMin(chunkIndex),
      keyArea: () => this.currentKeyArea,
    };
    this.recoveryPart = new CrashRecovery(internals);
    this.rebuilding = new Rebuilding(internals, this.recoveryPart);
    this.scrubs = new Scrubbing(internals, this.recoveryPart, this.rebuilding);
  }

  /** What crash recovery found and did (after ready()). */
  get recovery(): RecoveryInfo {
    return this.recoveryPart.info;
  }

  /** The write-intent bitmap once loaded (tests and figures). */
  get writeIntent(): WriteIntentBitmap | null {
    return this.recoveryPart.bitmap;
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
    await this.track(this.requestsInFlight, this.locked(offsetBytes, into.length, this.recoveryPart.readLockMode(offsetBytes, into.length), async () => {
      await this.recoveryPart.ready();
      await this.recoveryPart.resyncPendingUnderLock(offsetBytes, into.length);
      // Encrypted levels read through a view whose reads come back decrypted (encrypted-io.ts).
      await this.withRetry(() => this.discipline.read(this.cipherIo, this.geometry, offsetBytes, into));
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
      await this.recoveryPart.ready();
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
        await this.recoveryPart.ready();
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
      state: this.scrubs.running !== null && this.state === 'Online' ? 'Scrubbing' : this.state,
      sizeBytes: this.sizeBytes,
      dirty: record.dirty,
      noAutoAssemble: record.noAutoAssemble,
      chunks: record.chunks.map((chunk, chunkIndex) => {
        const member = this.members.member(chunkIndex);
        return { chunkIndex, name: member?.name ?? chunk.name, present: member !== null, state: chunk.state, sizeBytes: chunk.usableSizeBytes, ioErrors: this.members.ioErrorCount(chunkIndex) };
      }),
      progress: this.rebuilding.running?.progress() ?? this.recoveryPart.runningResync?.progress() ?? this.scrubs.running?.progress() ?? null,
    };
  }

  /** The smallest member that can take chunk `chunkIndex`'s place (rebuild, a hot spare). */
  replacementBytesMin(chunkIndex: number): number {
    return this.record.dataOffsetBytes + this.discipline.chunkUsedBytes(this.geometry, chunkIndex);
  }

  /** Encrypted levels: the key area the members hold; null for other levels. */
  get keyArea(): VolumeKeyArea | null {
    return this.currentKeyArea;
  }

  /**
   * bioctl -P: writes a new key area (the same data keys masked anew) to
   * every member present and not Offline, each slot by slot (key-area.ts).
   * A member whose write fails goes Offline, as for a failed metadata save.
   */
  async replaceKeyArea(area: VolumeKeyArea): Promise<void> {
    this.checkOpen();
    assert(this.currentKeyArea !== null && area.uuid === this.record.uuid && area.generation > this.currentKeyArea.generation,
      'replaceKeyArea: not the next key area of this volume');
    const region = (this.record.reservedRegions ?? reservedRegionsDefault).crypto;
    const targets = this.record.chunks.flatMap((chunk, index) => {
      const member = this.members.member(index);
      return member !== null && chunk.state !== 'Offline' ? [{ member, index }] : [];
    });
    const results = await Promise.allSettled(targets.map(({ member }) => writeKeyArea(member, region, area)));
    this.currentKeyArea = area;
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      if (!(result.reason instanceof ChunkIoError)) throw result.reason;
      this.members.setChunkState(targets[i]!.index, 'Offline', `key area write failed: ${result.reason.errno}`);
    });
    await this.members.persist();
    if (results.every((result) => result.status === 'rejected')) {
      throw new SoftraidError(`${this.record.deviceName}: the new key area reached no member`);
    }
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
   * The write path below the lock (docs/write-ordering.md): regions pending
   * resync resynced, the write-intent bits durable, then the discipline's
   * write, which logs partial parity between its reads and its writes (RAID
   * 5, in pieces that bound the log space one write takes).
   */
  private async writeRange(offsetBytes: number, plain: Uint8Array): Promise<void> {
    if (this.cipher === null) return this.writeRangeAs(offsetBytes, plain, this.members);
    // A level that writes each volume byte to one chunk (CRYPTO) encrypts in each chunk write, where
    // the owner's member I/O may do both in one step (encrypted-io.ts).
    if (!this.discipline.capabilities.redundant) return this.writeRangeAs(offsetBytes, plain, this.cipherIo);
    // A mirror (RAID 1C): every mirror gets the same ciphertext, encrypted once into a buffer of
    // its own (the caller's data and the shared zeroes stay as they are).
    const cipher = this.cipher;
    return withCiphertextBuffer(cipher, plain.length, async (sealed) => {
      await cipher.encryptSectors(offsetBytes / cipherSectorBytes, plain, sealed);
      await this.writeRangeAs(offsetBytes, sealed, this.members);
    });
  }

  private async writeRangeAs(offsetBytes: number, data: Uint8Array, io: ChunkIo): Promise<void> {
    await this.recoveryPart.resyncPendingUnderLock(offsetBytes, data.length);
    const bitmap = this.recoveryPart.bitmap;
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
          await this.withRetry(() => this.discipline.write(io, this.geometry, piece.offsetBytes, pieceData, hooks));
        } finally {
          piecesDone();
        }
      }
    } finally {
      if (bitmap !== null && bits !== null) bitmap.endWrite(bits);
    }
  }

  /**
   * A parity level with a log: whole rows in one piece, partial rows split at pplPieceBytesMax.
   * The row is the discipline's (RAID 6 has two parity strips per row, RAID 5 one): cut by
   * another row size, whole rows would be logged and read as partial ones.
   */
  private writePieces(offsetBytes: number, lengthBytes: number): ByteRange[] {
    if (this.ppl === null) return [{ offsetBytes, lengthBytes }];
    const rowBytes = this.rowBytes;
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
    await this.rebuilding.running?.stop();
    await this.recoveryPart.runningResync?.stop();
    await this.scrubs.running?.stop();
    this.gather?.releaseAll();
    await Promise.all([...this.requestsInFlight]);
    let failure: unknown = null;
    let resyncPending = false;
    try {
      // Recovery (log replay, bitmap load) may be running, or not have run
      // at all if nothing touched the volume since assembly: it finishes
      // first, so that a clean close never hides a replay or resync still due.
      // An Offline volume has nothing left to flush: it closes as it is.
      if (this.state !== 'Offline') await this.recoveryPart.ready();
      if (this.state !== 'Offline') await this.flushAll(0);
      const bitmap = this.recoveryPart.bitmap;
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
    const cipher = this.cipher;
    this.cipher = null;
    await cipher?.destroy();
    if (failure !== null) throw failure;
  }

  /**
   * bioctl -R (sr_rebuild_init): puts `member` in place of the Offline chunk,
   * which goes Rebuild (the volume Rebuild), saves the metadata and starts
   * regenerating the chunk in the background (rebuilding.ts).
   */
  startRebuild(chunkIndex: number, member: ChunkBackend): Promise<RebuildHandle> {
    return this.rebuilding.start(chunkIndex, member);
  }

  /**
   * Right after assembly: starts crash recovery and resync (resumeResync),
   * then resumes a rebuild recorded in the metadata at its checkpoint;
   * null when there is none.
   */
  resumeRebuild(): RebuildHandle | null {
    this.checkOpen();
    this.resumeResync();
    return this.rebuilding.resume();
  }

  /**
   * After assembly: replays the partial parity log and, when the volume was
   * not shut down cleanly, resyncs the regions the write-intent bitmap marks,
   * in the background (recovery.ts). Null on a level without resync.
   */
  resumeResync(): ResyncHandle | null {
    return this.recoveryPart.resumeResync();
  }

  /** md's full resync: every region, whatever the bitmap says. */
  fullResync(): Promise<ResyncOutcome> {
    return this.recoveryPart.fullResync();
  }

  /** A check (or repair) of every stripe, in the background (scrubbing.ts, docs/scrub.md). */
  startScrub(options: { repair: boolean }): { finished: Promise<ScrubResult> } {
    return this.scrubs.start(options);
  }

  /** Stops a running scrub after its current piece; resolves with its result, or null when none runs. */
  stopScrub(): Promise<ScrubResult | null> {
    return this.scrubs.stop();
  }

  get scrubbing(): boolean {
    return this.scrubs.running !== null;
  }

  /** The last scrub that ended on this volume since it was opened. */
  get lastScrub(): ScrubResult | null {
    return this.scrubs.last;
  }

  /** md's speed_limit_min/max for every background pass (rebuild, resync, scrub), the ones running included. */
  setRebuildRateLimits(limits: JobRates): void {
    assert(limits.rateBytesPerSecondMin > 0 && limits.rateBytesPerSecondMax >= limits.rateBytesPerSecondMin, 'bad rebuild rate limits');
    this.limits.rebuildRateBytesPerSecondMin = limits.rateBytesPerSecondMin;
    this.limits.rebuildRateBytesPerSecondMax = limits.rateBytesPerSecondMax;
  }

  /** What every background pass needs of the volume (background-job.ts): the clock, whether it is busy, the rates now. */
  private readonly jobHost: JobHost;

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
    const flushNumber = this.recoveryPart.bitmap?.flushStarting() ?? 0;
    const retirementPoint = this.ppl?.retirementPoint() ?? null;
    await this.members.flush();
    if (retirementPoint !== null) await this.ppl!.retire(retirementPoint);
    const bitmap = this.recoveryPart.bitmap;
    if (bitmap !== null) {
      const mayClear = this.state === 'Online' && this.rebuilding.running === null && this.record.chunks.every((chunk) => chunk.state === 'Online');
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
    if (this.cipher !== null && (offsetBytes % cipherSectorBytes !== 0 || lengthBytes % cipherSectorBytes !== 0)) {
      throw new VolumeIoError('EINVAL',
        `${operation} at ${offsetBytes}+${lengthBytes}: an encrypted volume is read and written in whole ${cipherSectorBytes}-byte sectors`);
    }
  }
}

export type { RebuildHandle, RecoveryInfo, ResyncHandle };
