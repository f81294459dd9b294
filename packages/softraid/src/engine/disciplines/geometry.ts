// A volume's geometry from its metadata record, checked before use.
import { assert } from '@openbsd38/libutil/assert.js';
import { isPowerOfTwo } from '@openbsd38/libutil/units.js';
import { levelTable, stripSizeBytesMax, stripSizeBytesMin } from '@openbsd38/bio/levels.js';
import { isVolumeKind, type VolumeRecord } from '../metadata/record.js';
import type { Geometry } from './discipline.js';

export function geometryFromRecord(record: VolumeRecord): Geometry {
  assert(isVolumeKind(record.kind), 'a hot spare or key disk record describes no volume');
  assert(record.chunks.length === record.chunkCount, 'record: chunk list length differs from chunkCount');
  record.chunks.forEach((chunk, index) => assert(chunk.index === index, `record: chunk ${index} carries index ${chunk.index}`));
  return {
    level: record.kind,
    chunkCount: record.chunkCount,
    stripSizeBytes: record.stripSizeBytes,
    layout: record.layout,
    chunkDataSizeBytes: record.chunkDataSizeBytes,
    chunkUsableSizesBytes: record.chunks.map((chunk) => chunk.usableSizeBytes),
  };
}

/** Checks shared by striped levels: a power-of-two strip in softraid's range. */
export function assertStriped(geometry: Geometry, chunkCountMin: number): void {
  const info = levelTable[geometry.level];
  assert(geometry.chunkCount >= chunkCountMin && geometry.chunkCount <= info.maximumChunks,
    `${info.displayName}: ${geometry.chunkCount} chunks out of range`);
  assert(isPowerOfTwo(geometry.stripSizeBytes) && geometry.stripSizeBytes >= stripSizeBytesMin
    && geometry.stripSizeBytes <= stripSizeBytesMax, `${info.displayName}: bad strip size ${geometry.stripSizeBytes}`);
  assert(Number.isSafeInteger(geometry.chunkDataSizeBytes) && geometry.chunkDataSizeBytes >= geometry.stripSizeBytes,
    `${info.displayName}: chunk data size ${geometry.chunkDataSizeBytes} smaller than a strip`);
}
