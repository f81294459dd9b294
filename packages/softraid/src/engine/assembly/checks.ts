// Refusals shared by create, assemble and hot-spare: each names the chunk,
// each runs before any byte is written.
import { SoftraidError } from '../errors.js';
import type { ChunkBackend } from '../chunk.js';
import { levelTable } from '@openbsd38/bio/levels.js';
import type { VolumeRecord } from '../metadata/record.js';

/** Is the storage behind this identity already part of an assembled volume or the hot-spare pool? */
export type ChunksInUse = (identity: string) => boolean;

/** bioctl's "duplicate device in list", naming the device. */
export function refuseDuplicates(chunks: readonly ChunkBackend[]): void {
  const seen = new Map<string, ChunkBackend>();
  for (const chunk of chunks) {
    const first = seen.get(chunk.identity);
    if (first) {
      const also = first.name === chunk.name ? '' : ` (same device as ${first.name})`;
      throw new SoftraidError(`duplicate device in list: ${chunk.name}${also}`);
    }
    seen.set(chunk.identity, chunk);
  }
}

/** softraid's "chunk %s already in use". */
export function refuseInUse(chunks: readonly ChunkBackend[], chunksInUse: ChunksInUse): void {
  for (const chunk of chunks) {
    if (chunksInUse(chunk.identity)) throw new SoftraidError(`chunk ${chunk.name} already in use`);
  }
}

/** "RAID 1 volume sd0 (uuid ...)" or "hot spare (uuid ...)": what a chunk's metadata belongs to. */
export function describeOwner(record: VolumeRecord): string {
  if (record.kind === 'hotspare') return `a hot spare (uuid ${record.uuid})`;
  if (record.kind === 'keydisk') return `a key disk (uuid ${record.uuid})`;
  return `${levelTable[record.kind].displayName} volume ${record.deviceName} (uuid ${record.uuid})`;
}

/**
 * Metadata found on a chunk that is about to be overwritten (a new hot
 * spare, a rebuild target): a leftover may go (an old spare, a member its
 * volume marked Offline or Failed, or one `isStale` says its volume has
 * moved on without); a member that some volume, assembled or not, still
 * counts on may not.
 */
export function refuseLiveMember(chunk: ChunkBackend, existing: { record: VolumeRecord; chunkIndex: number }, becoming: string,
  isStale: (record: VolumeRecord) => boolean): void {
  const ownState = existing.record.chunks[existing.chunkIndex]!.state;
  const leftover = existing.record.kind === 'hotspare' || ownState === 'Offline' || ownState === 'Failed' || isStale(existing.record);
  if (!leftover) throw new SoftraidError(`chunk ${chunk.name} holds metadata of ${describeOwner(existing.record)}; it cannot become ${becoming}`);
}
