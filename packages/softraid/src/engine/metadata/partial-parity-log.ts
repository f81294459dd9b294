// Partial parity log records on disk (the reserved `journal` region of each
// chunk; docs/on-disk-format.md, "Partial parity log"; md's PPL). Before a
// RAID 5 write changes some data strips of a row, a record is written and
// flushed to that row's parity chunk: which column range of the row, which
// data chunks it modifies, and the partial parity — the XOR of the
// unmodified strips over that range. After a crash, parity is rebuilt as
// partial parity XOR the modified strips as they are now, which is right for
// the unmodified strips whatever happened to the modified ones.
//
// A record is one 512-byte header sector followed by the partial parity,
// rounded up to 512 bytes; the CRC32C covers both, so a torn record is no
// record. Records are retired by a mark, not one by one: the region's first
// two sectors hold two copies of a retirement mark ("every record with a
// sequence below N is retired"), written alternately, the newest valid copy
// counting. Zeroing records one by one let a crash in the middle keep an
// older record valid while a later one over the same columns was gone, and
// replaying the older one alone wrote stale parity (docs/write-ordering.md,
// "Retiring records").
import { assert } from '@openbsd38/libutil/assert.js';
import { alignUp } from '@openbsd38/libutil/units.js';
import { crc32c } from './crc32c.js';
import { uuidBytes, uuidFromString, uuidToString } from './uuid.js';
import { blockBytes, chunkCountMax } from './layout.js';

/** ASCII "SRPPLOG1". */
export const pplMagicBytes: Uint8Array = new TextEncoder().encode('SRPPLOG1');
export const pplHeaderBytes = 512;
/** Bytes of the modified-chunk mask: one bit per chunk. */
export const pplMaskBytes = chunkCountMax / 8;

export const pplField = {
  magic: 0, // 8 bytes
  checksum: 8, // u32, CRC32C of recordBytes bytes with this field zero
  recordBytes: 12, // u32, header + partial parity rounded up to 512
  uuid: 16, // 16 bytes, the volume's
  sequence: 32, // u64, increasing per volume: replay order
  parityChunkIndex: 40, // u32, the chunk the record sits on
  flags: 44, // u32, bit 0: partial parity present
  chunkOffsetBytes: 48, // u64, start of the range in every chunk's data area
  lengthBytes: 56, // u32, length of the range
  modifiedMask: 64, // pplMaskBytes, bit i: data chunk i modified
} as const;
export const pplFlagPartialParity = 0x1;

/** ASCII "SRPPLMK1": a retirement mark. */
export const pplMarkMagicBytes: Uint8Array = new TextEncoder().encode('SRPPLMK1');
export const pplMarkBytes = 512;
/** Two copies, at the start of the region; records are placed after them. */
export const pplMarkCopies = 2;
export const pplRecordsStartBytes = pplMarkCopies * pplMarkBytes;

export const pplMarkField = {
  magic: 0, // 8 bytes
  checksum: 8, // u32, CRC32C of the 512 bytes with this field zero
  reserved: 12, // u32, zero
  uuid: 16, // 16 bytes, the volume's
  retiredBelowSequence: 32, // u64, every record of this region with a lower sequence is retired
  // zero up to pplMarkBytes
} as const;

export function pplMarkOffsetBytes(copy: number): number {
  assert(Number.isInteger(copy) && copy >= 0 && copy < pplMarkCopies, 'ppl: bad mark copy');
  return copy * pplMarkBytes;
}

export function encodePplMark(uuid: string, retiredBelowSequence: number): Uint8Array {
  assert(Number.isSafeInteger(retiredBelowSequence) && retiredBelowSequence >= 0, 'ppl: bad retirement mark');
  const bytes = new Uint8Array(pplMarkBytes);
  const view = new DataView(bytes.buffer);
  bytes.set(pplMarkMagicBytes, pplMarkField.magic);
  bytes.set(uuidBytesOf(uuid), pplMarkField.uuid);
  view.setBigUint64(pplMarkField.retiredBelowSequence, BigInt(retiredBelowSequence), true);
  view.setUint32(pplMarkField.checksum, crc32c(bytes), true);
  return bytes;
}

/** The mark's sequence, or null when the sector is no valid mark of `uuid` (torn, zero, an old record). */
export function decodePplMark(sector: Uint8Array, uuid: string): number | null {
  if (sector.length < pplMarkBytes || !pplMarkMagicBytes.every((byte, i) => sector[i] === byte)) return null;
  const scratch = sector.slice(0, pplMarkBytes);
  const view = new DataView(scratch.buffer);
  const checksum = view.getUint32(pplMarkField.checksum, true);
  view.setUint32(pplMarkField.checksum, 0, true);
  if (crc32c(scratch) !== checksum || view.getUint32(pplMarkField.reserved, true) !== 0) return null;
  if (uuidToString(scratch.slice(pplMarkField.uuid, pplMarkField.uuid + uuidBytes)) !== uuid) return null;
  for (let i = pplMarkField.retiredBelowSequence + 8; i < pplMarkBytes; i++) if (scratch[i] !== 0) return null;
  const sequence = view.getBigUint64(pplMarkField.retiredBelowSequence, true);
  return sequence > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(sequence);
}

export interface PplRecord {
  uuid: string;
  sequence: number;
  parityChunkIndex: number;
  chunkOffsetBytes: number;
  lengthBytes: number;
  modifiedChunkIndexes: number[];
  /** XOR of the unmodified data strips over the range; null when every data strip is modified. */
  partialParity: Uint8Array | null;
}

export function pplRecordBytes(lengthBytes: number, withPartialParity: boolean): number {
  return pplHeaderBytes + (withPartialParity ? alignUp(lengthBytes, blockBytes) : 0);
}

/** The last volume UUID encoded, parsed once: every record of a volume carries the same one. */
let lastUuid: { text: string; bytes: Uint8Array } = { text: '', bytes: new Uint8Array(0) };

function uuidBytesOf(text: string): Uint8Array {
  if (lastUuid.text !== text) lastUuid = { text, bytes: uuidFromString(text) };
  return lastUuid.bytes;
}

export function encodePplRecord(record: PplRecord): Uint8Array {
  assert(record.lengthBytes > 0 && Number.isSafeInteger(record.chunkOffsetBytes), 'ppl: bad range');
  assert(record.partialParity === null || record.partialParity.length === record.lengthBytes, 'ppl: partial parity length');
  const recordBytes = pplRecordBytes(record.lengthBytes, record.partialParity !== null);
  const bytes = new Uint8Array(recordBytes);
  const view = new DataView(bytes.buffer);
  bytes.set(pplMagicBytes, pplField.magic);
  view.setUint32(pplField.recordBytes, recordBytes, true);
  bytes.set(uuidBytesOf(record.uuid), pplField.uuid);
  view.setBigUint64(pplField.sequence, BigInt(record.sequence), true);
  view.setUint32(pplField.parityChunkIndex, record.parityChunkIndex, true);
  view.setUint32(pplField.flags, record.partialParity !== null ? pplFlagPartialParity : 0, true);
  view.setBigUint64(pplField.chunkOffsetBytes, BigInt(record.chunkOffsetBytes), true);
  view.setUint32(pplField.lengthBytes, record.lengthBytes, true);
  for (const index of record.modifiedChunkIndexes) {
    assert(index >= 0 && index < chunkCountMax && index !== record.parityChunkIndex, 'ppl: bad modified chunk');
    bytes[pplField.modifiedMask + (index >> 3)]! |= 1 << (index & 7);
  }
  if (record.partialParity !== null) bytes.set(record.partialParity, pplHeaderBytes);
  view.setUint32(pplField.checksum, crc32c(bytes), true);
  return bytes;
}

/** The record length a header sector announces, or 0 when it is no record of `uuid`. */
export function pplAnnouncedBytes(header: Uint8Array, uuid: string, limitBytes: number): number {
  if (header.length < pplHeaderBytes || !pplMagicBytes.every((byte, i) => header[i] === byte)) return 0;
  if (uuidToString(header.slice(pplField.uuid, pplField.uuid + uuidBytes)) !== uuid) return 0;
  const recordBytes = new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(pplField.recordBytes, true);
  if (recordBytes < pplHeaderBytes || recordBytes % blockBytes !== 0 || recordBytes > limitBytes) return 0;
  return recordBytes;
}

/** Decodes a whole record, or null when damaged (a torn write) or not of `uuid`. */
export function decodePplRecord(bytes: Uint8Array, uuid: string): PplRecord | null {
  const recordBytes = pplAnnouncedBytes(bytes, uuid, bytes.length);
  if (recordBytes === 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scratch = bytes.slice(0, recordBytes);
  new DataView(scratch.buffer).setUint32(pplField.checksum, 0, true);
  if (crc32c(scratch) !== view.getUint32(pplField.checksum, true)) return null;
  const flags = view.getUint32(pplField.flags, true);
  const lengthBytes = view.getUint32(pplField.lengthBytes, true);
  const withPartialParity = (flags & pplFlagPartialParity) !== 0;
  if ((flags & ~pplFlagPartialParity) !== 0 || lengthBytes === 0 || pplRecordBytes(lengthBytes, withPartialParity) !== recordBytes) return null;
  const modifiedChunkIndexes: number[] = [];
  for (let index = 0; index < chunkCountMax; index++) {
    if ((bytes[pplField.modifiedMask + (index >> 3)]! & (1 << (index & 7))) !== 0) modifiedChunkIndexes.push(index);
  }
  return {
    uuid,
    sequence: Number(view.getBigUint64(pplField.sequence, true)),
    parityChunkIndex: view.getUint32(pplField.parityChunkIndex, true),
    chunkOffsetBytes: Number(view.getBigUint64(pplField.chunkOffsetBytes, true)),
    lengthBytes,
    modifiedChunkIndexes,
    partialParity: withPartialParity ? bytes.slice(pplHeaderBytes, pplHeaderBytes + lengthBytes) : null,
  };
}

assert(pplField.modifiedMask + pplMaskBytes <= pplHeaderBytes, 'ppl header fields fit a sector');
assert(pplMarkBytes === pplHeaderBytes && pplRecordsStartBytes % blockBytes === 0, 'ppl marks are sectors before the records');
assert(pplMarkMagicBytes.length === pplMagicBytes.length && !pplMarkMagicBytes.every((byte, i) => pplMagicBytes[i] === byte),
  'a mark is never read as a record');
