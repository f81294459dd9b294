// softraid's key scheme: masking round trip, wrong keys and damaged records
// rejected, a known answer computed a different way (AES one 16-byte block
// per cipher object, HMAC-SHA1 from its definition over SHA-1), and the slot
// of a sector at the 2^30 boundaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { seededSource } from '@openbsd38/libutil/random.js';
import {
  checkMacBytes, dataKeyBytes, dataKeyForSector, dataKeysBytes, generateDataKeys, maskDataKeys, unmaskDataKeys,
  volumeSectorsMax, zero,
} from './key-scheme.js';

const sha1 = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** HMAC-SHA1 by RFC 2104: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)), K zero-padded to SHA-1's 64-byte block. */
function hmacSha1ByDefinition(key: Uint8Array, message: Uint8Array): Uint8Array {
  assert.ok(key.length <= 64);
  const inner = new Uint8Array(64).map((_b, i) => (key[i] ?? 0) ^ 0x36);
  const outer = new Uint8Array(64).map((_b, i) => (key[i] ?? 0) ^ 0x5c);
  return sha1(outer, sha1(inner, message));
}

function maskedByBlocks(dataKeys: Uint8Array, maskKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(dataKeys.length);
  for (let offset = 0; offset < dataKeys.length; offset += 16) {
    const cipher = createCipheriv('aes-256-ecb', maskKey, null);
    cipher.setAutoPadding(false);
    out.set(cipher.update(dataKeys.subarray(offset, offset + 16)), offset);
    cipher.final();
  }
  return out;
}

test('key-scheme: generated keys are 2048 random bytes, different each time', () => {
  const first = generateDataKeys();
  const second = generateDataKeys();
  assert.equal(first.length, dataKeysBytes);
  assert.notDeepEqual(first, second);
  assert.notDeepEqual(first.subarray(0, dataKeyBytes), new Uint8Array(dataKeyBytes));
});

test('key-scheme: the masked keys and check MAC equal a per-block AES and an HMAC from its definition', () => {
  const dataKeys = Uint8Array.from({ length: dataKeysBytes }, (_v, i) => (i * 7 + 3) & 0xff);
  const maskKey = Uint8Array.from({ length: 32 }, (_v, i) => 0xa0 + i);
  const { maskedKeys, checkMac } = maskDataKeys(dataKeys, maskKey);
  assert.deepEqual(maskedKeys, maskedByBlocks(dataKeys, maskKey));
  assert.deepEqual(checkMac, hmacSha1ByDefinition(sha1(maskKey), dataKeys));
  assert.equal(checkMac.length, checkMacBytes);
  // ECB: equal plaintext blocks give equal masked blocks (the scheme's, not a property to want).
  const repeated = new Uint8Array(dataKeysBytes);
  const masked = maskDataKeys(repeated, maskKey).maskedKeys;
  assert.deepEqual(masked.subarray(0, 16), masked.subarray(2032));
});

test('key-scheme: unmasking with the right mask key gives the data keys back', () => {
  const dataKeys = generateDataKeys();
  const maskKey = seededSource(5).fill(new Uint8Array(32));
  const { maskedKeys, checkMac } = maskDataKeys(dataKeys, maskKey);
  assert.notDeepEqual(maskedKeys, dataKeys);
  assert.deepEqual(unmaskDataKeys(maskedKeys, checkMac, maskKey), dataKeys);
});

test('key-scheme: a wrong mask key, or one flipped bit of the masked keys or the MAC, gives null', () => {
  const random = seededSource(Date.now() >>> 0);
  const dataKeys = random.fill(new Uint8Array(dataKeysBytes));
  const maskKey = random.fill(new Uint8Array(32));
  const { maskedKeys, checkMac } = maskDataKeys(dataKeys, maskKey);
  const wrongKey = Uint8Array.from(maskKey);
  wrongKey[random.below(32)]! ^= 1 << random.below(8);
  assert.equal(unmaskDataKeys(maskedKeys, checkMac, wrongKey), null, `seed ${random.seed}`);
  for (let trial = 0; trial < 20; trial++) {
    const damagedKeys = Uint8Array.from(maskedKeys);
    damagedKeys[random.below(dataKeysBytes)]! ^= 1 << random.below(8);
    assert.equal(unmaskDataKeys(damagedKeys, checkMac, maskKey), null, `seed ${random.seed}, trial ${trial}`);
    const damagedMac = Uint8Array.from(checkMac);
    damagedMac[random.below(checkMacBytes)]! ^= 1 << random.below(8);
    assert.equal(unmaskDataKeys(maskedKeys, damagedMac, maskKey), null, `seed ${random.seed}, trial ${trial}`);
  }
  assert.deepEqual(unmaskDataKeys(maskedKeys, checkMac, maskKey), dataKeys);
});

test('key-scheme: sector 2^30 - 1 uses slot 0, 2^30 slot 1, 31 * 2^30 the last slot', () => {
  const dataKeys = Uint8Array.from({ length: dataKeysBytes }, (_v, i) => Math.floor(i / dataKeyBytes));
  const slotOf = (sector: number): number => {
    const key = dataKeyForSector(dataKeys, sector);
    assert.equal(key.length, dataKeyBytes);
    assert.ok(key.every((b) => b === key[0]));
    return key[0]!;
  };
  assert.equal(slotOf(0), 0);
  assert.equal(slotOf(2 ** 30 - 1), 0);
  assert.equal(slotOf(2 ** 30), 1);
  assert.equal(slotOf(2 ** 31 + 5), 2);
  assert.equal(slotOf(31 * 2 ** 30), 31);
  assert.equal(slotOf(volumeSectorsMax - 1), 31);
  assert.throws(() => dataKeyForSector(dataKeys, volumeSectorsMax), /beyond the 32 data keys/);
  assert.throws(() => dataKeyForSector(dataKeys, -1), /beyond/);
  // A view: zeroing the array zeroes the key handed out.
  const key = dataKeyForSector(dataKeys, 2 ** 30);
  zero(dataKeys);
  assert.deepEqual(key, new Uint8Array(dataKeyBytes));
});

test('key-scheme: wrong sizes are assertion failures', () => {
  assert.throws(() => maskDataKeys(new Uint8Array(2047), new Uint8Array(32)), /2047 bytes/);
  assert.throws(() => maskDataKeys(new Uint8Array(2048), new Uint8Array(16)), /mask key of 16 bytes/);
  assert.throws(() => unmaskDataKeys(new Uint8Array(2048), new Uint8Array(19), new Uint8Array(32)), /check MAC/);
});
