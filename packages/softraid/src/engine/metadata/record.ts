// The logical content of a chunk's metadata: what the codec (codec.ts)
// turns into bytes and back. Every chunk of a volume carries the same
// record; only `chunkIndex` (which chunk this copy sits on) differs.
// The byte layout is documented in docs/on-disk-format.md.
import type { ChunkState } from '@openbsd38/bio/states.js';
import type { RaidLevel, Raid5Layout } from '@openbsd38/bio/levels.js';
import type { Region, ReservedRegionName } from './layout.js';

/**
 * What the record describes: a volume's member, a chunk of the global
 * hot-spare pool, or a key disk (softraid's SR_KEYDISK: a one-chunk
 * pseudo-volume holding the mask key of the CRYPTO or RAID 1C volume whose
 * UUID it carries).
 */
export type RecordKind = RaidLevel | 'hotspare' | 'keydisk';

/** Whether the record describes a volume's member (not a hot spare or a key disk). */
export function isVolumeKind(kind: RecordKind): kind is RaidLevel {
  return kind !== 'hotspare' && kind !== 'keydisk';
}

export interface ChunkRecord {
  /** Position of the chunk in the volume, 0-based (softraid's chunk id). */
  index: number;
  state: ChunkState;
  /** Usable bytes of this member: its size minus the data offset (softraid's scm_size). */
  usableSizeBytes: number;
  /** The name the member had when the record was written (a path or URI); informational. */
  name: string;
}

export interface VolumeRecord {
  /** On-disk format version this record was read from or will be written as. */
  formatVersion: number;
  /** Volume UUID, 16 random bytes, shown as 8-4-4-4-12 lowercase hex. */
  uuid: string;
  kind: RecordKind;
  /** RAID 5/6 parity placement; null for other levels. */
  layout: Raid5Layout | null;
  /** Strip size in bytes for striped levels, 0 otherwise. */
  stripSizeBytes: number;
  chunkCount: number;
  /** Where volume data starts on each chunk, aligned to 1 MiB. */
  dataOffsetBytes: number;
  /** Bytes of each chunk's data area used by the volume (the smallest member, softraid's coerced size). */
  chunkDataSizeBytes: number;
  volumeSizeBytes: number;
  /** Bumped on every save; the freshest copy wins at assembly (softraid's ssd_ondisk). */
  eventCounter: number;
  /**
   * The event counter of the last save known to have reached every member not
   * Offline (maintained by saveVolumeMetadata and assembly). At assembly a
   * member the freshest record lists as Online is current when its counter is
   * at least this, so a save torn by a crash does not fail members it never
   * reached. Absent = eventCounter (softraid's strict rule).
   */
  eventCounterFloor?: number;
  /** The volume's device name, e.g. "sd0": the NBD export name. */
  deviceName: string;
  /** Created with -C noauto: never assembled automatically. */
  noAutoAssemble: boolean;
  /** Set while the volume is in use, cleared at clean shutdown. */
  dirty: boolean;
  /** Bytes of each chunk's data area already rebuilt; 0 when no rebuild runs. */
  rebuildCheckpointBytes: number;
  chunks: ChunkRecord[];
  /**
   * Reserved regions on every chunk (write-intent bitmap, journal, crypto
   * key material), recorded so later versions can use them without a format
   * break. Absent = layout.ts's reservedRegionsDefault.
   */
  reservedRegions?: Record<ReservedRegionName, Region>;
  /** featureFlag bits (layout.ts): write-intent bitmap, partial parity log. Absent = none. */
  featureFlags?: number;
  /** Chunk bytes covered by one write-intent bit, a power of two; absent or 0 = none recorded. */
  writeIntentRegionBytes?: number;
}
