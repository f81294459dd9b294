// Sizes as softraid computes them: a chunk's usable size, the coerced
// (smallest) size, the volume size per level, and the "blocks wasted" warning.
import { divFloor } from '@openbsd38/libutil/units.js';
import { levelTable, type RaidLevel } from '@openbsd38/bio/levels.js';
import { isVolumeKind, type RecordKind } from './record.js';
import { blockBytes, usableSizeBytesMin } from './layout.js';

/** Bytes of a chunk after the metadata area, in whole 512-byte blocks (softraid's scm_size). */
export function usableSizeBytesOf(chunkSizeBytes: number, dataOffsetBytes: number): number {
  if (chunkSizeBytes <= dataOffsetBytes) return 0;
  return divFloor(chunkSizeBytes - dataOffsetBytes, blockBytes) * blockBytes;
}

/** The smallest usable size a chunk may have for this level and strip size. */
export function usableSizeBytesMinFor(level: RecordKind, stripSizeBytes: number): number {
  const striped = isVolumeKind(level) && levelTable[level].striped;
  return striped ? Math.max(usableSizeBytesMin, stripSizeBytes) : usableSizeBytesMin;
}

/** softraid's coerced size: the smallest member. */
export function coercedSizeBytes(usableSizesBytes: readonly number[]): number {
  return Math.min(...usableSizesBytes);
}

export interface VolumeGeometryInput {
  kind: RecordKind;
  /** The coerced size: bytes of each chunk's data area the volume uses. */
  chunkDataSizeBytes: number;
  /** > 0 for striped levels. */
  stripSizeBytes: number;
  chunkCount: number;
  /** Each chunk's own usable size (CONCAT sums them). */
  usableSizesBytes: readonly number[];
}

/**
 * Volume size: RAID 0 floor(coerced, strip) * n, RAID 1 / 1C / CRYPTO
 * coerced, RAID 5 floor(coerced, strip) * (n-1), RAID 6 * (n-2), CONCAT the
 * sum of each chunk's own usable size; a hot spare offers its usable size
 * (a key disk records its own, and holds no volume data).
 */
export function volumeSizeBytesFor(input: VolumeGeometryInput): number {
  const stripsPerChunk = (): number => divFloor(input.chunkDataSizeBytes, input.stripSizeBytes);
  switch (input.kind) {
    case 'raid0': return stripsPerChunk() * input.stripSizeBytes * input.chunkCount;
    case 'raid5': return stripsPerChunk() * input.stripSizeBytes * (input.chunkCount - 1);
    case 'raid6': return stripsPerChunk() * input.stripSizeBytes * (input.chunkCount - 2);
    case 'raid1': case 'raid1c': case 'crypto': case 'hotspare': case 'keydisk': return input.chunkDataSizeBytes;
    case 'concat': return input.usableSizesBytes.reduce((sum, size) => sum + size, 0);
  }
}

/** softraid's warning when members differ in size (not for CONCAT), else undefined. */
export function unequalSizesWarning(level: RaidLevel, usableSizesBytes: readonly number[]): string | undefined {
  if (levelTable[level].nonCoerced) return undefined;
  const wastedBytes = Math.max(...usableSizesBytes) - Math.min(...usableSizesBytes);
  if (wastedBytes === 0) return undefined;
  return `chunk sizes are not equal; up to ${divFloor(wastedBytes, blockBytes)} blocks wasted per chunk`;
}
