// Adding a chunk to the global hot-spare pool (bioctl -H): softraid's
// sr_hotspare writes a one-chunk pseudo-volume of kind 'hotspare'.
import { MetadataError, SoftraidError } from '../errors.js';
import type { ChunkBackend } from '../chunk.js';
import type { BioMessage } from '@openbsd38/bio/controller.js';
import type { VolumeRecord } from '../metadata/record.js';
import { dataOffsetBytesDefault } from '../metadata/layout.js';
import { readChunkMetadata, wipeChunkMetadata, writeChunkMetadata } from '../metadata/io.js';
import { pseudoVolumeRecord } from './pseudo-volume.js';
import { newUuid } from '../metadata/uuid.js';
import { describeOwner, refuseInUse, refuseLiveMember, type ChunksInUse } from './checks.js';
import { usableSizeBytesMinFor, usableSizeBytesOf } from '../metadata/sizes.js';

export interface MakeHotSpareOptions {
  chunksInUse: ChunksInUse;
  random: (bytes: Uint8Array) => void;
  /**
   * The metadata on the chunk is a leftover the caller knows to be stale: the
   * chunk was a member of a volume that is assembled and has since replaced
   * it (a failed disk put back in). Its own copy still calls itself Online,
   * because the failure kept it from hearing otherwise.
   */
  isStaleMember?: (existing: VolumeRecord) => boolean;
}

export async function makeHotSpare(chunk: ChunkBackend, options: MakeHotSpareOptions): Promise<{ record: VolumeRecord; messages: BioMessage[] }> {
  refuseInUse([chunk], options.chunksInUse);
  const dataOffsetBytes = dataOffsetBytesDefault;
  const usableSizeBytes = usableSizeBytesOf(chunk.sizeBytes, dataOffsetBytes);
  const usableMinBytes = usableSizeBytesMinFor('hotspare', 0);
  if (usableSizeBytes < usableMinBytes) {
    throw new SoftraidError(`chunk ${chunk.name} too small: ${chunk.sizeBytes} bytes, at least ${dataOffsetBytes + usableMinBytes} needed`);
  }
  // A member a volume still counts on is refused; leftovers of a failed member (Offline/Failed) and old spares are reused.
  const messages: BioMessage[] = [];
  let existing;
  try {
    existing = await readChunkMetadata(chunk);
  } catch (error) {
    if (!(error instanceof MetadataError)) throw error;
    throw new SoftraidError(`chunk ${chunk.name} holds damaged softraid metadata (${error.message}); wipe it before adding it as a hot spare`);
  }
  if (existing !== null) {
    refuseLiveMember(chunk, existing, 'a hot spare', (record) => options.isStaleMember?.(record) === true);
    messages.push({ type: 'info', text: `chunk ${chunk.name} held metadata of ${describeOwner(existing.record)}, overwritten` });
  }
  const record = pseudoVolumeRecord('hotspare', newUuid(options.random), chunk);
  if (existing !== null) await wipeChunkMetadata(chunk);
  await writeChunkMetadata(chunk, record, 0);
  return { record, messages };
}
