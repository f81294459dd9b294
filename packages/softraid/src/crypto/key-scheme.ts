// softraid CRYPTO's key scheme (softraid_crypto.c; the reference's §3.15):
// 32 random data keys of 64 bytes (an AES-XTS-256 key each), the key for a
// sector being slot sector >> 30 (2^30 sectors = 512 GiB per key, so 16 TiB
// at most), stored masked: the 2048-byte key array encrypted with
// AES-256-ECB under the 32-byte mask key (from the passphrase's KDF or a key
// disk), beside a check MAC = HMAC-SHA1(key = SHA1(mask key), message = the
// plaintext key array). Unmasking with a wrong mask key is detected by the
// MAC ("incorrect key or passphrase"); it does not change the data keys, so a
// passphrase change re-masks the same keys and re-encrypts no data.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { assert } from '@openbsd38/libutil/assert.js';

export const dataKeySlots = 32;
export const dataKeyBytes = 64;
export const dataKeysBytes = dataKeySlots * dataKeyBytes;
export const maskKeyBytes = 32;
export const checkMacBytes = 20;
export const sectorsPerDataKey = 2 ** 30;
/** The largest volume the key array covers: 32 × 2^30 sectors (16 TiB of 512-byte sectors). */
export const volumeSectorsMax = dataKeySlots * sectorsPerDataKey;

export function zero(buffer: Uint8Array): void {
  buffer.fill(0);
}

/** 32 fresh random data keys (2048 bytes). */
export function generateDataKeys(): Uint8Array {
  return randomFillSync(new Uint8Array(dataKeysBytes));
}

/** AES-256-ECB of `input` under the mask key, into a fresh buffer; OpenSSL's output copy is zeroed. */
function ecb(decrypt: boolean, maskKey: Uint8Array, input: Uint8Array): Uint8Array {
  const cipher = decrypt
    ? createDecipheriv('aes-256-ecb', maskKey, null)
    : createCipheriv('aes-256-ecb', maskKey, null);
  cipher.setAutoPadding(false);
  const transformed = cipher.update(input);
  assert(cipher.final().length === 0 && transformed.length === input.length,
    'key scheme: ECB returned a partial array');
  const out = Uint8Array.from(transformed);
  zero(transformed);
  return out;
}

function checkMacOf(dataKeys: Uint8Array, maskKey: Uint8Array): Uint8Array {
  const macKey = createHash('sha1').update(maskKey).digest();
  try {
    return createHmac('sha1', macKey).update(dataKeys).digest();
  } finally {
    zero(macKey);
  }
}

function assertArrays(dataKeysLength: number, maskKey: Uint8Array): void {
  assert(dataKeysLength === dataKeysBytes, `key scheme: a key array of ${dataKeysLength} bytes, not ${dataKeysBytes}`);
  assert(maskKey.length === maskKeyBytes, `key scheme: a mask key of ${maskKey.length} bytes, not ${maskKeyBytes}`);
}

export interface MaskedDataKeys {
  maskedKeys: Uint8Array;
  checkMac: Uint8Array;
}

export function maskDataKeys(dataKeys: Uint8Array, maskKey: Uint8Array): MaskedDataKeys {
  assertArrays(dataKeys.length, maskKey);
  return { maskedKeys: ecb(false, maskKey, dataKeys), checkMac: checkMacOf(dataKeys, maskKey) };
}

/** The plaintext data keys, or null when the check MAC does not match (a wrong mask key or passphrase). */
export function unmaskDataKeys(maskedKeys: Uint8Array, checkMac: Uint8Array, maskKey: Uint8Array): Uint8Array | null {
  assertArrays(maskedKeys.length, maskKey);
  assert(checkMac.length === checkMacBytes, `key scheme: a check MAC of ${checkMac.length} bytes`);
  const dataKeys = ecb(true, maskKey, maskedKeys);
  const mac = checkMacOf(dataKeys, maskKey);
  if (timingSafeEqual(mac, checkMac)) return dataKeys;
  zero(dataKeys);
  return null;
}

/** A view (not a copy) of the 64-byte data key that encrypts `sector`: slot sector >> 30. */
export function dataKeyForSector(dataKeys: Uint8Array, sector: number): Uint8Array {
  assert(dataKeys.length === dataKeysBytes, `key scheme: a key array of ${dataKeys.length} bytes`);
  assert(Number.isSafeInteger(sector) && sector >= 0 && sector < volumeSectorsMax,
    `key scheme: sector ${sector} is beyond the ${dataKeySlots} data keys`);
  // Not `sector >> 30`: JavaScript's shift works on 32 bits, and sectors reach 2^35.
  const slot = Math.floor(sector / sectorsPerDataKey);
  return dataKeys.subarray(slot * dataKeyBytes, (slot + 1) * dataKeyBytes);
}
