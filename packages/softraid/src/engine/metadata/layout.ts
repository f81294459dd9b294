// The native on-disk layout, version 1, as named constants asserted against
// each other at load time. docs/on-disk-format.md is the same layout as byte
// tables; a change here is a change there (and, if it is not additive, a new
// format version).
//
// A chunk, from byte 0:
//   [0, 8 KiB)          untouched (partition table / boot area of the member)
//   [8 KiB, 64 KiB)     metadata copy A
//   [64 KiB, 128 KiB)   metadata copy B
//   [128 KiB, 256 KiB)  reserved: write-intent bitmap
//   [256 KiB, 768 KiB)  reserved: journal / partial-parity log
//   [768 KiB, 832 KiB)  reserved: crypto key material
//   [832 KiB, 1 MiB)    free
//   [1 MiB, ...)        volume data (dataOffsetBytes, recorded in the header)
import { assert } from '@openbsd38/libutil/assert.js';
import { KiB, MiB, GiB, alignUp } from '@openbsd38/libutil/units.js';
import { levelTable, raidLevels } from '@openbsd38/bio/levels.js';

/** "SOFTRAID" in ASCII: the first 8 bytes of every metadata copy. */
export const magicBytes: Uint8Array = new TextEncoder().encode('SOFTRAID');
export const formatVersionCurrent = 1;

/** Every region boundary is a multiple of this (the largest common sector size). */
export const regionAlignmentBytes = 4 * KiB;

export const copyAOffsetBytes = 8 * KiB;
export const copyBOffsetBytes = 64 * KiB;
/** Room for each copy: A ends where B starts; B gets the same room. */
export const copySlotBytes = copyBOffsetBytes - copyAOffsetBytes;
export const copyOffsetsBytes: readonly number[] = [copyAOffsetBytes, copyBOffsetBytes];
export const copyNames: readonly string[] = ['A', 'B'];
/** First byte after both copies: reserved regions may start here. */
export const metadataEndBytes = copyBOffsetBytes + copySlotBytes;

/** Header, then one fixed-size entry per chunk. */
export const headerBytes = 1024;
export const chunkEntryBytes = 128;
export const chunkCountMax = 256;

/** Bytes a copy occupies (and its checksum covers) for a volume of `chunkCount` chunks. */
export function copyBytesFor(chunkCount: number): number {
  assert(Number.isSafeInteger(chunkCount) && chunkCount >= 1 && chunkCount <= chunkCountMax, `bad chunk count ${chunkCount}`);
  return alignUp(headerBytes + chunkCount * chunkEntryBytes, regionAlignmentBytes);
}
export const copyBytesMax = copyBytesFor(chunkCountMax);

/** Header field offsets (bytes from the start of the copy); all integers little-endian. */
export const headerField = {
  magic: 0, // 8 bytes
  formatVersion: 8, // u32
  headerBytes: 12, // u32
  copyBytes: 16, // u32, bytes covered by the checksum
  checksum: 20, // u32, CRC32C of copyBytes bytes with this field zero
  uuid: 24, // 16 bytes
  chunkIndex: 40, // u32, the chunk this copy sits on
  chunkCount: 44, // u32
  kind: 48, // u32, kindCode
  layout: 52, // u32, layoutCode
  stripSizeBytes: 56, // u32
  volumeFlags: 60, // u32, volumeFlag bits
  stateFlags: 64, // u32, stateFlag bits
  chunkEntryBytes: 68, // u32
  dataOffsetBytes: 72, // u64
  chunkDataSizeBytes: 80, // u64
  volumeSizeBytes: 88, // u64
  eventCounter: 96, // u64
  eventCounterFloor: 104, // u64
  rebuildCheckpointBytes: 112, // u64
  deviceName: 120, // deviceNameBytes, UTF-8, NUL padded
  bitmapRegion: 152, // u64 offset, u64 length
  journalRegion: 168, // u64 offset, u64 length
  cryptoRegion: 184, // u64 offset, u64 length
  // Additive fields in bytes version-1 readers ignore (written as zero before them):
  featureFlags: 200, // u32, featureFlag bits
  writeIntentRegionBytes: 204, // u32, chunk bytes per write-intent bit (0: none recorded)
  reserved: 208, // zero up to headerBytes
} as const;
export const deviceNameBytes = 32;
export const regionFieldBytes = 16;

/** Chunk entry field offsets (bytes from the start of the entry). */
export const chunkEntryField = {
  index: 0, // u32, equals the entry's position
  state: 4, // u32, bio(4) BIOC_SD* code
  usableSizeBytes: 8, // u64
  name: 16, // chunkNameBytes, UTF-8, NUL padded
} as const;
export const chunkNameBytes = chunkEntryBytes - chunkEntryField.name;

/** volumeFlags bits (what the operator asked for at creation). */
export const volumeFlag = { noAutoAssemble: 0x1 } as const;
export const volumeFlagsKnown = volumeFlag.noAutoAssemble;
/** stateFlags bits (what the engine records while running). */
export const stateFlag = { dirty: 0x1 } as const;
export const stateFlagsKnown = stateFlag.dirty;
/**
 * featureFlags bits (what the engine maintains on disk; additive, in bytes a
 * reader that predates them ignores; a reader refuses a bit it does not
 * know): a write-intent bitmap in the bitmap region, a partial parity log in
 * the journal region, and that log's records retired by a mark rather than
 * zeroed one by one (a reader that knows no marks would replay retired
 * records, so it must refuse the volume).
 */
export const featureFlag = { writeIntentBitmap: 0x1, partialParityLog: 0x2, partialParityLogMarks: 0x4 } as const;
export const featureFlagsKnown = featureFlag.writeIntentBitmap | featureFlag.partialParityLog | featureFlag.partialParityLogMarks;

/** A reserved region: where on every chunk, and how long. Length 0 means absent. */
export interface Region {
  offsetBytes: number;
  lengthBytes: number;
}
export const reservedRegionNames = ['bitmap', 'journal', 'crypto'] as const;
export type ReservedRegionName = (typeof reservedRegionNames)[number];
export const reservedRegionsDefault: Readonly<Record<ReservedRegionName, Region>> = {
  bitmap: { offsetBytes: 128 * KiB, lengthBytes: 128 * KiB },
  journal: { offsetBytes: 256 * KiB, lengthBytes: 512 * KiB },
  crypto: { offsetBytes: 768 * KiB, lengthBytes: 64 * KiB },
};

/** The smallest write-intent region (chunk bytes per bitmap bit) the format allows. */
export const writeIntentRegionBytesMin = 64 * KiB;
/**
 * A new volume's write-intent region, unless its owner asks for finer:
 * mdadm's DEFAULT_BITMAP_CHUNK. Every first write to a clean region waits
 * for a bitmap save on every member; at 64 KiB a sequential stream paid
 * that every row, at 4 MiB once per 4 MiB of each chunk, while a resync
 * after a crash copies at most 4 MiB more per region written.
 */
export const writeIntentRegionBytesDefault = 4 * MiB;

export const dataOffsetAlignmentBytes = 1 * MiB;
export const dataOffsetBytesDefault = 1 * MiB;
export const dataOffsetBytesMax = 1 * GiB;
/** Volume sizes, usable sizes and counters must stay exact in a JS number. */
export const sizeBytesMax = Number.MAX_SAFE_INTEGER;
/** Usable bytes below which a chunk is refused. */
export const usableSizeBytesMin = 1 * MiB;
/** Usable sizes are whole 512-byte blocks, as softraid counts them. */
export const blockBytes = 512;

// The layout checks itself: a contradiction here is a bug, found at load time.
assert(magicBytes.length === 8, 'magic is 8 bytes');
assert(copyAOffsetBytes % regionAlignmentBytes === 0 && copyBOffsetBytes % regionAlignmentBytes === 0, 'copies aligned');
assert(copyBytesMax <= copySlotBytes, 'the largest copy fits its slot');
assert(headerField.reserved <= headerBytes, 'header fields fit the header');
assert(headerField.deviceName + deviceNameBytes === headerField.bitmapRegion, 'device name ends where regions start');
assert(headerField.cryptoRegion + regionFieldBytes === headerField.featureFlags, 'regions end where the feature flags start');
assert(headerField.writeIntentRegionBytes + 4 === headerField.reserved, 'additive fields end where reserved starts');
assert(chunkEntryField.name + chunkNameBytes === chunkEntryBytes, 'chunk name fills its entry');
assert(raidLevels.every((level) => levelTable[level].maximumChunks <= chunkCountMax), 'every level fits chunkCountMax');
{
  let previousEndBytes = metadataEndBytes;
  for (const name of reservedRegionNames) {
    const region = reservedRegionsDefault[name];
    assert(region.offsetBytes >= previousEndBytes, `region ${name} overlaps its predecessor`);
    assert(region.offsetBytes % regionAlignmentBytes === 0 && region.lengthBytes % regionAlignmentBytes === 0, `region ${name} aligned`);
    previousEndBytes = region.offsetBytes + region.lengthBytes;
  }
  assert(previousEndBytes <= dataOffsetBytesDefault, 'reserved regions end before the data');
}
assert(dataOffsetBytesDefault % dataOffsetAlignmentBytes === 0, 'default data offset aligned');
