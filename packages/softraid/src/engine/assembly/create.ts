// Creating a volume (bioctl -c LEVEL -l chunks): every check first, each
// refusal naming the chunk with no byte written; then fresh metadata
// (event counter 1, all chunks Online, clean) on every chunk.
import { assert } from '@openbsd38/libutil/assert.js';
import { SoftraidError, MetadataError } from '../errors.js';
import { disciplineFor } from '../disciplines/registry.js';
import { encryptedVolumeBytesMax, type SectorCipher } from '../crypto/sector-cipher.js';
import type { NewKeys } from '../crypto/keying.js';
import { writeKeyArea, type VolumeKeyArea } from '../metadata/key-area.js';
import { pseudoVolumeRecord } from './pseudo-volume.js';
import { isPowerOfTwo } from '@openbsd38/libutil/units.js';
import type { ChunkBackend } from '../chunk.js';
import type { BioMessage } from '@openbsd38/bio/controller.js';
import { levelLayouts, levelTable, stripSizeBytesDefault, stripSizeBytesMax, stripSizeBytesMin, type Raid5Layout, type RaidLevel } from '@openbsd38/bio/levels.js';
import type { VolumeRecord } from '../metadata/record.js';
import { chunkNameBytes, dataOffsetBytesDefault, formatVersionCurrent, reservedRegionsDefault } from '../metadata/layout.js';
import { readChunkMetadata, wipeChunkMetadata, writeChunkMetadata } from '../metadata/io.js';
import { deviceNameProblem } from '../metadata/validate.js';
import { fitName } from '../metadata/text.js';
import { newUuid } from '../metadata/uuid.js';
import { describeOwner, refuseDuplicates, refuseInUse, type ChunksInUse } from './checks.js';
import { coercedSizeBytes, unequalSizesWarning, usableSizeBytesMinFor, usableSizeBytesOf, volumeSizeBytesFor } from '../metadata/sizes.js';

export interface CreateVolumeRequest {
  level: RaidLevel;
  /** RAID 5/6 parity placement; default left-asymmetric (OpenBSD's). */
  layout?: Raid5Layout;
  /** Striped levels only; default 64 KiB. */
  stripSizeBytes?: number;
  chunks: ChunkBackend[];
  deviceName: string;
  noAutoAssemble: boolean;
  /** -C force: overwrite existing softraid metadata. */
  force: boolean;
  chunksInUse: ChunksInUse;
  random: (bytes: Uint8Array) => void;
  /**
   * Encrypted levels (CRYPTO, RAID 1C): makes the keys once every check has
   * passed, before anything is written (keying.ts's newVolumeKeys).
   */
  newKeys?: (uuid: string) => Promise<NewKeys>;
  /** Encrypted levels with -k: the key disk, checked as a chunk is, that gets the mask key. */
  keyDisk?: ChunkBackend;
}

export interface CreatedVolume {
  record: VolumeRecord;
  members: ChunkBackend[];
  messages: BioMessage[];
  /** Encrypted levels: the open keys and the key area every member now holds. */
  encryption: { cipher: SectorCipher; keyArea: VolumeKeyArea } | null;
}

/** Strip size and layout, with defaults; refuses what the level does not take. */
function geometryOf(request: CreateVolumeRequest): { stripSizeBytes: number; layout: Raid5Layout | null } {
  const info = levelTable[request.level];
  const layouts = levelLayouts[request.level];
  if (request.layout !== undefined && !layouts.includes(request.layout)) {
    throw new SoftraidError(layouts.length === 0 ? `layout ${request.layout} applies to RAID 5 and RAID 6 only, not ${info.displayName}`
      : `layout ${request.layout} does not apply to ${info.displayName}: ${layouts.join(' or ')}`);
  }
  const layout = layouts[0] === undefined ? null : request.layout ?? layouts[0];
  if (!info.striped) {
    if (request.stripSizeBytes !== undefined && request.stripSizeBytes !== 0) {
      throw new SoftraidError(`${info.displayName} has no strips; strip size ${request.stripSizeBytes} does not apply`);
    }
    return { stripSizeBytes: 0, layout };
  }
  const stripSizeBytes = request.stripSizeBytes ?? stripSizeBytesDefault;
  if (!isPowerOfTwo(stripSizeBytes) || stripSizeBytes < stripSizeBytesMin || stripSizeBytes > stripSizeBytesMax) {
    throw new SoftraidError(`invalid strip size ${stripSizeBytes}: must be a power of two from ${stripSizeBytesMin} to ${stripSizeBytesMax} bytes`);
  }
  return { stripSizeBytes, layout };
}

export async function createVolume(request: CreateVolumeRequest): Promise<CreatedVolume> {
  const info = levelTable[request.level];
  const chunks = request.chunks;
  // 1. Shape of the request.
  if (chunks.length < info.minimumChunks) {
    throw new SoftraidError(`${info.displayName} needs at least ${info.minimumChunks} chunks, ${chunks.length} given`);
  }
  if (chunks.length > info.maximumChunks) {
    throw new SoftraidError(`${info.displayName} takes at most ${info.maximumChunks} chunks, ${chunks.length} given`);
  }
  const { stripSizeBytes, layout } = geometryOf(request);
  const encrypted = disciplineFor(request.level).capabilities.encrypted;
  assert(encrypted === (request.newKeys !== undefined), `createVolume: keys ${encrypted ? 'missing for' : 'given to'} ${info.displayName}`);
  if (request.keyDisk !== undefined && !encrypted) throw new SoftraidError(`a key disk applies to CRYPTO and RAID 1C only, not ${info.displayName}`);
  const nameProblem = deviceNameProblem(request.deviceName);
  if (nameProblem !== undefined) throw new SoftraidError(`cannot create ${request.deviceName}: ${nameProblem}`);
  // 2. The chunks themselves (and the key disk): listed once, free, large enough.
  const keyDisk = request.keyDisk;
  refuseDuplicates(keyDisk === undefined ? chunks : [...chunks, keyDisk]);
  refuseInUse(keyDisk === undefined ? chunks : [...chunks, keyDisk], request.chunksInUse);
  const dataOffsetBytes = dataOffsetBytesDefault;
  const usableMinBytes = usableSizeBytesMinFor(request.level, stripSizeBytes);
  const usableSizesBytes = chunks.map((chunk) => {
    const usable = usableSizeBytesOf(chunk.sizeBytes, dataOffsetBytes);
    if (usable < usableMinBytes) {
      throw new SoftraidError(`chunk ${chunk.name} too small: ${chunk.sizeBytes} bytes, at least ${dataOffsetBytes + usableMinBytes} needed (${dataOffsetBytes} of metadata area plus ${usableMinBytes} of data)`);
    }
    return usable;
  });
  if (keyDisk !== undefined && usableSizeBytesOf(keyDisk.sizeBytes, dataOffsetBytes) < usableSizeBytesMinFor('keydisk', 0)) {
    throw new SoftraidError(`key disk ${keyDisk.name} too small: ${keyDisk.sizeBytes} bytes, at least ${dataOffsetBytes + usableSizeBytesMinFor('keydisk', 0)} needed`);
  }
  // 3. Existing metadata: only with force.
  const holdsMetadata: boolean[] = [];
  for (const chunk of keyDisk === undefined ? chunks : [...chunks, keyDisk]) {
    let owner: string | undefined;
    try {
      const found = await readChunkMetadata(chunk);
      owner = found === null ? undefined : `metadata of ${describeOwner(found.record)}`;
    } catch (error) {
      if (!(error instanceof MetadataError)) throw error;
      owner = `damaged softraid metadata (${error.message})`;
    }
    holdsMetadata.push(owner !== undefined);
    if (owner !== undefined && !request.force) {
      throw new SoftraidError(`chunk ${chunk.name} holds ${owner}; use -C force to overwrite it`);
    }
  }
  // 4. The record.
  const messages: BioMessage[] = [];
  const warning = unequalSizesWarning(request.level, usableSizesBytes);
  if (warning !== undefined) messages.push({ type: 'warning', text: warning });
  const chunkDataSizeBytes = coercedSizeBytes(usableSizesBytes);
  const uuid = newUuid(request.random);
  const record: VolumeRecord = {
    formatVersion: formatVersionCurrent,
    uuid,
    kind: request.level,
    layout,
    stripSizeBytes,
    chunkCount: chunks.length,
    dataOffsetBytes,
    chunkDataSizeBytes,
    volumeSizeBytes: volumeSizeBytesFor({ kind: request.level, chunkDataSizeBytes, stripSizeBytes, chunkCount: chunks.length, usableSizesBytes }),
    eventCounter: 1,
    eventCounterFloor: 1,
    deviceName: request.deviceName,
    noAutoAssemble: request.noAutoAssemble,
    dirty: false,
    rebuildCheckpointBytes: 0,
    chunks: chunks.map((chunk, index) => ({ index, state: 'Online', usableSizeBytes: usableSizesBytes[index]!, name: fitName(chunk.name, chunkNameBytes) })),
    reservedRegions: structuredClone(reservedRegionsDefault),
  };
  if (encrypted && record.volumeSizeBytes > encryptedVolumeBytesMax) {
    throw new SoftraidError(`${info.displayName} volume of ${record.volumeSizeBytes} bytes exceeds maximum size (${encryptedVolumeBytesMax} bytes)`);
  }
  // 5. The keys, once nothing can be refused any more.
  const keys = request.newKeys === undefined ? null : await request.newKeys(uuid);
  const region = reservedRegionsDefault.crypto;
  // 6. Write: old metadata wiped first, so a crash never leaves an old copy that outranks the new one;
  //    the key disk, then each chunk's key area before its metadata: metadata never names keys it lacks.
  try {
    if (keyDisk !== undefined) {
      assert(keys?.keyDiskArea != null, 'createVolume: a key disk without its key');
      if (holdsMetadata[chunks.length]) await wipeChunkMetadata(keyDisk);
      await writeKeyArea(keyDisk, region, keys.keyDiskArea);
      await writeChunkMetadata(keyDisk, pseudoVolumeRecord('keydisk', record.uuid, keyDisk), 0);
    }
    await Promise.all(chunks.map(async (chunk, index) => {
      if (holdsMetadata[index]) await wipeChunkMetadata(chunk);
      if (keys !== null) await writeKeyArea(chunk, region, keys.area);
      await writeChunkMetadata(chunk, record, index);
    }));
  } catch (error) {
    await keys?.cipher.destroy();
    throw error;
  } finally {
    keys?.keyDiskArea?.maskKey.fill(0);
  }
  return { record, members: [...chunks], messages, encryption: keys === null ? null : { cipher: keys.cipher, keyArea: keys.area } };
}
