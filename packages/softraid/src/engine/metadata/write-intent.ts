// The write-intent bitmap on disk (the reserved `bitmap` region of every
// chunk; docs/on-disk-format.md, "Write-intent bitmap"). The region holds
// two copies, A in its first half and B in its second; update number s goes
// to copy s mod 2, so a torn update damages only the copy being written and
// the other still holds the previous state (a superset of what is clean).
// A reader takes the valid copy with the highest sequence. One bit covers
// `regionBytes` of every chunk's data area (md's bitmap chunk).
import { assert } from '@openbsd38/libutil/assert.js';
import { alignUp, divCeil, isPowerOfTwo, KiB } from '@openbsd38/libutil/units.js';
import { crc32c } from './crc32c.js';
import { uuidBytes, uuidFromString, uuidToString } from './uuid.js';
import { blockBytes, writeIntentRegionBytesDefault, writeIntentRegionBytesMin, type Region } from './layout.js';

/** ASCII "SRBITMAP". */
export const bitmapMagicBytes: Uint8Array = new TextEncoder().encode('SRBITMAP');
export const bitmapFormatVersion = 1;
export const bitmapHeaderBytes = 512;

export const bitmapField = {
  magic: 0, // 8 bytes
  version: 8, // u32
  headerBytes: 12, // u32
  checksum: 16, // u32, CRC32C of copyBytes bytes with this field zero
  copyBytes: 20, // u32, header + bit bytes, a multiple of 512
  uuid: 24, // 16 bytes, the volume's
  sequence: 40, // u64, bumped by every update
  regionBytes: 48, // u64, chunk bytes per bit
  bitCount: 56, // u32
  lastClearEventCounter: 64, // u64, metadata event counter when bits were last cleared
} as const;

export interface BitmapCopy {
  uuid: string;
  sequence: number;
  regionBytes: number;
  bitCount: number;
  /**
   * The metadata event counter at which bits were last cleared. A member whose
   * own metadata is at least this missed only writes to regions still dirty.
   */
  lastClearEventCounter: number;
  /** bitCount bits, bit i of byte i>>3 at (i & 7). */
  bits: Uint8Array;
}

/** Bytes of one copy's slot: half the region. */
export function bitmapSlotBytes(region: Region): number {
  return alignDownBlock(region.lengthBytes / 2);
}

function alignDownBlock(value: number): number {
  return Math.floor(value / blockBytes) * blockBytes;
}

/** The most bits a copy can hold in `region`. */
export function bitmapBitsMax(region: Region): number {
  return (bitmapSlotBytes(region) - bitmapHeaderBytes) * 8;
}

/**
 * The region size for a chunk data area of `chunkUsedBytes`: the smallest
 * power of two, at least `regionBytesAtLeast` (4 MiB unless asked) and one
 * strip, whose bits fit a copy.
 */
export function writeIntentRegionBytesFor(chunkUsedBytes: number, stripSizeBytes: number, region: Region,
  regionBytesAtLeast = writeIntentRegionBytesDefault): number {
  assert(isPowerOfTwo(regionBytesAtLeast) && regionBytesAtLeast >= writeIntentRegionBytesMin, `write-intent region ${regionBytesAtLeast} below the format's minimum`);
  let regionBytes = Math.max(regionBytesAtLeast, stripSizeBytes);
  while (divCeil(Math.max(chunkUsedBytes, 1), regionBytes) > bitmapBitsMax(region)) regionBytes *= 2;
  assert(isPowerOfTwo(regionBytes), `write-intent region ${regionBytes} is not a power of two`);
  return regionBytes;
}

export function bitmapCopyBytes(bitCount: number): number {
  return alignUp(bitmapHeaderBytes + divCeil(bitCount, 8), blockBytes);
}

export function bitmapCopyOffsetBytes(region: Region, sequence: number): number {
  return region.offsetBytes + (sequence % 2) * bitmapSlotBytes(region);
}

export function encodeBitmapCopy(copy: BitmapCopy, region: Region): Uint8Array {
  assert(copy.bitCount > 0 && copy.bitCount <= bitmapBitsMax(region), `bitmap of ${copy.bitCount} bits does not fit its region`);
  assert(copy.bits.length === divCeil(copy.bitCount, 8), 'bitmap bytes do not match the bit count');
  assert(Number.isSafeInteger(copy.sequence) && copy.sequence >= 1, 'bitmap sequence out of range');
  const copyBytes = bitmapCopyBytes(copy.bitCount);
  const bytes = new Uint8Array(copyBytes);
  const view = new DataView(bytes.buffer);
  bytes.set(bitmapMagicBytes, bitmapField.magic);
  view.setUint32(bitmapField.version, bitmapFormatVersion, true);
  view.setUint32(bitmapField.headerBytes, bitmapHeaderBytes, true);
  view.setUint32(bitmapField.copyBytes, copyBytes, true);
  bytes.set(uuidFromString(copy.uuid), bitmapField.uuid);
  view.setBigUint64(bitmapField.sequence, BigInt(copy.sequence), true);
  view.setBigUint64(bitmapField.regionBytes, BigInt(copy.regionBytes), true);
  view.setUint32(bitmapField.bitCount, copy.bitCount, true);
  view.setBigUint64(bitmapField.lastClearEventCounter, BigInt(copy.lastClearEventCounter), true);
  bytes.set(copy.bits, bitmapHeaderBytes);
  view.setUint32(bitmapField.checksum, crc32c(bytes), true);
  return bytes;
}

/** One copy read from `bytes` (a slot's worth), or null when absent, damaged or not this volume's. */
export function decodeBitmapCopy(bytes: Uint8Array, uuid: string): BitmapCopy | null {
  if (bytes.length < bitmapHeaderBytes || !bitmapMagicBytes.every((byte, i) => bytes[i] === byte)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const copyBytes = view.getUint32(bitmapField.copyBytes, true);
  if (copyBytes < bitmapHeaderBytes || copyBytes > bytes.length || copyBytes % blockBytes !== 0) return null;
  const scratch = bytes.slice(0, copyBytes);
  new DataView(scratch.buffer).setUint32(bitmapField.checksum, 0, true);
  if (crc32c(scratch) !== view.getUint32(bitmapField.checksum, true)) return null;
  if (view.getUint32(bitmapField.version, true) !== bitmapFormatVersion) return null;
  if (view.getUint32(bitmapField.headerBytes, true) !== bitmapHeaderBytes) return null;
  if (uuidToString(bytes.slice(bitmapField.uuid, bitmapField.uuid + uuidBytes)) !== uuid) return null;
  const bitCount = view.getUint32(bitmapField.bitCount, true);
  if (bitCount < 1 || bitmapCopyBytes(bitCount) !== copyBytes) return null;
  const sequence = Number(view.getBigUint64(bitmapField.sequence, true));
  const regionBytes = Number(view.getBigUint64(bitmapField.regionBytes, true));
  const lastClearEventCounter = Number(view.getBigUint64(bitmapField.lastClearEventCounter, true));
  if (!Number.isSafeInteger(sequence) || sequence < 1 || !isPowerOfTwo(regionBytes) || !Number.isSafeInteger(lastClearEventCounter)) return null;
  return { uuid, sequence, regionBytes, bitCount, lastClearEventCounter, bits: bytes.slice(bitmapHeaderBytes, bitmapHeaderBytes + divCeil(bitCount, 8)) };
}

assert(bitmapField.lastClearEventCounter + 8 <= bitmapHeaderBytes, 'bitmap header fields fit');
assert(writeIntentRegionBytesMin === 64 * KiB, 'write-intent regions start at 64 KiB');
