// What a volume's parts (crash recovery, rebuilding, scrubbing) share of it:
// its members and geometry, its locks, limits and pacing, and the request
// path's rules they follow (retry when a chunk drops out, dirty before the
// first write). The Volume builds one and hands it to each part.
import type { Discipline, Geometry } from '../disciplines/discipline.js';
import type { JobHost } from './background-job.js';
import type { VolumeLimits } from './limits.js';
import type { MemberSet } from './member-set.js';
import type { PartialParityLog } from './partial-parity-log.js';
import type { RangeLock } from './stripe-lock.js';
import type { VolumeKeyArea } from '../metadata/key-area.js';

export interface VolumeInternals {
  readonly members: MemberSet;
  readonly discipline: Discipline;
  readonly geometry: Geometry;
  readonly limits: VolumeLimits;
  readonly locks: RangeLock;
  /** The background passes' common host: clock, busy, rates. */
  readonly jobHost: JobHost;
  /** The volume was not shut down cleanly (resync and log replay are due). */
  readonly dirtyAtAssembly: boolean;
  /** 0 on levels without a write-intent bitmap. */
  readonly writeIntentRegionBytes: number;
  /** RAID 5: the partial parity log. */
  readonly ppl: PartialParityLog | null;
  readonly blockSizeMinBytes: number;
  /** Runs a discipline operation, planned again from the chunks left when one drops out under it. */
  withRetry(operation: () => Promise<void>): Promise<void>;
  /** Rejects with ESHUTDOWN once the volume is closing. */
  checkOpen(): void;
  isClosing(): boolean;
  /** The metadata says dirty before any data changes. */
  markDirty(): Promise<void>;
  /** The smallest member that can take a chunk's place. */
  replacementBytesMin(chunkIndex: number): number;
  /** Encrypted levels: the key area every member holds; null for other levels. */
  keyArea(): VolumeKeyArea | null;
}

/** A part of a volume: what it shares of it, and the members, geometry and discipline at hand. */
export abstract class VolumePart {
  constructor(protected readonly host: VolumeInternals) {}

  protected get members(): MemberSet {
    return this.host.members;
  }

  protected get geometry(): Geometry {
    return this.host.geometry;
  }

  protected get discipline(): Discipline {
    return this.host.discipline;
  }
}
