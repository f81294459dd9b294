// Every rule a record must satisfy, in one place: the decoder applies it
// after reading (a broken rule is a MetadataError naming the chunk), the
// encoder before writing (a broken rule is our bug: an assertion). Never
// throws for any input a decoder can build.
import { isPowerOfTwo } from '@openbsd38/libutil/units.js';
import { levelLayouts, levelTable, stripSizeBytesMax, stripSizeBytesMin, type RaidLevel } from '@openbsd38/bio/levels.js';
import { ChunkState } from '@openbsd38/bio/states.js';
import { volumeSizeBytesFor } from './sizes.js';
import type { VolumeRecord } from './record.js';
import {
  blockBytes, chunkCountMax, featureFlag, featureFlagsKnown, writeIntentRegionBytesMin, chunkNameBytes, dataOffsetAlignmentBytes, dataOffsetBytesMax, deviceNameBytes,
  formatVersionCurrent, metadataEndBytes, regionAlignmentBytes, reservedRegionNames, reservedRegionsDefault,
  sizeBytesMax, usableSizeBytesMin,
} from './layout.js';
import { isUuid, nilUuid } from './uuid.js';
import { textProblem } from './text.js';

const deviceNamePattern = /^[A-Za-z0-9._-]+$/;
/** States a volume member may be stored in (a hot spare's own record holds 'Hot spare'). */
const memberStates: readonly ChunkState[] = [ChunkState.Online, ChunkState.Offline, ChunkState.Failed, ChunkState.Rebuild, ChunkState.Scrubbing];

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/** Why this deviceName is not valid for a volume, or undefined. */
export function deviceNameProblem(deviceName: string): string | undefined {
  const problem = textProblem(deviceName, deviceNameBytes - 1);
  if (problem !== undefined) return `device name ${problem}`;
  if (!deviceNamePattern.test(deviceName)) return `device name ${JSON.stringify(deviceName)} is not made of letters, digits, '.', '_' and '-'`;
  return undefined;
}

/** The first rule `record` (as stored on chunk `chunkIndex`) breaks, or undefined. */
export function recordProblem(record: VolumeRecord, chunkIndex: number): string | undefined {
  if (record.formatVersion !== formatVersionCurrent) return `format version ${record.formatVersion} is not ${formatVersionCurrent}`;
  if (!isUuid(record.uuid) || record.uuid === nilUuid) return `volume uuid ${record.uuid} is not valid`;
  // A pseudo-volume of one chunk: a hot spare, or a key disk (its chunk Online, as softraid's).
  const pseudo = record.kind === 'hotspare' ? 'a hot spare' : record.kind === 'keydisk' ? 'a key disk' : null;
  const info = pseudo !== null ? undefined : levelTable[record.kind as RaidLevel] as (typeof levelTable)[keyof typeof levelTable] | undefined;
  if (pseudo === null && info === undefined) return `unknown level ${String(record.kind)}`;

  const n = record.chunkCount;
  if (!isCount(n) || n < 1 || n > chunkCountMax) return `chunk count ${n} is out of range`;
  if (pseudo !== null && n !== 1) return `${pseudo} has ${n} chunks, expected 1`;
  if (info && (n < info.minimumChunks || n > info.maximumChunks)) {
    return `${info.displayName} with ${n} chunks: needs ${info.minimumChunks} to ${info.maximumChunks}`;
  }
  if (record.chunks.length !== n) return `${record.chunks.length} chunk entries for ${n} chunks`;
  if (!isCount(chunkIndex) || chunkIndex >= n) return `chunk index ${chunkIndex} is out of range for ${n} chunks`;

  const layouts = pseudo !== null ? [] : levelLayouts[record.kind as RaidLevel];
  if (layouts.length > 0 ? !layouts.includes(record.layout as never) : record.layout !== null) {
    return `layout ${String(record.layout)} does not fit ${pseudo ?? info!.displayName}`;
  }
  const striped = info?.striped ?? false;
  if (striped) {
    if (!isPowerOfTwo(record.stripSizeBytes) || record.stripSizeBytes < stripSizeBytesMin || record.stripSizeBytes > stripSizeBytesMax) {
      return `strip size ${record.stripSizeBytes} is not a power of two from ${stripSizeBytesMin} to ${stripSizeBytesMax}`;
    }
  } else if (record.stripSizeBytes !== 0) {
    return `strip size ${record.stripSizeBytes} set on a level without strips`;
  }

  const dataOffsetBytes = record.dataOffsetBytes;
  if (!isCount(dataOffsetBytes) || dataOffsetBytes % dataOffsetAlignmentBytes !== 0 || dataOffsetBytes < metadataEndBytes || dataOffsetBytes > dataOffsetBytesMax) {
    return `data offset ${dataOffsetBytes} is not a multiple of ${dataOffsetAlignmentBytes} up to ${dataOffsetBytesMax}`;
  }
  const regions = record.reservedRegions ?? reservedRegionsDefault;
  let previousEndBytes = metadataEndBytes;
  for (const name of reservedRegionNames) {
    const region = regions[name];
    if (!isCount(region.offsetBytes) || !isCount(region.lengthBytes)
      || region.offsetBytes % regionAlignmentBytes !== 0 || region.lengthBytes % regionAlignmentBytes !== 0
      || region.offsetBytes < previousEndBytes || region.offsetBytes + region.lengthBytes > dataOffsetBytes) {
      return `reserved ${name} region ${region.offsetBytes}+${region.lengthBytes} is misplaced`;
    }
    previousEndBytes = region.offsetBytes + region.lengthBytes;
  }

  for (let i = 0; i < n; i++) {
    const chunk = record.chunks[i]!;
    if (chunk.index !== i) return `chunk entry ${i} claims index ${chunk.index}`;
    const allowed = record.kind === 'hotspare' ? [ChunkState.HotSpare] : record.kind === 'keydisk' ? [ChunkState.Online] : memberStates;
    if (!allowed.includes(chunk.state)) {
      return `chunk ${i} state ${chunk.state} is not valid for ${pseudo ?? 'a volume member'}`;
    }
    const usable = chunk.usableSizeBytes;
    if (!isCount(usable) || usable % blockBytes !== 0 || usable < usableSizeBytesMin || usable > sizeBytesMax - dataOffsetBytes) {
      return `chunk ${i} usable size ${usable} is out of range`;
    }
    const nameProblem = textProblem(chunk.name, chunkNameBytes);
    if (nameProblem !== undefined) return `chunk ${i} name ${nameProblem}`;
  }

  const coerced = record.chunkDataSizeBytes;
  if (!isCount(coerced) || coerced % blockBytes !== 0 || coerced < Math.max(usableSizeBytesMin, record.stripSizeBytes)) {
    return `chunk data size ${coerced} is out of range`;
  }
  if (record.chunks.some((chunk) => chunk.usableSizeBytes < coerced)) return `chunk data size ${coerced} exceeds a chunk's usable size`;
  const expectedVolumeBytes = volumeSizeBytesFor({
    kind: record.kind, chunkDataSizeBytes: coerced, stripSizeBytes: record.stripSizeBytes, chunkCount: n,
    usableSizesBytes: record.chunks.map((chunk) => chunk.usableSizeBytes),
  });
  if (record.volumeSizeBytes !== expectedVolumeBytes) return `volume size ${record.volumeSizeBytes} is not the expected ${expectedVolumeBytes}`;
  if (!Number.isSafeInteger(expectedVolumeBytes)) return 'volume size overflows';

  if (!isCount(record.eventCounter) || record.eventCounter < 1) return `event counter ${record.eventCounter} is out of range`;
  const floor = record.eventCounterFloor ?? record.eventCounter;
  if (!isCount(floor) || floor < 1 || floor > record.eventCounter) return `event counter floor ${floor} is out of range`;
  if (!isCount(record.rebuildCheckpointBytes) || record.rebuildCheckpointBytes > coerced) {
    return `rebuild checkpoint ${record.rebuildCheckpointBytes} is beyond the chunk data size ${coerced}`;
  }
  if (pseudo !== null) {
    if (record.deviceName !== '') return `${pseudo} has a device name`;
  } else {
    const problem = deviceNameProblem(record.deviceName);
    if (problem !== undefined) return problem;
  }
  const features = record.featureFlags ?? 0;
  if (!isCount(features) || (features & ~featureFlagsKnown) !== 0) return `unknown feature flags 0x${features.toString(16)}`;
  const regionBytes = record.writeIntentRegionBytes ?? 0;
  if (regionBytes !== 0 && (!isPowerOfTwo(regionBytes) || regionBytes < writeIntentRegionBytesMin)) {
    return `write-intent region size ${regionBytes} is not a power of two of at least ${writeIntentRegionBytesMin}`;
  }
  if ((features & featureFlag.writeIntentBitmap) !== 0 && regionBytes === 0) return 'a write-intent bitmap without a region size';
  if ((features & featureFlag.partialParityLogMarks) !== 0 && (features & featureFlag.partialParityLog) === 0) {
    return 'partial parity log marks without a partial parity log';
  }
  if (typeof record.noAutoAssemble !== 'boolean' || typeof record.dirty !== 'boolean') return 'flags are not booleans';
  return undefined;
}
