// The record <-> bytes of one metadata copy (layout.ts, docs/on-disk-format.md).
// encodeMetadata asserts the record is valid before producing bytes;
// decodeMetadata checks magic, version, sizes and checksum, parses every
// field, then validates the whole record; any problem is a MetadataError
// naming the chunk. No magic at all is not an error: it is "no metadata".
import { assert } from '@openbsd38/libutil/assert.js';
import { MetadataError } from '../errors.js';
import { chunkStateCode, chunkStateFromCode, type ChunkState } from '@openbsd38/bio/states.js';
import type { ChunkRecord, VolumeRecord } from './record.js';
import {
  chunkCountMax, chunkEntryBytes, chunkEntryField, chunkNameBytes, copyBytesFor, copySlotBytes, deviceNameBytes, regionAlignmentBytes,
  formatVersionCurrent, headerBytes, headerField, magicBytes, regionFieldBytes, reservedRegionNames,
  reservedRegionsDefault, stateFlag, stateFlagsKnown, volumeFlag, volumeFlagsKnown, type Region, type ReservedRegionName,
} from './layout.js';
import { kindCode, kindFromCode, layoutCode, layoutFromCode } from './codes.js';
import { crc32c } from './crc32c.js';
import { readText, writeText } from './text.js';
import { uuidBytes, uuidFromString, uuidToString } from './uuid.js';
import { recordProblem } from './validate.js';
import { MetadataVersionError } from './version-error.js';

export type DecodedMetadata =
  | { status: 'none' }
  | { status: 'found'; record: VolumeRecord; chunkIndex: number };

const regionFieldOffsets: Readonly<Record<ReservedRegionName, number>> = {
  bitmap: headerField.bitmapRegion, journal: headerField.journalRegion, crypto: headerField.cryptoRegion,
};

function setU64(view: DataView, offsetBytes: number, value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, `u64 field at ${offsetBytes}: ${value}`);
  view.setBigUint64(offsetBytes, BigInt(value), true);
}

/** The checksum of a copy: CRC32C over all of it with the checksum field read as zero. */
export function copyChecksum(copy: Uint8Array): number {
  const scratch = copy.slice();
  new DataView(scratch.buffer).setUint32(headerField.checksum, 0, true);
  return crc32c(scratch);
}

/** One metadata copy of `record` as stored on chunk `chunkIndex`. */
export function encodeMetadata(record: VolumeRecord, chunkIndex: number): Uint8Array {
  const problem = recordProblem(record, chunkIndex);
  assert(problem === undefined, `refusing to write invalid metadata for ${record.uuid}: ${problem}`);
  const copyBytes = copyBytesFor(record.chunkCount);
  const bytes = new Uint8Array(copyBytes);
  const view = new DataView(bytes.buffer);
  bytes.set(magicBytes, headerField.magic);
  view.setUint32(headerField.formatVersion, formatVersionCurrent, true);
  view.setUint32(headerField.headerBytes, headerBytes, true);
  view.setUint32(headerField.copyBytes, copyBytes, true);
  bytes.set(uuidFromString(record.uuid), headerField.uuid);
  view.setUint32(headerField.chunkIndex, chunkIndex, true);
  view.setUint32(headerField.chunkCount, record.chunkCount, true);
  view.setUint32(headerField.kind, kindCode(record.kind), true);
  view.setUint32(headerField.layout, layoutCode(record.layout), true);
  view.setUint32(headerField.stripSizeBytes, record.stripSizeBytes, true);
  view.setUint32(headerField.volumeFlags, record.noAutoAssemble ? volumeFlag.noAutoAssemble : 0, true);
  view.setUint32(headerField.stateFlags, record.dirty ? stateFlag.dirty : 0, true);
  view.setUint32(headerField.chunkEntryBytes, chunkEntryBytes, true);
  setU64(view, headerField.dataOffsetBytes, record.dataOffsetBytes);
  setU64(view, headerField.chunkDataSizeBytes, record.chunkDataSizeBytes);
  setU64(view, headerField.volumeSizeBytes, record.volumeSizeBytes);
  setU64(view, headerField.eventCounter, record.eventCounter);
  setU64(view, headerField.eventCounterFloor, record.eventCounterFloor ?? record.eventCounter);
  setU64(view, headerField.rebuildCheckpointBytes, record.rebuildCheckpointBytes);
  writeText(bytes, headerField.deviceName, deviceNameBytes, record.deviceName);
  const regions = record.reservedRegions ?? reservedRegionsDefault;
  for (const name of reservedRegionNames) {
    setU64(view, regionFieldOffsets[name], regions[name].offsetBytes);
    setU64(view, regionFieldOffsets[name] + 8, regions[name].lengthBytes);
  }
  view.setUint32(headerField.featureFlags, record.featureFlags ?? 0, true);
  view.setUint32(headerField.writeIntentRegionBytes, record.writeIntentRegionBytes ?? 0, true);
  record.chunks.forEach((chunk, i) => {
    const entry = headerBytes + i * chunkEntryBytes;
    view.setUint32(entry + chunkEntryField.index, chunk.index, true);
    view.setUint32(entry + chunkEntryField.state, chunkStateCode[chunk.state], true);
    setU64(view, entry + chunkEntryField.usableSizeBytes, chunk.usableSizeBytes);
    writeText(bytes, entry + chunkEntryField.name, chunkNameBytes, chunk.name);
  });
  view.setUint32(headerField.checksum, crc32c(bytes), true);
  return bytes;
}

/** Thrown inside the decoder only; turned into a MetadataError at its end. */
class Problem {
  constructor(readonly text: string) {}
}

function getU64(view: DataView, offsetBytes: number, what: string): number {
  const value = view.getBigUint64(offsetBytes, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Problem(`${what} ${value} is too large`);
  return Number(value);
}

function getText(bytes: Uint8Array, offsetBytes: number, fieldBytes: number, what: string): string {
  const result = readText(bytes, offsetBytes, fieldBytes);
  if ('problem' in result) throw new Problem(`${what} ${result.problem}`);
  return result.text;
}

function hasMagic(bytes: Uint8Array): boolean {
  return bytes.length >= magicBytes.length && magicBytes.every((byte, i) => bytes[i] === byte);
}

/** Decodes one metadata copy read from chunk `chunkName`. */
export function decodeMetadata(bytes: Uint8Array, chunkName: string): DecodedMetadata {
  if (!hasMagic(bytes)) return { status: 'none' };
  try {
    return { status: 'found', ...decodeFields(bytes, chunkName) };
  } catch (error) {
    if (error instanceof Problem) throw new MetadataError(chunkName, `invalid metadata: ${error.text}`);
    throw error;
  }
}

function decodeFields(bytes: Uint8Array, chunkName: string): { record: VolumeRecord; chunkIndex: number } {
  if (bytes.length < headerBytes) throw new Problem(`truncated: ${bytes.length} bytes, the header alone is ${headerBytes}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // 1. The stable prefix (magic, version, header size, copy size, checksum keep their place in
  //    every version): the checksum first, so a damaged version field is damage, not a newer format.
  const copyBytes = view.getUint32(headerField.copyBytes, true);
  if (copyBytes < headerBytes || copyBytes > copySlotBytes || copyBytes % regionAlignmentBytes !== 0) {
    throw new Problem(`copy size ${copyBytes} is out of range`);
  }
  if (bytes.length < copyBytes) throw new Problem(`truncated: ${bytes.length} bytes of a ${copyBytes}-byte copy`);
  const copy = bytes.subarray(0, copyBytes);
  const storedChecksum = view.getUint32(headerField.checksum, true);
  const computedChecksum = copyChecksum(copy);
  if (storedChecksum !== computedChecksum) {
    throw new Problem(`checksum mismatch (stored 0x${storedChecksum.toString(16)}, computed 0x${computedChecksum.toString(16)})`);
  }
  // 2. The version: a newer one is refused with softraid's wording.
  const formatVersion = view.getUint32(headerField.formatVersion, true);
  if (formatVersion > formatVersionCurrent) throw new MetadataVersionError(chunkName, formatVersion, formatVersionCurrent);
  if (formatVersion < 1) throw new Problem(`format version ${formatVersion} does not exist`);
  // 3. This version's sizes.
  const storedHeaderBytes = view.getUint32(headerField.headerBytes, true);
  if (storedHeaderBytes !== headerBytes) throw new Problem(`header size ${storedHeaderBytes}, expected ${headerBytes}`);
  const storedEntryBytes = view.getUint32(headerField.chunkEntryBytes, true);
  if (storedEntryBytes !== chunkEntryBytes) throw new Problem(`chunk entry size ${storedEntryBytes}, expected ${chunkEntryBytes}`);
  const chunkCount = view.getUint32(headerField.chunkCount, true);
  if (chunkCount < 1 || chunkCount > chunkCountMax) throw new Problem(`chunk count ${chunkCount} is out of range 1..${chunkCountMax}`);
  if (copyBytes !== copyBytesFor(chunkCount)) throw new Problem(`copy size ${copyBytes}, expected ${copyBytesFor(chunkCount)} for ${chunkCount} chunks`);
  // 4. Every field, then the record as a whole.
  const kindValue = view.getUint32(headerField.kind, true);
  const kind = kindFromCode(kindValue);
  if (kind === undefined) throw new Problem(`unknown level code 0x${kindValue.toString(16)}`);
  const layoutValue = view.getUint32(headerField.layout, true);
  const layout = layoutFromCode(layoutValue);
  if (layout === undefined) throw new Problem(`unknown layout code ${layoutValue}`);
  const volumeFlags = view.getUint32(headerField.volumeFlags, true);
  if ((volumeFlags & ~volumeFlagsKnown) !== 0) throw new Problem(`unknown volume flags 0x${volumeFlags.toString(16)}`);
  const stateFlags = view.getUint32(headerField.stateFlags, true);
  if ((stateFlags & ~stateFlagsKnown) !== 0) throw new Problem(`unknown state flags 0x${stateFlags.toString(16)}`);
  const reservedRegions = {} as Record<ReservedRegionName, Region>;
  for (const name of reservedRegionNames) {
    reservedRegions[name] = {
      offsetBytes: getU64(view, regionFieldOffsets[name], `${name} region offset`),
      lengthBytes: getU64(view, regionFieldOffsets[name] + regionFieldBytes / 2, `${name} region length`),
    };
  }
  const chunks: ChunkRecord[] = [];
  for (let i = 0; i < chunkCount; i++) {
    const entry = headerBytes + i * chunkEntryBytes;
    const stateValue = view.getUint32(entry + chunkEntryField.state, true);
    const state: ChunkState | undefined = chunkStateFromCode(stateValue);
    if (state === undefined) throw new Problem(`chunk ${i} has unknown state code ${stateValue}`);
    chunks.push({
      index: view.getUint32(entry + chunkEntryField.index, true),
      state,
      usableSizeBytes: getU64(view, entry + chunkEntryField.usableSizeBytes, `chunk ${i} usable size`),
      name: getText(bytes, entry + chunkEntryField.name, chunkNameBytes, `chunk ${i} name`),
    });
  }
  const record: VolumeRecord = {
    formatVersion,
    uuid: uuidToString(bytes.slice(headerField.uuid, headerField.uuid + uuidBytes)),
    kind,
    layout,
    stripSizeBytes: view.getUint32(headerField.stripSizeBytes, true),
    chunkCount,
    dataOffsetBytes: getU64(view, headerField.dataOffsetBytes, 'data offset'),
    chunkDataSizeBytes: getU64(view, headerField.chunkDataSizeBytes, 'chunk data size'),
    volumeSizeBytes: getU64(view, headerField.volumeSizeBytes, 'volume size'),
    eventCounter: getU64(view, headerField.eventCounter, 'event counter'),
    eventCounterFloor: getU64(view, headerField.eventCounterFloor, 'event counter floor'),
    deviceName: getText(bytes, headerField.deviceName, deviceNameBytes, 'device name'),
    noAutoAssemble: (volumeFlags & volumeFlag.noAutoAssemble) !== 0,
    dirty: (stateFlags & stateFlag.dirty) !== 0,
    rebuildCheckpointBytes: getU64(view, headerField.rebuildCheckpointBytes, 'rebuild checkpoint'),
    chunks,
    reservedRegions,
  };
  // Additive fields: absent in the record when zero, as a record that predates them.
  const featureFlags = view.getUint32(headerField.featureFlags, true);
  const writeIntentRegionBytes = view.getUint32(headerField.writeIntentRegionBytes, true);
  if (featureFlags !== 0) record.featureFlags = featureFlags;
  if (writeIntentRegionBytes !== 0) record.writeIntentRegionBytes = writeIntentRegionBytes;
  const chunkIndex = view.getUint32(headerField.chunkIndex, true);
  const problem = recordProblem(record, chunkIndex);
  if (problem !== undefined) throw new Problem(problem);
  return { record, chunkIndex };
}
