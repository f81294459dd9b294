// Metadata on a chunk: two copies, read and written in a fixed order.
//
// Write order (writeChunkMetadata): copy A, flush, copy B, flush. A crash
// tears at most one copy, and the other still holds a whole record: the old
// one (A torn: B is old, the save did not happen on this chunk) or the new
// one (B torn: A is new). Read (readChunkMetadata) decodes both and takes the
// valid copy with the higher event counter (A on a tie), reporting the other
// when it is damaged or behind.
import { assert } from '@openbsd38/libutil/assert.js';
import { ChunkIoError, MetadataError } from '../errors.js';
import type { ChunkBackend } from '../chunk.js';
import type { VolumeRecord } from './record.js';
import { copyBytesMax, copyNames, copyOffsetsBytes, copySlotBytes, metadataEndBytes, reservedRegionsDefault } from './layout.js';
import { decodeMetadata, encodeMetadata } from './codec.js';
import { MetadataVersionError } from './version-error.js';
import { wipeKeyArea } from './key-area.js';

export interface ChunkMetadata {
  record: VolumeRecord;
  /** Which chunk of the volume this member is, as its metadata says. */
  chunkIndex: number;
  /** Per copy (A, B): it decoded to a valid record. */
  copiesValid: [boolean, boolean];
  /** Per copy: why it is not used, or null (the copy in use, or a valid equal copy). */
  copyProblems: [string | null, string | null];
  /** Both copies valid and at the same event counter: nothing to repair. */
  copiesAgree: boolean;
}

type CopyResult = { status: 'none' } | { status: 'found'; record: VolumeRecord; chunkIndex: number } | { status: 'error'; error: MetadataError };

async function readCopy(chunk: ChunkBackend, copy: number): Promise<CopyResult> {
  const offsetBytes = copyOffsetsBytes[copy]!;
  const lengthBytes = Math.min(copyBytesMax, chunk.sizeBytes - offsetBytes);
  if (lengthBytes <= 0) return { status: 'none' };
  const bytes = new Uint8Array(lengthBytes);
  try {
    await chunk.read(bytes, offsetBytes);
  } catch (error) {
    if (!(error instanceof ChunkIoError)) throw error;
    return { status: 'error', error: new MetadataError(chunk.name, `cannot read metadata copy ${copyNames[copy]}: ${error.errno}`) };
  }
  try {
    return decodeMetadata(bytes, chunk.name);
  } catch (error) {
    if (!(error instanceof MetadataError)) throw error;
    return { status: 'error', error };
  }
}

/** The problem of a MetadataError without its "NAME: " prefix. */
export function problemOf(error: MetadataError, chunkName: string): string {
  const prefix = `${chunkName}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/**
 * The chunk's metadata: null when neither copy carries any, the freshest
 * valid copy otherwise. Throws MetadataError (naming the chunk) when
 * metadata is present but no copy is valid.
 */
export async function readChunkMetadata(chunk: ChunkBackend): Promise<ChunkMetadata | null> {
  const copies = [await readCopy(chunk, 0), await readCopy(chunk, 1)];
  const found = copies.flatMap((copy, i) => (copy.status === 'found' ? [{ ...copy, copy: i }] : []));
  if (found.length === 0) {
    const errors = copies.flatMap((copy) => (copy.status === 'error' ? [copy.error] : []));
    if (errors.length === 0) return null;
    const versionError = errors.find((error) => error instanceof MetadataVersionError);
    if (versionError) throw versionError;
    const described = copies.map((copy, i) => `copy ${copyNames[i]} ${copy.status === 'error' ? problemOf(copy.error, chunk.name) : 'absent'}`);
    throw new MetadataError(chunk.name, `no valid metadata copy: ${described.join('; ')}`);
  }
  const best = found.reduce((a, b) => (b.record.eventCounter > a.record.eventCounter ? b : a));
  const copyProblems = copies.map((copy, i): string | null => {
    if (i === best.copy) return null;
    if (copy.status === 'none') return `copy ${copyNames[i]} has no metadata`;
    if (copy.status === 'error') return `copy ${copyNames[i]} ${problemOf(copy.error, chunk.name)}`;
    if (copy.record.uuid !== best.record.uuid) return `copy ${copyNames[i]} belongs to volume ${copy.record.uuid}`;
    if (copy.record.eventCounter !== best.record.eventCounter) {
      return `copy ${copyNames[i]} is behind (event ${copy.record.eventCounter}, current ${best.record.eventCounter})`;
    }
    return null;
  }) as [string | null, string | null];
  return {
    record: best.record,
    chunkIndex: best.chunkIndex,
    copiesValid: [copies[0]!.status === 'found', copies[1]!.status === 'found'],
    copyProblems,
    copiesAgree: found.length === 2 && copyProblems.every((problem) => problem === null),
  };
}

/** Writes both copies of `record` as chunk `chunkIndex`: A, flush, B, flush. Rejects with ChunkIoError. */
export async function writeChunkMetadata(chunk: ChunkBackend, record: VolumeRecord, chunkIndex: number): Promise<void> {
  assert(chunk.sizeBytes >= metadataEndBytes, `${chunk.name} is too small to hold metadata`);
  const bytes = encodeMetadata(record, chunkIndex);
  assert(bytes.length <= copySlotBytes, 'a copy fits its slot');
  for (const offsetBytes of copyOffsetsBytes) {
    await chunk.write(bytes, offsetBytes);
    await chunk.flush();
  }
}

/**
 * Zeroes both copies (A, flush, B, flush): the chunk then has no metadata.
 * For force-create, a new hot spare, a spare leaving the pool. The key area
 * goes first: a CRYPTO or RAID 1C member's masked keys, and above all a key
 * disk's mask key in the clear, must not outlive the metadata that named
 * them on a disk put to another use.
 */
export async function wipeChunkMetadata(chunk: ChunkBackend): Promise<void> {
  const crypto = reservedRegionsDefault.crypto;
  if (chunk.sizeBytes >= crypto.offsetBytes + crypto.lengthBytes) await wipeKeyArea(chunk, crypto);
  for (const offsetBytes of copyOffsetsBytes) {
    const lengthBytes = Math.min(copySlotBytes, chunk.sizeBytes - offsetBytes);
    if (lengthBytes <= 0) continue;
    await chunk.write(new Uint8Array(lengthBytes), offsetBytes);
    await chunk.flush();
  }
}

const savesInFlight = new WeakSet<VolumeRecord>();

/**
 * softraid's sr_meta_save: bumps record.eventCounter and writes the record
 * to every member present whose state is not Offline. Returns the indexes of
 * the chunks whose write failed; the caller marks them Offline and calls
 * again (which bumps the counter again). When every write succeeded, the
 * record's eventCounterFloor advances to this save's counter, so the next
 * save tells assembly that all members not Offline had reached it.
 */
export async function saveVolumeMetadata(record: VolumeRecord, members: readonly (ChunkBackend | null)[]): Promise<number[]> {
  assert(members.length === record.chunkCount, `save: ${members.length} members for ${record.chunkCount} chunks`);
  assert(!savesInFlight.has(record), `save of ${record.uuid} while another save of it runs`);
  savesInFlight.add(record);
  try {
    const floor = record.eventCounterFloor ?? record.eventCounter;
    record.eventCounter += 1;
    record.eventCounterFloor = floor;
    assert(Number.isSafeInteger(record.eventCounter), 'event counter overflow');
    const targets = members.flatMap((member, index) =>
      member !== null && record.chunks[index]!.state !== 'Offline' ? [{ member, index }] : []);
    const results = await Promise.allSettled(targets.map(({ member, index }) => writeChunkMetadata(member, record, index)));
    const failed: number[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      if (!(result.reason instanceof ChunkIoError)) throw result.reason;
      failed.push(targets[i]!.index);
    });
    if (failed.length === 0) record.eventCounterFloor = record.eventCounter;
    return failed;
  } finally {
    savesInFlight.delete(record);
  }
}
