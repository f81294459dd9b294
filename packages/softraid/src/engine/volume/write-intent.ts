// The write-intent bitmap in memory (md's bitmap; docs/write-ordering.md):
// one bit per `regionBytes` of every chunk's data area. A bit is set on disk
// — written to every writable member and flushed there — before any write
// to its region is issued, and cleared lazily: only after the region has had
// no write in flight for `cleanAfterMs`, a member flush that started after
// its last write completed has completed, and every chunk is Online (while
// a member is Offline the bits record where it went stale, so that it can
// come back and be rebuilt only there).
import { assert } from '@openbsd38/libutil/assert.js';
import { VolumeIoError } from '../errors.js';
import { divCeil, divFloor } from '@openbsd38/libutil/units.js';
import { ChunkRetry } from '../disciplines/sub-io.js';
import {
  bitmapCopyBytes, bitmapCopyOffsetBytes, bitmapSlotBytes, decodeBitmapCopy, encodeBitmapCopy, type BitmapCopy,
} from '../metadata/write-intent.js';
import type { Region } from '../metadata/layout.js';
import type { ByteRange } from '../disciplines/discipline.js';
import type { Clock } from './events.js';
import type { MemberSet } from './member-set.js';

export interface BitRange {
  firstBit: number;
  endBit: number;
}

export interface LoadedBitmap {
  bitmap: WriteIntentBitmap;
  /** A valid copy was found on at least one member. */
  found: boolean;
}

export class WriteIntentBitmap {
  /** Bits as the members hold them (after the last save): always a superset of regions with writes not yet flushed. */
  private readonly bits: Uint8Array;
  /** Regions to resync after a crash (a subset of the set bits until resynced). */
  private readonly resyncPending: Uint8Array;
  private pendingCount = 0;
  private readonly writesInFlight: Int32Array;
  private readonly lastWriteEndMs: Float64Array;
  /** Flushes started when the region's last write completed: a later flush covers it. */
  private readonly flushesStartedAtLastWrite: Float64Array;
  private flushesStarted = 0;
  private sequence: number;
  private generation = 0;
  private savedGeneration = 0;
  private saving: Promise<void> | null = null;
  /** Metadata event counter at the last clearing: a returning member at least this recent is stale only where bits are set. */
  lastClearEventCounter: number;
  readonly counters = { saves: 0, bitsSet: 0, bitsCleared: 0 };

  private constructor(
    private readonly members: MemberSet,
    private readonly clock: Clock,
    private readonly region: Region,
    readonly regionBytes: number,
    readonly bitCount: number,
    readonly chunkUsedBytes: number,
    copy: BitmapCopy | null,
  ) {
    const bytes = divCeil(bitCount, 8);
    this.bits = copy?.bits.slice() ?? new Uint8Array(bytes);
    this.resyncPending = new Uint8Array(bitCount);
    this.writesInFlight = new Int32Array(bitCount);
    this.lastWriteEndMs = new Float64Array(bitCount).fill(Number.NEGATIVE_INFINITY);
    this.flushesStartedAtLastWrite = new Float64Array(bitCount).fill(-1);
    this.sequence = copy?.sequence ?? 0;
    this.lastClearEventCounter = copy?.lastClearEventCounter ?? 0;
  }

  /**
   * Reads both copies on every writable member and takes, per member, the
   * valid one with the highest sequence; the bits are the union over members
   * (a member whose last update tore still holds the one before, a superset
   * of what was clean then).
   */
  static async load(members: MemberSet, clock: Clock, region: Region, regionBytes: number, chunkUsedBytes: number): Promise<LoadedBitmap> {
    const bitCount = Math.max(1, divCeil(chunkUsedBytes, regionBytes));
    const uuid = members.record.uuid;
    let merged: BitmapCopy | null = null;
    const slotBytes = bitmapSlotBytes(region);
    for (let chunkIndex = 0; chunkIndex < members.chunkCount; chunkIndex++) {
      if (!members.isWritable(chunkIndex)) continue;
      for (let copyIndex = 0; copyIndex < 2; copyIndex++) {
        // The member may have failed since its last read: requests that arrive meanwhile save
        // the dirty state (markDirty comes before recovery), and a failed save takes a member out.
        if (!members.isWritable(chunkIndex)) break;
        const bytes = new Uint8Array(Math.min(slotBytes, bitmapCopyBytes(bitCount)));
        try {
          await members.readReserved(chunkIndex, bitmapCopyOffsetBytes(region, copyIndex), bytes);
        } catch (error) {
          if (error instanceof ChunkRetry) break;
          throw error;
        }
        const copy = decodeBitmapCopy(bytes, uuid);
        if (copy === null || copy.regionBytes !== regionBytes || copy.bitCount !== bitCount) continue;
        if (merged === null) {
          merged = copy;
          continue;
        }
        for (let i = 0; i < merged.bits.length; i++) merged.bits[i]! |= copy.bits[i]!;
        merged.sequence = Math.max(merged.sequence, copy.sequence);
        merged.lastClearEventCounter = Math.max(merged.lastClearEventCounter, copy.lastClearEventCounter);
      }
    }
    if (members.state === 'Offline') throw members.offlineError();
    return { bitmap: new WriteIntentBitmap(members, clock, region, regionBytes, bitCount, chunkUsedBytes, merged), found: merged !== null };
  }

  /** Bits covering a range of the chunks' data areas. */
  bitsOf(range: ByteRange): BitRange {
    assert(range.lengthBytes > 0, 'bitsOf: empty range');
    return { firstBit: divFloor(range.offsetBytes, this.regionBytes), endBit: Math.min(this.bitCount, divCeil(range.offsetBytes + range.lengthBytes, this.regionBytes)) };
  }

  /** The chunk range of one bit, clipped to the used data area. */
  rangeOf(bit: number): ByteRange {
    const offsetBytes = bit * this.regionBytes;
    return { offsetBytes, lengthBytes: Math.min(this.regionBytes, this.chunkUsedBytes - offsetBytes) };
  }

  isSet(bit: number): boolean {
    return (this.bits[bit >> 3]! & (1 << (bit & 7))) !== 0;
  }

  setBitCount(): number {
    let count = 0;
    for (let bit = 0; bit < this.bitCount; bit++) if (this.isSet(bit)) count++;
    return count;
  }

  isResyncPending(bit: number): boolean {
    return this.resyncPending[bit] === 1;
  }

  /** Bits still pending resync: while 0, requests skip looking for them. */
  get resyncPendingCount(): number {
    return this.pendingCount;
  }

  /** After a crash: every set bit (or every bit, for a full resync) must be resynced. */
  markResyncPending(all: boolean): number {
    let count = 0;
    for (let bit = 0; bit < this.bitCount; bit++) {
      if (all && !this.isSet(bit)) this.setBit(bit);
      if (this.isSet(bit)) {
        if (this.resyncPending[bit] === 0) this.pendingCount++;
        this.resyncPending[bit] = 1;
        count++;
      }
    }
    return count;
  }

  resyncDone(bit: number): void {
    if (this.resyncPending[bit] === 1) this.pendingCount--;
    this.resyncPending[bit] = 0;
  }

  pendingBits(range: BitRange): number[] {
    const pending: number[] = [];
    for (let bit = range.firstBit; bit < range.endBit; bit++) if (this.resyncPending[bit] === 1) pending.push(bit);
    return pending;
  }

  /**
   * A write to `range` is about to be issued: counts it in flight, and when
   * a bit is not yet set on disk, sets it and saves (written and flushed on
   * every writable member) before returning.
   */
  async startWrite(range: BitRange): Promise<void> {
    let changed = false;
    for (let bit = range.firstBit; bit < range.endBit; bit++) {
      this.writesInFlight[bit]!++;
      if (!this.isSet(bit)) {
        this.setBit(bit);
        changed = true;
      }
    }
    if (changed) this.counters.bitsSet++;
    await this.persist();
  }

  /** The write (successful or not) is over: the region may be cleaned after the next flush. */
  endWrite(range: BitRange): void {
    const nowMs = this.clock.nowMs();
    for (let bit = range.firstBit; bit < range.endBit; bit++) {
      assert(this.writesInFlight[bit]! > 0, 'write-intent: endWrite without startWrite');
      this.writesInFlight[bit]!--;
      this.lastWriteEndMs[bit] = nowMs;
      this.flushesStartedAtLastWrite[bit] = this.flushesStarted;
    }
  }

  /** A member flush starts now; returns its number for flushCompleted. */
  flushStarting(): number {
    return ++this.flushesStarted;
  }

  /**
   * A member flush that started as `flushNumber` completed on every member.
   * Clears the bits it made clean (when every chunk is Online) and saves.
   */
  async flushCompleted(flushNumber: number, options: { cleanAfterMs: number; eventCounter: number; mayClear: boolean }): Promise<number> {
    if (!options.mayClear) return 0;
    const nowMs = this.clock.nowMs();
    let cleared = 0;
    for (let bit = 0; bit < this.bitCount; bit++) {
      if (!this.isSet(bit) || this.writesInFlight[bit]! > 0 || this.resyncPending[bit] === 1) continue;
      if (this.flushesStartedAtLastWrite[bit]! >= flushNumber) continue;
      if (nowMs - this.lastWriteEndMs[bit]! < options.cleanAfterMs) continue;
      this.bits[bit >> 3]! &= ~(1 << (bit & 7));
      cleared++;
    }
    if (cleared === 0) return 0;
    this.counters.bitsCleared += cleared;
    this.lastClearEventCounter = options.eventCounter;
    this.generation++;
    await this.persist();
    return cleared;
  }

  /** Writes the bitmap to every writable member now (a member that just joined, or after loading a union). */
  async saveNow(): Promise<void> {
    this.generation++;
    await this.persist();
  }

  /** Resolves when a save that includes every change made before the call is on the members. */
  async persist(): Promise<void> {
    const target = this.generation;
    while (this.savedGeneration < target) {
      if (this.saving !== null) {
        await this.saving;
        continue;
      }
      this.saving = this.saveOnce().finally(() => {
        this.saving = null;
      });
      await this.saving;
    }
  }

  private setBit(bit: number): void {
    this.bits[bit >> 3]! |= 1 << (bit & 7);
    this.generation++;
  }

  /**
   * One update: the next copy (sequence mod 2) on every writable member,
   * then a flush of each. A member that fails goes Offline (MemberSet's
   * policy) and the others carry the bitmap on.
   */
  private async saveOnce(): Promise<void> {
    const generation = this.generation;
    this.sequence++;
    this.counters.saves++;
    const bytes = encodeBitmapCopy({
      uuid: this.members.record.uuid, sequence: this.sequence, regionBytes: this.regionBytes, bitCount: this.bitCount,
      lastClearEventCounter: this.lastClearEventCounter, bits: this.bits.slice(),
    }, this.region);
    const offsetBytes = bitmapCopyOffsetBytes(this.region, this.sequence);
    const updates: Promise<void>[] = [];
    for (let chunkIndex = 0; chunkIndex < this.members.chunkCount; chunkIndex++) {
      if (!this.members.isWritable(chunkIndex)) continue;
      updates.push((async () => {
        await this.members.writeReserved(chunkIndex, offsetBytes, bytes);
        await this.members.flushChunk(chunkIndex);
      })());
    }
    const results = await Promise.allSettled(updates);
    for (const result of results) {
      if (result.status === 'rejected' && !(result.reason instanceof ChunkRetry)) throw result.reason;
    }
    if (this.members.state === 'Offline') throw new VolumeIoError('EIO', `${this.members.deviceName}: volume is offline`);
    this.savedGeneration = Math.max(this.savedGeneration, generation);
  }
}
