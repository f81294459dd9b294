// Every limit of the volume I/O path, named with its unit.
import { KiB, MiB } from '@openbsd38/libutil/units.js';
import { writeIntentRegionBytesDefault } from '../metadata/layout.js';

export interface VolumeLimits {
  /** Largest read or write accepted (NBD's customary 32 MiB). */
  requestBytesMax: number;
  /** Requests running at once; later ones wait. */
  requestsInFlightMax: number;
  /** Requests waiting for a slot; beyond this a request fails with EBUSY. */
  requestsWaitingMax: number;
  /** Zero buffer size for writeZeroes and trim on redundant levels. */
  zeroPieceBytes: number;
  /** Chunk bytes per locked piece of a rebuild, a resync or a scrub (all three walk a chunk the same way). */
  rebuildPieceBytes: number;
  /** Rebuild pieces in progress at once (each locked on its own). */
  rebuildPiecesInFlightMax: number;
  /** md's speed_limit_min: the rebuild rate while the volume serves other I/O. */
  rebuildRateBytesPerSecondMin: number;
  /** md's speed_limit_max: the rebuild rate when the volume is idle. */
  rebuildRateBytesPerSecondMax: number;
  /** The volume counts as busy this long after its last request. */
  rebuildIdleAfterMs: number;
  /** A write-intent bit is cleared only after its region has been idle this long (md's daemon_sleep). */
  bitmapCleanAfterMs: number;
  /** RAID 5: partial-row writes are split into pieces of at most this, which bounds one write's partial parity log records. */
  pplPieceBytesMax: number;
  /** A volume opened for the first time gets write-intent regions of at least this (metadata/layout.ts: 4 MiB, mdadm's default). */
  writeIntentRegionBytesAtLeast: number;
}

export const volumeLimitsDefault: Readonly<VolumeLimits> = {
  requestBytesMax: 32 * MiB,
  requestsInFlightMax: 256,
  requestsWaitingMax: 4096,
  zeroPieceBytes: 1 * MiB,
  rebuildPieceBytes: 1 * MiB,
  rebuildPiecesInFlightMax: 4,
  rebuildRateBytesPerSecondMin: 1000 * KiB,
  rebuildRateBytesPerSecondMax: 200_000 * KiB,
  rebuildIdleAfterMs: 500,
  bitmapCleanAfterMs: 5000,
  pplPieceBytesMax: 64 * KiB,
  writeIntentRegionBytesAtLeast: writeIntentRegionBytesDefault,
};
