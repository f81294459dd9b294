// The volume's members and their states: the ChunkIo the disciplines see,
// softraid's failure policy (§3.7), state transitions through state.ts, and
// metadata saves, serialized and retried as sr_meta_save does.
import { assert } from '@openbsd38/libutil/assert.js';
import { ChunkIoError, VolumeIoError } from '../errors.js';
import { levelTable, type RaidLevel } from '@openbsd38/bio/levels.js';
import type { ChunkState, VolumeState } from '@openbsd38/bio/states.js';
import { assertChunkTransition, assertVolumeTransition, volumeStateFromChunks } from '../state-transitions.js';
import { ChunkRetry } from '../disciplines/sub-io.js';
import { chunkIoVectorsMax, type ChunkBackend } from '../chunk.js';
import type { ChunkIo } from '../disciplines/discipline.js';
import { cipherSectorBytes, withCiphertextBuffer, type SectorCipher } from '../crypto/sector-cipher.js';
import { isVolumeKind, type VolumeRecord } from '../metadata/record.js';
import type { VolumeDeps, VolumeEvent } from './events.js';

export class MemberSet implements ChunkIo {
  private readonly ioErrors: number[] = [];
  readonly chunkCount: number;
  private volumeState: VolumeState;
  private roundRobin = 0;
  /** Bumped on every change the metadata must record; saves catch up with it. */
  private stateVersion = 0;
  private savedVersion = 0;
  private saving: Promise<void> | null = null;
  private readonly toleratedMissing: number;
  /** Per chunk: data writes completed, and how many of them a completed flush covers. */
  private readonly writesCompleted: number[];
  private readonly writesFlushed: number[];
  /**
   * Per chunk, hashed by strip-sized bucket of chunk offsets: the
   * writesCompleted count of the last completed write there. A bucket whose
   * count is above writesFlushed may hold unflushed data; collisions only
   * ever say "maybe", which costs a flush, never a missed one.
   */
  private readonly lastWriteByBucket: Float64Array[];
  private readonly bucketBytes: number;

  constructor(
    readonly record: VolumeRecord,
    private readonly members: (ChunkBackend | null)[],
    readonly redundant: boolean,
    private readonly deps: Pick<VolumeDeps, 'saveMetadata' | 'onEvent'>,
  ) {
    assert(isVolumeKind(record.kind), 'MemberSet: not a volume record');
    this.chunkCount = record.chunkCount;
    this.writesCompleted = new Array<number>(record.chunkCount).fill(0);
    this.lastWriteByBucket = Array.from({ length: record.chunkCount }, () => new Float64Array(writeBucketsPerChunk));
    this.bucketBytes = Math.max(record.stripSizeBytes, 4096);
    this.writesFlushed = new Array<number>(record.chunkCount).fill(0);
    assert(members.length === this.chunkCount, `volume ${record.deviceName}: ${members.length} members for ${this.chunkCount} chunks`);
    this.toleratedMissing = levelTable[record.kind as RaidLevel].toleratedMissing(this.chunkCount);
    // A missing member is Offline whatever its record says (assembly normally marked it already).
    record.chunks.forEach((chunk, index) => {
      if (members[index] === null && chunk.state !== 'Offline') {
        assertChunkTransition(this.redundant, chunk.state, 'Offline');
        chunk.state = 'Offline';
        this.stateVersion++;
      }
    });
    this.volumeState = volumeStateFromChunks(this.chunkStates(), this.toleratedMissing);
  }

  get state(): VolumeState {
    return this.volumeState;
  }

  get deviceName(): string {
    return this.record.deviceName;
  }

  chunkStates(): ChunkState[] {
    return this.record.chunks.map((chunk) => chunk.state);
  }

  chunkState(chunkIndex: number): ChunkState {
    return this.record.chunks[chunkIndex]!.state;
  }

  member(chunkIndex: number): ChunkBackend | null {
    return this.members[chunkIndex]!;
  }

  presentMembers(): ChunkBackend[] {
    return this.members.filter((member): member is ChunkBackend => member !== null);
  }

  isReadable(chunkIndex: number): boolean {
    const state = this.chunkState(chunkIndex);
    return this.members[chunkIndex] !== null && (state === 'Online' || state === 'Scrubbing');
  }

  isWritable(chunkIndex: number): boolean {
    const state = this.chunkState(chunkIndex);
    return this.members[chunkIndex] !== null && (state === 'Online' || state === 'Scrubbing' || state === 'Rebuild');
  }

  nextRoundRobin(): number {
    this.roundRobin = (this.roundRobin + 1) % this.chunkCount;
    return this.roundRobin;
  }

  read(chunkIndex: number, chunkOffsetBytes: number, into: Uint8Array): Promise<void> {
    return this.transfer(chunkIndex, chunkOffsetBytes, 'read', into);
  }

  write(chunkIndex: number, chunkOffsetBytes: number, data: Uint8Array): Promise<void> {
    return this.transfer(chunkIndex, chunkOffsetBytes, 'write', data);
  }

  readv(chunkIndex: number, chunkOffsetBytes: number, into: readonly Uint8Array[]): Promise<void> {
    return this.transfer(chunkIndex, chunkOffsetBytes, 'read', into);
  }

  writev(chunkIndex: number, chunkOffsetBytes: number, data: readonly Uint8Array[]): Promise<void> {
    return this.transfer(chunkIndex, chunkOffsetBytes, 'write', data);
  }

  /**
   * An encrypted volume's read of one chunk, decrypted: in one step where
   * the cipher can (SectorCipher.readDecrypted), else read, then decrypted.
   * The chunk's data area holds the volume's sectors at their own offsets
   * (CRYPTO, RAID 1C: volume byte o is chunk byte o), so the first sector is
   * chunkOffsetBytes / 512. The failure policy applies to the read's errors
   * (in one step, those of the thread that read and decrypted too); a
   * decryption's own error after a plain read is no chunk's fault and is
   * thrown as it is.
   */
  async readDecrypted(chunkIndex: number, chunkOffsetBytes: number, into: Uint8Array, cipher: SectorCipher): Promise<void> {
    assert(this.isReadable(chunkIndex), `read from chunk ${chunkIndex} in state ${this.chunkState(chunkIndex)}`);
    const firstSector = this.firstSectorOf('decrypted read', chunkIndex, chunkOffsetBytes, into.length);
    const fused = cipher.readDecrypted?.(this.members[chunkIndex]!, this.record.dataOffsetBytes + chunkOffsetBytes, into, firstSector);
    if (fused === undefined) {
      await this.read(chunkIndex, chunkOffsetBytes, into);
      await cipher.decryptSectors(firstSector, into, into);
      return;
    }
    try {
      await fused;
    } catch (error) {
      return this.chunkFailed(chunkIndex, error);
    }
  }

  /** The volume sector at chunkOffsetBytes of an encrypted I/O, which must be whole sectors inside the data area. */
  private firstSectorOf(what: string, chunkIndex: number, chunkOffsetBytes: number, lengthBytes: number): number {
    assert(chunkOffsetBytes % cipherSectorBytes === 0 && lengthBytes % cipherSectorBytes === 0,
      `${what} of chunk ${chunkIndex} at ${chunkOffsetBytes}+${lengthBytes}: not whole sectors`);
    this.assertInDataArea(chunkIndex, chunkOffsetBytes, lengthBytes);
    return chunkOffsetBytes / cipherSectorBytes;
  }

  /**
   * An encrypted volume's write of one chunk, encrypted on its way: `plain`
   * is encrypted into a ciphertext buffer (the caller's bytes stay as they
   * are) and that is written, in one step where the cipher can
   * (SectorCipher.writeEncrypted). Offsets as readDecrypted; the failure
   * policy applies to the write's errors.
   */
  async writeEncrypted(chunkIndex: number, chunkOffsetBytes: number, plain: Uint8Array, cipher: SectorCipher): Promise<void> {
    assert(this.isWritable(chunkIndex), `write to chunk ${chunkIndex} in state ${this.chunkState(chunkIndex)}`);
    const firstSector = this.firstSectorOf('encrypted write', chunkIndex, chunkOffsetBytes, plain.length);
    const member = this.members[chunkIndex]!;
    const offsetBytes = this.record.dataOffsetBytes + chunkOffsetBytes;
    await withCiphertextBuffer(cipher, plain.length, async (sealed) => {
      let written = cipher.writeEncrypted?.(member, offsetBytes, plain, sealed, firstSector);
      if (written === undefined) {
        await cipher.encryptSectors(firstSector, plain, sealed);
        written = member.write(sealed, offsetBytes);
      }
      try {
        await written;
      } catch (error) {
        return this.chunkFailed(chunkIndex, error);
      }
      this.writeCompleted(chunkIndex, chunkOffsetBytes, plain.length);
    });
  }

  /** Data-area I/O of one chunk (one buffer, or several one after another): the failure policy applies to any error. */
  private async transfer(chunkIndex: number, chunkOffsetBytes: number, direction: 'read' | 'write',
    buffers: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const reading = direction === 'read';
    assert(reading ? this.isReadable(chunkIndex) : this.isWritable(chunkIndex),
      `${direction} ${reading ? 'from' : 'to'} chunk ${chunkIndex} in state ${this.chunkState(chunkIndex)}`);
    const lengthBytes = buffers instanceof Uint8Array ? buffers.length : totalBytes(buffers);
    this.assertInDataArea(chunkIndex, chunkOffsetBytes, lengthBytes);
    const member = this.members[chunkIndex]!;
    const offsetBytes = this.record.dataOffsetBytes + chunkOffsetBytes;
    try {
      if (!(buffers instanceof Uint8Array)) await vectored(member, direction, buffers, offsetBytes);
      else if (reading) await member.read(buffers, offsetBytes);
      else await member.write(buffers, offsetBytes);
    } catch (error) {
      return this.chunkFailed(chunkIndex, error);
    }
    if (!reading) this.writeCompleted(chunkIndex, chunkOffsetBytes, lengthBytes);
  }

  private writeCompleted(chunkIndex: number, chunkOffsetBytes: number, lengthBytes: number): void {
    const count = ++this.writesCompleted[chunkIndex]!;
    const buckets = this.lastWriteByBucket[chunkIndex]!;
    const last = Math.floor((chunkOffsetBytes + lengthBytes - 1) / this.bucketBytes);
    for (let bucket = Math.floor(chunkOffsetBytes / this.bucketBytes); bucket <= last; bucket++) buckets[bucket % writeBucketsPerChunk] = count;
  }

  /** The chunk holds data writes no completed flush has made durable yet. */
  hasUnflushedWrites(chunkIndex: number): boolean {
    return this.writesCompleted[chunkIndex]! > this.writesFlushed[chunkIndex]!;
  }

  /** As hasUnflushedWrites, for a range of the chunk's data area: false only when none there is unflushed. */
  hasUnflushedWritesIn(chunkIndex: number, chunkOffsetBytes: number, lengthBytes: number): boolean {
    const flushed = this.writesFlushed[chunkIndex]!;
    if (this.writesCompleted[chunkIndex]! <= flushed) return false;
    const buckets = this.lastWriteByBucket[chunkIndex]!;
    const last = Math.floor((chunkOffsetBytes + Math.max(lengthBytes, 1) - 1) / this.bucketBytes);
    for (let bucket = Math.floor(chunkOffsetBytes / this.bucketBytes); bucket <= last; bucket++) {
      if (buckets[bucket % writeBucketsPerChunk]! > flushed) return true;
    }
    return false;
  }

  /**
   * Reads bytes of a writable member outside its data area (write-intent
   * bitmap, partial parity log); absolute chunk offsets. Failure policy as
   * for data I/O.
   */
  async readReserved(chunkIndex: number, offsetBytes: number, into: Uint8Array): Promise<void> {
    assert(this.isWritable(chunkIndex), `reserved read from chunk ${chunkIndex} in state ${this.chunkState(chunkIndex)}`);
    this.assertInReserved(offsetBytes, into.length);
    try {
      await this.members[chunkIndex]!.read(into, offsetBytes);
    } catch (error) {
      return this.chunkFailed(chunkIndex, error);
    }
  }

  async writeReserved(chunkIndex: number, offsetBytes: number, data: Uint8Array): Promise<void> {
    assert(this.isWritable(chunkIndex), `reserved write to chunk ${chunkIndex} in state ${this.chunkState(chunkIndex)}`);
    this.assertInReserved(offsetBytes, data.length);
    try {
      await this.members[chunkIndex]!.write(data, offsetBytes);
    } catch (error) {
      return this.chunkFailed(chunkIndex, error);
    }
  }

  /** Flushes one member (a log record before the writes it protects). */
  async flushChunk(chunkIndex: number): Promise<void> {
    if (!this.isWritable(chunkIndex)) return;
    const covered = this.writesCompleted[chunkIndex]!;
    try {
      await this.members[chunkIndex]!.flush();
    } catch (error) {
      return this.chunkFailed(chunkIndex, error);
    }
    this.writesFlushed[chunkIndex] = Math.max(this.writesFlushed[chunkIndex]!, covered);
  }

  /** Flushes every writable member; a failure is a chunk failure like any other. */
  async flush(): Promise<void> {
    const flushes: Promise<void>[] = [];
    for (let chunkIndex = 0; chunkIndex < this.chunkCount; chunkIndex++) {
      if (!this.isWritable(chunkIndex)) continue;
      const covered = this.writesCompleted[chunkIndex]!;
      flushes.push(this.members[chunkIndex]!.flush().then(() => {
        this.writesFlushed[chunkIndex] = Math.max(this.writesFlushed[chunkIndex]!, covered);
      }, (error: unknown) => this.chunkFailed(chunkIndex, error)));
    }
    const results = await Promise.allSettled(flushes);
    const failure = results.find((result) => result.status === 'rejected' && !(result.reason instanceof ChunkRetry));
    if (failure?.status === 'rejected') throw failure.reason;
    if (this.volumeState === 'Offline') throw this.offlineError();
  }

  offlineError(): VolumeIoError {
    return new VolumeIoError('EIO', `${this.deviceName}: volume is offline`);
  }

  /**
   * softraid's rule (§3.7): on a redundant volume a failed chunk I/O takes
   * the chunk Offline at once, the metadata is saved, and the request is
   * planned again from the chunks left (ChunkRetry). On RAID 0 / CONCAT the
   * I/O fails with EIO and the chunk state is unchanged.
   */
  /** I/O errors each member returned since it became that chunk (metrics). */
  ioErrorCount(chunkIndex: number): number {
    return this.ioErrors[chunkIndex] ?? 0;
  }

  private async chunkFailed(chunkIndex: number, error: unknown): Promise<never> {
    if (!(error instanceof ChunkIoError)) throw error;
    this.ioErrors[chunkIndex] = (this.ioErrors[chunkIndex] ?? 0) + 1;
    if (!this.redundant) throw new VolumeIoError('EIO', `${this.deviceName}: ${error.message}`);
    this.setChunkState(chunkIndex, 'Offline', `${error.operation} error ${error.errno} at byte ${error.offsetBytes}`);
    await this.persist();
    throw new ChunkRetry(chunkIndex, error);
  }

  /** Installs a new member for a chunk (rebuild onto a replacement). */
  replaceMember(chunkIndex: number, member: ChunkBackend): void {
    assert(this.chunkState(chunkIndex) === 'Offline', 'replaceMember: chunk not offline');
    this.ioErrors[chunkIndex] = 0;
    this.members[chunkIndex] = member;
    this.record.chunks[chunkIndex]!.name = member.name;
  }

  /** A state change (validated by state.ts), the volume state that follows, and the events. */
  setChunkState(chunkIndex: number, to: ChunkState, reason: string): boolean {
    const chunk = this.record.chunks[chunkIndex]!;
    if (chunk.state === to) return false;
    assertChunkTransition(this.redundant, chunk.state, to);
    const from = chunk.state;
    chunk.state = to;
    this.stateVersion++;
    if (to === 'Offline') {
      this.emit({ name: from === 'Rebuild' ? 'FailSpare' : 'Fail', member: chunk.name, chunkIndex,
        message: `chunk ${chunk.name} went offline: ${reason}` });
    }
    const next = volumeStateFromChunks(this.chunkStates(), this.toleratedMissing);
    if (next !== this.volumeState) {
      assertVolumeTransition(this.volumeState, next);
      this.volumeState = next;
      if (next === 'Degraded') this.emit({ name: 'DegradedArray', message: `${this.deviceName} is degraded` });
      if (next === 'Offline') this.emit({ name: 'DeviceDisappeared', message: `${this.deviceName} went offline: too many chunks lost` });
    }
    return true;
  }

  /** Marks a change that needs saving without a state change (dirty flag, checkpoint). */
  touch(): void {
    this.stateVersion++;
  }

  /**
   * Resolves when a save that started after every change made before this
   * call has completed.
   */
  async persist(): Promise<void> {
    const target = this.stateVersion;
    while (this.savedVersion < target) {
      if (this.saving) {
        await this.saving;
        continue;
      }
      this.saving = this.saveUntilClean().finally(() => {
        this.saving = null;
      });
      await this.saving;
    }
  }

  /**
   * One save, repeated while members fail to take it: such a member goes
   * Offline and the save restarts (sr_meta_save), so the surviving members
   * all record the failure. Each round takes one more chunk offline, so at
   * most chunkCount + 1 rounds run.
   */
  private async saveUntilClean(): Promise<void> {
    for (let round = 0; ; round++) {
      assert(round <= this.chunkCount, 'metadata save does not converge');
      const version = this.stateVersion;
      const failed = await this.deps.saveMetadata(this.record, this.members);
      let changed = false;
      for (const chunkIndex of failed) {
        assert(Number.isSafeInteger(chunkIndex) && chunkIndex >= 0 && chunkIndex < this.chunkCount, 'saveMetadata: bad failed index');
        changed = this.setChunkState(chunkIndex, 'Offline', 'metadata write failed') || changed;
      }
      if (!changed) {
        this.savedVersion = Math.max(this.savedVersion, version);
        return;
      }
    }
  }

  emit(event: Omit<VolumeEvent, 'device'>): void {
    this.deps.onEvent({ device: this.deviceName, ...event });
  }

  private assertInReserved(offsetBytes: number, lengthBytes: number): void {
    assert(Number.isSafeInteger(offsetBytes) && offsetBytes >= 0 && lengthBytes > 0 && offsetBytes + lengthBytes <= this.record.dataOffsetBytes,
      `reserved I/O ${offsetBytes}+${lengthBytes} reaches the data area`);
  }

  private assertInDataArea(chunkIndex: number, chunkOffsetBytes: number, lengthBytes: number): void {
    assert(Number.isSafeInteger(chunkOffsetBytes) && chunkOffsetBytes >= 0 && lengthBytes > 0
      && chunkOffsetBytes + lengthBytes <= this.record.chunks[chunkIndex]!.usableSizeBytes,
    `chunk ${chunkIndex}: I/O ${chunkOffsetBytes}+${lengthBytes} outside its data area`);
  }
}

/** Buckets per chunk for hasUnflushedWritesIn (a hash: collisions only cost a flush). */
const writeBucketsPerChunk = 4096;

function totalBytes(buffers: readonly Uint8Array[]): number {
  let sum = 0;
  for (const buffer of buffers) sum += buffer.length;
  return sum;
}

/**
 * One readv/writev where the backend has them; otherwise one call per
 * buffer, every one settled before the first failure is reported (none may
 * still be writing into a caller's buffer).
 */
async function vectored(member: ChunkBackend, direction: 'read' | 'write', buffers: readonly Uint8Array[], offsetBytes: number): Promise<void> {
  assert(buffers.length >= 1 && buffers.length <= chunkIoVectorsMax, `vectored ${direction} of ${buffers.length} buffers`);
  const native = direction === 'read' ? member.readv : member.writev;
  if (native !== undefined) return native.call(member, buffers, offsetBytes);
  const calls: Promise<void>[] = [];
  let at = offsetBytes;
  for (const buffer of buffers) {
    calls.push(direction === 'read' ? member.read(buffer, at) : member.write(buffer, at));
    at += buffer.length;
  }
  const results = await Promise.allSettled(calls);
  const failure = results.find((result) => result.status === 'rejected');
  if (failure?.status === 'rejected') throw failure.reason;
}
