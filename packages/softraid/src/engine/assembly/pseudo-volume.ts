// softraid's one-chunk pseudo-volumes: a hot spare (sr_hotspare) and a key
// disk (SR_KEYDISK), each a record of one chunk with no volume data, as
// docs/on-disk-format.md describes them.
import type { ChunkBackend } from '../chunk.js';
import type { VolumeRecord } from '../metadata/record.js';
import { chunkNameBytes, dataOffsetBytesDefault, formatVersionCurrent, reservedRegionsDefault } from '../metadata/layout.js';
import { fitName } from '../metadata/text.js';
import { usableSizeBytesOf } from '../metadata/sizes.js';

/** A hot spare has a UUID of its own, its chunk in state Hot spare; a key disk its volume's UUID, its chunk Online. */
export function pseudoVolumeRecord(kind: 'hotspare' | 'keydisk', uuid: string, chunk: ChunkBackend): VolumeRecord {
  const usableSizeBytes = usableSizeBytesOf(chunk.sizeBytes, dataOffsetBytesDefault);
  return {
    formatVersion: formatVersionCurrent,
    uuid,
    kind,
    layout: null,
    stripSizeBytes: 0,
    chunkCount: 1,
    dataOffsetBytes: dataOffsetBytesDefault,
    chunkDataSizeBytes: usableSizeBytes,
    volumeSizeBytes: usableSizeBytes,
    eventCounter: 1,
    eventCounterFloor: 1,
    deviceName: '',
    noAutoAssemble: false,
    dirty: false,
    rebuildCheckpointBytes: 0,
    chunks: [{ index: 0, state: kind === 'hotspare' ? 'Hot spare' : 'Online', usableSizeBytes, name: fitName(chunk.name, chunkNameBytes) }],
    reservedRegions: structuredClone(reservedRegionsDefault),
  };
}
