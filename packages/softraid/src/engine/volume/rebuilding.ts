// A volume's rebuilds (softraid's sr_rebuild, bioctl -R and hot spares):
// one chunk regenerated at a time onto a new member, or only the regions a
// returning member missed (the write-intent bitmap says which), resumed at
// its checkpoint after a restart. The pass itself is rebuild.ts; this is the
// volume's side: checks, preparing the member, and each piece under the lock.
import { assert } from '@openbsd38/libutil/assert.js';
import { alignDown } from '@openbsd38/libutil/units.js';
import { ChunkIoError, MetadataError, SoftraidError } from '../errors.js';
import { wipeKeyArea, writeKeyArea } from '../metadata/key-area.js';
import { reservedRegionsDefault } from '../metadata/layout.js';
import { readChunkMetadata } from '../metadata/io.js';
import { Rebuild, RebuildTargetLost, type RebuildHost, type RebuildOutcome } from './rebuild.js';
import type { ChunkBackend } from '../chunk.js';
import type { CrashRecovery } from './recovery.js';
import { VolumePart, type VolumeInternals } from './internals.js';

export interface RebuildHandle {
  chunkIndex: number;
  finished: Promise<RebuildOutcome>;
  /** A returning member rebuilt only where the write-intent bitmap says it went stale. */
  partial: boolean;
}

export class Rebuilding extends VolumePart {
  private rebuild: Rebuild | null = null;
  /** Settles when the last rebuild launched has ended and let go of `rebuild`. */
  private rebuildEnded: Promise<void> = Promise.resolve();

  constructor(host: VolumeInternals, private readonly recovery: CrashRecovery) {
    super(host);
  }

  /** The rebuild running now, if any (progress, close, the bitmap's clearing rule). */
  get running(): Rebuild | null {
    return this.rebuild;
  }

  /**
   * bioctl -R (sr_rebuild_init): puts `member` in place of the Offline chunk,
   * which goes Rebuild (the volume Rebuild), saves the metadata and starts
   * regenerating the chunk in the background.
   */
  async start(chunkIndex: number, member: ChunkBackend): Promise<RebuildHandle> {
    this.host.checkOpen();
    const record = this.members.record;
    const name = record.deviceName;
    if (!this.discipline.capabilities.rebuild) throw new SoftraidError(`${name}: discipline does not support rebuild`);
    // A rebuild whose target just dropped out (the volume is Degraded again)
    // may still be finishing its pieces in flight: let it wind down first.
    if (this.rebuild !== null && this.members.state === 'Degraded') await this.rebuildEnded;
    if (this.members.state === 'Rebuild' || this.rebuild !== null) throw new SoftraidError(`${name}: rebuild already in progress`);
    if (this.members.state !== 'Degraded') throw new SoftraidError(`${name}: volume not degraded`);
    if (!Number.isSafeInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= this.geometry.chunkCount
      || this.members.chunkState(chunkIndex) !== 'Offline') {
      throw new SoftraidError(`${name}: no offline chunk ${chunkIndex} to rebuild`);
    }
    const requiredBytes = this.host.replacementBytesMin(chunkIndex);
    if (member.sizeBytes < requiredBytes) {
      throw new SoftraidError(`${member.name} partition too small, at least ${requiredBytes} bytes required`);
    }
    const stale = await this.staleOnlyWhereDirty(chunkIndex, member);
    if (this.members.state !== 'Degraded' || this.members.chunkState(chunkIndex) !== 'Offline' || this.rebuild !== null) {
      throw new SoftraidError(`${name}: volume changed while the rebuild was prepared`);
    }
    // Bitmap copies and log records left on the member by an earlier life of
    // this volume are stale: wipe them before it can take new ones.
    const regions = record.reservedRegions ?? reservedRegionsDefault;
    if (this.host.writeIntentRegionBytes !== 0) await wipeRegion(member, regions.bitmap);
    if (this.host.ppl !== null) await wipeRegion(member, regions.journal);
    // Encrypted levels: the member gets the volume's keys (masked) before any ciphertext, so
    // that it can be the one left to assemble from; other levels leave no earlier life's keys on it.
    const keyArea = this.host.keyArea();
    if (keyArea !== null) await writeKeyArea(member, regions.crypto, keyArea);
    else await wipeKeyArea(member, regions.crypto);
    this.members.replaceMember(chunkIndex, member);
    record.chunks[chunkIndex]!.usableSizeBytes = alignDown(member.sizeBytes - record.dataOffsetBytes, 512);
    record.rebuildCheckpointBytes = 0;
    this.members.setChunkState(chunkIndex, 'Rebuild', 'rebuild started');
    await this.members.persist();
    // The new member takes every bitmap update from now on: give it the bits set so far.
    await this.recovery.bitmap?.saveNow();
    const how = stale === null ? '' : ` (returning member: only the ${this.recovery.bitmap!.setBitCount()} regions written while it was away)`;
    this.members.emit({ name: 'RebuildStarted', chunkIndex, member: member.name, message: `rebuild of ${name} started on ${member.name}${how}` });
    return this.launchRebuild(chunkIndex, 0, stale);
  }

  /**
   * Resumes a rebuild recorded in the metadata (a chunk in state Rebuild) at
   * its checkpoint; returns null when there is none. The controller calls it
   * after assembly.
   */
  resume(): RebuildHandle | null {
    this.host.checkOpen();
    if (this.rebuild !== null || this.members.state === 'Offline') return null;
    const chunkIndex = this.members.record.chunks.findIndex((chunk) => chunk.state === 'Rebuild');
    if (chunkIndex < 0) return null;
    const totalBytes = this.discipline.chunkUsedBytes(this.geometry, chunkIndex);
    let startBytes = this.members.record.rebuildCheckpointBytes;
    const pieceAlignBytes = Math.max(this.geometry.stripSizeBytes, 1);
    let message = `resuming rebuild on ${this.members.record.chunks[chunkIndex]!.name} at byte ${startBytes}`;
    if (!Number.isSafeInteger(startBytes) || startBytes < 0 || startBytes >= totalBytes) {
      message = 'bogus rebuild restart offset, starting from 0';
      startBytes = 0;
    } else if (this.host.dirtyAtAssembly && this.host.ppl !== null && startBytes > 0) {
      // A crash during a RAID 5 rebuild: rows behind the checkpoint whose
      // write was cut may be inconsistent, and neither log replay nor resync
      // can fix a row whose strip sits on the chunk being rebuilt (it is not
      // readable). Regenerating it from the start makes every row consistent.
      message = `${this.members.record.deviceName} was not shut down cleanly during the rebuild: restarting it from 0`;
      startBytes = 0;
    }
    startBytes -= startBytes % pieceAlignBytes;
    this.members.emit({ name: 'RebuildStarted', chunkIndex, member: this.members.record.chunks[chunkIndex]!.name, message });
    return this.launchRebuild(chunkIndex, startBytes);
  }

  /**
   * A member coming back (the same volume and chunk index in its metadata,
   * which is at least as recent as the last clearing of the bitmap) missed
   * only writes to regions whose bits are set: returns the predicate of the
   * pieces to copy, or null for a full rebuild.
   */
  private async staleOnlyWhereDirty(chunkIndex: number, member: ChunkBackend): Promise<((chunkOffsetBytes: number, lengthBytes: number) => boolean) | null> {
    if (this.host.writeIntentRegionBytes === 0) return null;
    await this.recovery.ready();
    const bitmap = this.recovery.bitmap!;
    let found;
    try {
      found = await readChunkMetadata(member);
    } catch (error) {
      // Unreadable or damaged metadata: a full rebuild. Anything else (an assertion) is a bug.
      if (!(error instanceof MetadataError) && !(error instanceof ChunkIoError)) throw error;
      return null;
    }
    if (found === null || found.record.uuid !== this.members.record.uuid || found.chunkIndex !== chunkIndex) return null;
    if (found.record.eventCounter < bitmap.lastClearEventCounter) return null;
    return (chunkOffsetBytes, lengthBytes) => {
      const bits = bitmap.bitsOf({ offsetBytes: chunkOffsetBytes, lengthBytes });
      for (let bit = bits.firstBit; bit < bits.endBit; bit++) if (bitmap.isSet(bit)) return true;
      return false;
    };
  }

  private launchRebuild(chunkIndex: number, startBytes: number,
    isPieceStale: ((chunkOffsetBytes: number, lengthBytes: number) => boolean) | null = null): RebuildHandle {
    const host: RebuildHost = {
      ...this.host.jobHost,
      members: this.members,
      rebuildPiece: async (index, chunkOffsetBytes, lengthBytes) => {
        await this.recovery.ready();
        await this.rebuildPiece(index, chunkOffsetBytes, lengthBytes);
      },
    };
    const rebuild = new Rebuild(host, chunkIndex, startBytes, this.discipline.chunkUsedBytes(this.geometry, chunkIndex), {
      pieceBytes: this.host.limits.rebuildPieceBytes,
      piecesInFlightMax: this.host.limits.rebuildPiecesInFlightMax,
    }, isPieceStale);
    this.rebuild = rebuild;
    const finished = rebuild.start().finally(() => {
      if (this.rebuild === rebuild) this.rebuild = null;
    });
    this.rebuildEnded = finished.then(() => undefined, () => undefined);
    return { chunkIndex, finished, partial: isPieceStale !== null };
  }

  private async rebuildPiece(chunkIndex: number, chunkOffsetBytes: number, lengthBytes: number): Promise<void> {
    const rebuildLockRange = this.discipline.rebuildLockRange;
    const rebuildPiece = this.discipline.rebuildPiece;
    assert(rebuildLockRange !== undefined && rebuildPiece !== undefined, 'rebuild on a discipline without rebuild');
    const range = rebuildLockRange(this.geometry, chunkOffsetBytes, lengthBytes);
    const release = await this.host.locks.acquire(range.offsetBytes, range.lengthBytes);
    try {
      await this.host.withRetry(() => {
        if (this.members.chunkState(chunkIndex) !== 'Rebuild') throw new RebuildTargetLost(`chunk ${chunkIndex} left state Rebuild`);
        return rebuildPiece(this.members, this.geometry, chunkIndex, chunkOffsetBytes, lengthBytes);
      });
    } finally {
      release();
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
