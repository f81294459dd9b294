// Which crash-safety features a volume runs with (docs/write-ordering.md):
// redundant levels keep a write-intent bitmap, parity levels a partial parity log,
// in the regions every v1 chunk reserves. The record's feature flags say so
// on disk, so that an older version refuses a volume it would mishandle
// (a log with retirement marks, above all).
import { featureFlag, reservedRegionsDefault } from '../metadata/layout.js';
import { writeIntentRegionBytesFor } from '../metadata/write-intent.js';
import type { Discipline, Geometry } from '../disciplines/discipline.js';
import type { VolumeRecord } from '../metadata/record.js';
import type { VolumeLimits } from './limits.js';

export interface CrashSafetyFeatures {
  /** Chunk bytes per write-intent bit; 0 on levels without a bitmap. */
  writeIntentRegionBytes: number;
  /** Parity levels: the journal region the partial parity log lives in; null otherwise. */
  journal: { offsetBytes: number; lengthBytes: number } | null;
}

/**
 * The features this volume runs with; the record is updated to say so
 * (feature flags, the bitmap's region size). Returns whether it changed
 * (then it must be saved).
 */
export function negotiateCrashSafety(record: VolumeRecord, discipline: Discipline, geometry: Geometry, limits: VolumeLimits):
  CrashSafetyFeatures & { recordChanged: boolean } {
  const regions = record.reservedRegions ?? reservedRegionsDefault;
  const features = record.featureFlags ?? 0;
  let wanted = features;
  let writeIntentRegionBytes = 0;
  if (discipline.resyncPiece !== undefined && discipline.chunkRangeOf !== undefined && regions.bitmap.lengthBytes > 0) {
    writeIntentRegionBytes = record.writeIntentRegionBytes
      || writeIntentRegionBytesFor(discipline.chunkUsedBytes(geometry, 0), geometry.stripSizeBytes, regions.bitmap, limits.writeIntentRegionBytesAtLeast);
    wanted |= featureFlag.writeIntentBitmap;
  }
  let journal: CrashSafetyFeatures['journal'] = null;
  if (discipline.replayPartialParity !== undefined && regions.journal.lengthBytes > 0) {
    journal = regions.journal;
    wanted |= featureFlag.partialParityLog | featureFlag.partialParityLogMarks;
  }
  const recordChanged = wanted !== features || (writeIntentRegionBytes !== 0 && record.writeIntentRegionBytes !== writeIntentRegionBytes);
  if (recordChanged) {
    record.featureFlags = wanted;
    if (writeIntentRegionBytes !== 0) record.writeIntentRegionBytes = writeIntentRegionBytes;
  }
  return { writeIntentRegionBytes, journal, recordChanged };
}
