// The key area: what CRYPTO and RAID 1C keep in each chunk's reserved crypto
// region (layout.ts), and what a key disk keeps in its own. Two slots, each
// a whole record with a CRC32C and a generation; the valid slot with the
// higher generation wins. docs/on-disk-format.md, "Key area", is the same
// layout as a byte table.
//
// A volume's slot holds softraid's key scheme (softraid_crypto.c): 32 data
// keys of 64 bytes (AES-XTS-256), masked by AES-256-ECB under a mask key,
// with HMAC-SHA1(SHA1(mask key), plaintext keys) to tell a wrong mask key,
// and the KDF hint the mask key comes from (bcrypt_pbkdf with its rounds and
// salt, or "key disk"). A key disk's slot holds the 32-byte mask key itself.
// Nothing here is secret in the clear except a key disk's mask key, which is
// the point of a key disk.
//
// Writes (writeKeyArea): the slot not holding the current record first,
// flush, then the other one, flush: a crash leaves one whole record, old or
// new. Both slots end holding the same record, so a passphrase change leaves
// no copy of the keys masked under the old one.
import { assert } from '@openbsd38/libutil/assert.js';
import { secretCopy } from '@openbsd38/libutil/secret-bytes.js';
import { ChunkIoError, MetadataError } from '../errors.js';
import type { ChunkBackend } from '../chunk.js';
import { crc32c } from './crc32c.js';
import { uuidBytes, uuidFromString, uuidToString } from './uuid.js';
import type { Region } from './layout.js';

/** "SRKEYS01" in ASCII: the first 8 bytes of every key-area slot. */
export const keyAreaMagic: Uint8Array = new TextEncoder().encode('SRKEYS01');
export const keyAreaVersionCurrent = 1;
export const keyAreaSlotBytes = 4096;
/** Slot offsets inside the crypto region: far apart, so one torn write cannot touch both. */
export const keyAreaSlotOffsetsBytes: readonly number[] = [0, 32 * 1024];
export const keyAreaRegionBytesMin = keyAreaSlotOffsetsBytes[1]! + keyAreaSlotBytes;

/** softraid's key array: SR_CRYPTO_MAXKEYS keys of SR_CRYPTO_KEYBYTES. */
export const dataKeyCount = 32;
export const dataKeyBytes = 64;
export const dataKeysBytes = dataKeyCount * dataKeyBytes;
export const maskKeyBytes = 32;
export const checkMacBytes = 20;
export const kdfSaltBytes = 128;
/** bcrypt_pbkdf rounds bioctl accepts (-r), as OpenBSD: 16 to 2^30. */
export const kdfRoundsMin = 16;
export const kdfRoundsMax = 2 ** 30;

export const keyAreaField = {
  magic: 0, // 8 bytes
  version: 8, // u32
  slotBytes: 12, // u32, bytes the checksum covers
  checksum: 16, // u32, CRC32C with this field zero
  kind: 20, // u32, keyAreaKindCode
  uuid: 24, // 16 bytes: the volume's
  generation: 40, // u64, bumped by every change
  cipher: 48, // u32: 2 = AES-XTS-256 (softraid's SR_CRYPTOA_AES_XTS_256)
  maskCipher: 52, // u32: 1 = AES-256-ECB (SR_CRYPTOM_AES_ECB_256)
  checkAlgorithm: 56, // u32: 1 = HMAC-SHA1 (SR_CRYPTOC_HMAC_SHA1)
  kdf: 60, // u32: 2 = key disk, 3 = bcrypt_pbkdf (SR_CRYPTOKDFT_*)
  kdfRounds: 64, // u32
  kdfSaltBytes: 68, // u32
  kdfSalt: 72, // kdfSaltBytes
  checkMac: 200, // checkMacBytes
  keys: 224, // volume: dataKeysBytes of masked keys; key disk: maskKeyBytes
  reserved: 224 + dataKeysBytes, // zero up to keyAreaSlotBytes
} as const;

const cipherAesXts256 = 2;
const maskCipherAesEcb256 = 1;
const checkHmacSha1 = 1;
const kdfKeyDisk = 2;
const kdfBcryptPbkdf = 3;
const kindCodes = { volume: 1, keydisk: 2 } as const;

export type KdfHint = { type: 'bcrypt-pbkdf'; rounds: number; salt: Uint8Array } | { type: 'keydisk' };

/** A volume's keys as stored: masked, with their check value and the KDF hint. */
export interface VolumeKeyArea {
  kind: 'volume';
  uuid: string;
  generation: number;
  kdf: KdfHint;
  maskedKeys: Uint8Array;
  checkMac: Uint8Array;
}

/** A key disk's content: the mask key of the volume with the same UUID. */
export interface KeyDiskArea {
  kind: 'keydisk';
  uuid: string;
  generation: number;
  maskKey: Uint8Array;
}

export type KeyArea = VolumeKeyArea | KeyDiskArea;

export function encodeKeyArea(area: KeyArea): Uint8Array {
  assert(Number.isSafeInteger(area.generation) && area.generation >= 1, `key area generation ${area.generation}`);
  const bytes = new Uint8Array(keyAreaSlotBytes);
  const view = new DataView(bytes.buffer);
  bytes.set(keyAreaMagic, keyAreaField.magic);
  view.setUint32(keyAreaField.version, keyAreaVersionCurrent, true);
  view.setUint32(keyAreaField.slotBytes, keyAreaSlotBytes, true);
  view.setUint32(keyAreaField.kind, kindCodes[area.kind], true);
  bytes.set(uuidFromString(area.uuid), keyAreaField.uuid);
  view.setBigUint64(keyAreaField.generation, BigInt(area.generation), true);
  view.setUint32(keyAreaField.cipher, cipherAesXts256, true);
  view.setUint32(keyAreaField.maskCipher, maskCipherAesEcb256, true);
  view.setUint32(keyAreaField.checkAlgorithm, checkHmacSha1, true);
  if (area.kind === 'volume') {
    assert(area.maskedKeys.length === dataKeysBytes && area.checkMac.length === checkMacBytes, 'key area: key sizes');
    if (area.kdf.type === 'bcrypt-pbkdf') {
      assert(area.kdf.salt.length === kdfSaltBytes, 'key area: salt size');
      assert(Number.isSafeInteger(area.kdf.rounds) && area.kdf.rounds >= kdfRoundsMin && area.kdf.rounds <= kdfRoundsMax, 'key area: rounds');
      view.setUint32(keyAreaField.kdf, kdfBcryptPbkdf, true);
      view.setUint32(keyAreaField.kdfRounds, area.kdf.rounds, true);
      view.setUint32(keyAreaField.kdfSaltBytes, kdfSaltBytes, true);
      bytes.set(area.kdf.salt, keyAreaField.kdfSalt);
    } else {
      view.setUint32(keyAreaField.kdf, kdfKeyDisk, true);
    }
    bytes.set(area.checkMac, keyAreaField.checkMac);
    bytes.set(area.maskedKeys, keyAreaField.keys);
  } else {
    assert(area.maskKey.length === maskKeyBytes, 'key disk: mask key size');
    view.setUint32(keyAreaField.kdf, kdfKeyDisk, true);
    bytes.set(area.maskKey, keyAreaField.keys);
  }
  view.setUint32(keyAreaField.checksum, crc32c(bytes), true);
  return bytes;
}

class Problem {
  constructor(readonly text: string) {}
}

/** One slot: null when it holds no key area at all (no magic), a KeyArea, or a MetadataError naming the chunk. */
export function decodeKeyArea(bytes: Uint8Array, chunkName: string): KeyArea | null {
  if (bytes.length < keyAreaMagic.length || !keyAreaMagic.every((byte, i) => bytes[i] === byte)) return null;
  try {
    return decodeFields(bytes);
  } catch (error) {
    if (error instanceof Problem) throw new MetadataError(chunkName, `invalid key area: ${error.text}`);
    throw error;
  }
}

function decodeFields(bytes: Uint8Array): KeyArea {
  if (bytes.length < keyAreaSlotBytes) throw new Problem(`truncated: ${bytes.length} of ${keyAreaSlotBytes} bytes`);
  // A copy of its own (a Buffer's slice would be a view of the caller's bytes), outside the heap: a key disk's slot holds a mask key.
  const slot = secretCopy(bytes.subarray(0, keyAreaSlotBytes));
  try {
    return decodeSlot(slot);
  } finally {
    slot.fill(0);
  }
}

function decodeSlot(slot: Uint8Array): KeyArea {
  const view = new DataView(slot.buffer);
  const slotBytes = view.getUint32(keyAreaField.slotBytes, true);
  if (slotBytes !== keyAreaSlotBytes) throw new Problem(`slot size ${slotBytes}, expected ${keyAreaSlotBytes}`);
  const stored = view.getUint32(keyAreaField.checksum, true);
  view.setUint32(keyAreaField.checksum, 0, true);
  const computed = crc32c(slot);
  if (stored !== computed) throw new Problem(`checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`);
  const version = view.getUint32(keyAreaField.version, true);
  if (version !== keyAreaVersionCurrent) throw new Problem(`version ${version}, this softraid reads ${keyAreaVersionCurrent}`);
  const expect = (field: number, value: number, what: string): void => {
    const found = view.getUint32(field, true);
    if (found !== value) throw new Problem(`unknown ${what} ${found}`);
  };
  expect(keyAreaField.cipher, cipherAesXts256, 'cipher');
  expect(keyAreaField.maskCipher, maskCipherAesEcb256, 'mask cipher');
  expect(keyAreaField.checkAlgorithm, checkHmacSha1, 'check algorithm');
  const generationValue = view.getBigUint64(keyAreaField.generation, true);
  if (generationValue < 1n || generationValue > BigInt(Number.MAX_SAFE_INTEGER)) throw new Problem(`generation ${generationValue} out of range`);
  const generation = Number(generationValue);
  const uuid = uuidToString(slot.slice(keyAreaField.uuid, keyAreaField.uuid + uuidBytes));
  if (slot.subarray(keyAreaField.reserved).some((byte) => byte !== 0)) throw new Problem('reserved bytes are not zero');
  const kindValue = view.getUint32(keyAreaField.kind, true);
  const kdfValue = view.getUint32(keyAreaField.kdf, true);
  if (kindValue === kindCodes.keydisk) {
    if (kdfValue !== kdfKeyDisk) throw new Problem(`a key disk with KDF ${kdfValue}`);
    if (slot.subarray(keyAreaField.keys + maskKeyBytes, keyAreaField.reserved).some((byte) => byte !== 0)) {
      throw new Problem('bytes after the mask key are not zero');
    }
    // The only copy left is the caller's (the slot is zeroed on the way out), which it zeroes after use.
    return { kind: 'keydisk', uuid, generation, maskKey: secretCopy(slot.subarray(keyAreaField.keys, keyAreaField.keys + maskKeyBytes)) };
  }
  if (kindValue !== kindCodes.volume) throw new Problem(`unknown kind ${kindValue}`);
  let kdf: KdfHint;
  if (kdfValue === kdfBcryptPbkdf) {
    const rounds = view.getUint32(keyAreaField.kdfRounds, true);
    if (rounds < kdfRoundsMin || rounds > kdfRoundsMax) throw new Problem(`bcrypt_pbkdf rounds ${rounds} out of range ${kdfRoundsMin}..${kdfRoundsMax}`);
    const saltBytes = view.getUint32(keyAreaField.kdfSaltBytes, true);
    if (saltBytes !== kdfSaltBytes) throw new Problem(`salt size ${saltBytes}, expected ${kdfSaltBytes}`);
    kdf = { type: 'bcrypt-pbkdf', rounds, salt: slot.slice(keyAreaField.kdfSalt, keyAreaField.kdfSalt + kdfSaltBytes) };
  } else if (kdfValue === kdfKeyDisk) {
    kdf = { type: 'keydisk' };
  } else {
    throw new Problem(`unknown KDF ${kdfValue}`);
  }
  const area: VolumeKeyArea = {
    kind: 'volume', uuid, generation, kdf,
    checkMac: slot.slice(keyAreaField.checkMac, keyAreaField.checkMac + checkMacBytes),
    maskedKeys: slot.slice(keyAreaField.keys, keyAreaField.keys + dataKeysBytes),
  };
  return area;
}

type Slot = { area: KeyArea } | { area: null } | { problem: string };

async function readSlots(chunk: ChunkBackend, region: Region): Promise<Slot[]> {
  assert(region.lengthBytes >= keyAreaRegionBytesMin, `crypto region of ${region.lengthBytes} bytes holds no key area`);
  const slots: Slot[] = [];
  for (const [slot, offsetBytes] of keyAreaSlotOffsetsBytes.entries()) {
    const bytes = new Uint8Array(keyAreaSlotBytes);
    try {
      await chunk.read(bytes, region.offsetBytes + offsetBytes);
      slots.push({ area: decodeKeyArea(bytes, chunk.name) });
    } catch (error) {
      if (error instanceof ChunkIoError) slots.push({ problem: `slot ${slot} unreadable: ${error.errno}` });
      else if (error instanceof MetadataError) slots.push({ problem: `slot ${slot}: ${error.problem}` });
      else throw error;
    } finally {
      bytes.fill(0);
    }
  }
  return slots;
}

/** The chunk's key area: the valid slot with the higher generation; null when no slot holds one. */
export async function readKeyArea(chunk: ChunkBackend, region: Region): Promise<KeyArea | null> {
  const slots = await readSlots(chunk, region);
  const found = slots.flatMap((slot) => ('area' in slot && slot.area !== null ? [slot.area] : []));
  if (found.length === 0) {
    const problems = slots.flatMap((slot) => ('problem' in slot ? [slot.problem] : []));
    if (problems.length === 0) return null;
    throw new MetadataError(chunk.name, `no valid key area: ${problems.join('; ')}`);
  }
  const newest = found.reduce((a, b) => (b.generation > a.generation ? b : a));
  // A key disk keeps its mask key in both slots: the copy not returned is zeroed here, the other by the caller.
  for (const area of found) if (area !== newest) wipeKeyAreaSecrets(area);
  return newest;
}

/** Zeroes what of a decoded area is secret: a key disk's mask key (a volume's keys are stored masked). */
export function wipeKeyAreaSecrets(area: KeyArea): void {
  if (area.kind === 'keydisk') area.maskKey.fill(0);
}

/**
 * Writes `area` to both slots, each write followed by a flush: first the
 * slot that does not hold the current record (empty, damaged, or the older
 * generation), so that a crash leaves a whole record, old or new.
 */
export async function writeKeyArea(chunk: ChunkBackend, region: Region, area: KeyArea): Promise<void> {
  const slots = await readSlots(chunk, region);
  const generationOf = (slot: Slot): number => ('area' in slot && slot.area !== null ? slot.area.generation : 0);
  const order = generationOf(slots[1]!) < generationOf(slots[0]!) ? [1, 0] : [0, 1];
  for (const slot of slots) if ('area' in slot && slot.area !== null) wipeKeyAreaSecrets(slot.area);
  const bytes = encodeKeyArea(area);
  try {
    for (const slot of order) {
      await chunk.write(bytes, region.offsetBytes + keyAreaSlotOffsetsBytes[slot]!);
      await chunk.flush();
    }
  } finally {
    bytes.fill(0);
  }
}

/** Zeroes both slots (wipeChunkMetadata: a chunk put to another use; a rebuild target of a level without keys). */
export async function wipeKeyArea(chunk: ChunkBackend, region: Region): Promise<void> {
  const zeroes = new Uint8Array(keyAreaSlotBytes);
  for (const offsetBytes of keyAreaSlotOffsetsBytes) await chunk.write(zeroes, region.offsetBytes + offsetBytes);
  await chunk.flush();
}
