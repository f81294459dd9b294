// XtsAes256 against node:crypto's own 'aes-256-xts' run one sector at a time
// (the slow, obviously right way): random keys, data and sector numbers from
// a printed seed, across the 32-bit boundary and up to 2^53, in place and
// into a distinct target, in requests that cross the 128-sector chunk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { seededSource, type RandomSource } from '@openbsd38/libutil/random.js';
import { XtsAes256 } from './xts.js';

const sectorBytes = 512;

function referenceSectors(decrypt: boolean, key: Uint8Array, firstSector: number, source: Uint8Array): Uint8Array {
  const out = new Uint8Array(source.length);
  for (let offset = 0; offset < source.length; offset += sectorBytes) {
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64LE(BigInt(firstSector + offset / sectorBytes));
    const cipher = decrypt ? createDecipheriv('aes-256-xts', key, iv) : createCipheriv('aes-256-xts', key, iv);
    out.set(Buffer.concat([cipher.update(source.subarray(offset, offset + sectorBytes)), cipher.final()]), offset);
  }
  return out;
}

function randomSector(random: RandomSource, sectorCount: number): number {
  switch (random.below(4)) {
    case 0: return random.below(1 << 20);
    case 1: return 0x1_0000_0000 - random.below(300); // requests that straddle 2^32
    case 2: return 0x1_0000_0000 * (1 + random.below(1 << 20)) + random.below(0x1_0000_0000);
    default: return Number.MAX_SAFE_INTEGER - sectorCount - random.below(1000);
  }
}

test('xts: encryptSectors and decryptSectors equal aes-256-xts sector by sector (random, seeded)', () => {
  const random = seededSource(Date.now() >>> 0);
  const key = random.fill(new Uint8Array(64));
  const xts = new XtsAes256(key);
  try {
    for (let round = 0; round < 60; round++) {
      const sectorCount = 1 + random.below(round % 3 === 0 ? 300 : 20);
      const firstSector = randomSector(random, sectorCount);
      const plain = random.fill(new Uint8Array(sectorCount * sectorBytes));
      const label = `seed ${random.seed}, round ${round}, sector ${firstSector}, ${sectorCount} sectors`;
      const expected = referenceSectors(false, key, firstSector, plain);
      const encrypted = new Uint8Array(plain.length);
      xts.encryptSectors(firstSector, plain, encrypted);
      assert.deepEqual(encrypted, expected, label);
      assert.deepEqual(referenceSectors(true, key, firstSector, encrypted), plain, label);
      // In place, both ways.
      const buffer = Uint8Array.from(plain);
      xts.encryptSectors(firstSector, buffer, buffer);
      assert.deepEqual(buffer, expected, `${label}, in place`);
      xts.decryptSectors(firstSector, buffer, buffer);
      assert.deepEqual(buffer, plain, `${label}, decrypted in place`);
      const decrypted = new Uint8Array(plain.length);
      xts.decryptSectors(firstSector, encrypted, decrypted);
      assert.deepEqual(decrypted, plain, `${label}, decrypted`);
    }
  } finally {
    xts.destroy();
  }
});

test('xts: every count of sectors around the kernel\'s four abreast and its 128-sector chunk', () => {
  const random = seededSource(5);
  const key = random.fill(new Uint8Array(64));
  const xts = new XtsAes256(key);
  try {
    for (const sectorCount of [1, 2, 3, 4, 5, 6, 7, 8, 9, 124, 127, 128, 129, 131, 132, 133, 256, 259]) {
      const plain = random.fill(new Uint8Array(sectorCount * sectorBytes));
      const encrypted = new Uint8Array(plain.length);
      xts.encryptSectors(77, plain, encrypted);
      assert.deepEqual(encrypted, referenceSectors(false, key, 77, plain), `${sectorCount} sectors`);
      xts.decryptSectors(77, encrypted, encrypted);
      assert.deepEqual(encrypted, plain, `${sectorCount} sectors, decrypted in place`);
    }
  } finally {
    xts.destroy();
  }
});

test('xts: a sector encrypts the same alone as inside a request, and differently at another number', () => {
  const random = seededSource(7);
  const key = random.fill(new Uint8Array(64));
  const xts = new XtsAes256(key);
  const plain = random.fill(new Uint8Array(200 * sectorBytes));
  const whole = new Uint8Array(plain.length);
  xts.encryptSectors(1000, plain, whole);
  const sector150 = new Uint8Array(sectorBytes);
  xts.encryptSectors(1150, plain.subarray(150 * sectorBytes, 151 * sectorBytes), sector150);
  assert.deepEqual(whole.subarray(150 * sectorBytes, 151 * sectorBytes), sector150);
  xts.encryptSectors(1151, plain.subarray(150 * sectorBytes, 151 * sectorBytes), sector150);
  assert.notDeepEqual(whole.subarray(150 * sectorBytes, 151 * sectorBytes), sector150);
  xts.destroy();
});

test('xts: views at odd offsets into larger buffers work as source and target', () => {
  const random = seededSource(11);
  const key = random.fill(new Uint8Array(64));
  const xts = new XtsAes256(key);
  const backing = random.fill(new Uint8Array(3 * sectorBytes + 7));
  const source = backing.subarray(3, 3 + 2 * sectorBytes);
  const target = new Uint8Array(2 * sectorBytes + 5).subarray(5);
  xts.encryptSectors(42, source, target);
  assert.deepEqual(target, referenceSectors(false, key, 42, source));
  xts.destroy();
});

test('xts: bad lengths, sector numbers, key and overlap, and use after destroy(), are assertion failures', () => {
  const xts = new XtsAes256(new Uint8Array(64).fill(1));
  const sector = new Uint8Array(sectorBytes);
  assert.throws(() => xts.encryptSectors(0, new Uint8Array(511), new Uint8Array(511)), /whole number of sectors/);
  assert.throws(() => xts.encryptSectors(0, sector, new Uint8Array(1024)), /target/);
  assert.throws(() => xts.encryptSectors(-1, sector, sector), /out of range/);
  assert.throws(() => xts.encryptSectors(1.5, sector, sector), /out of range/);
  assert.throws(() => xts.decryptSectors(Number.MAX_SAFE_INTEGER, sector, sector), /out of range/);
  assert.throws(() => new XtsAes256(new Uint8Array(32)), /64 bytes, not 32/);
  const backing = new Uint8Array(3 * sectorBytes);
  assert.throws(() => xts.encryptSectors(0, backing.subarray(0, 1024), backing.subarray(512)), /overlaps/);
  xts.encryptSectors(0, backing.subarray(0, 1024), backing.subarray(0, 1024));
  xts.encryptSectors(0, new Uint8Array(0), new Uint8Array(0));
  xts.destroy();
  xts.destroy();
  assert.throws(() => xts.encryptSectors(0, sector, sector), /after destroy/);
});
