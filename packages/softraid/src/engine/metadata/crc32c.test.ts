import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from './crc32c.js';
import { seededRandom } from '@openbsd38/libutil/random.js';

test('crc32c matches the standard check value and known vectors', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  // RFC 3720 (iSCSI) appendix B.4 vectors.
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
});

test('crc32c changes on every single-bit flip of a buffer', () => {
  const bytes = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff);
  const original = crc32c(bytes);
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    bytes[bit >> 3]! ^= 1 << (bit & 7);
    assert.notEqual(crc32c(bytes), original, `bit ${bit}`);
    bytes[bit >> 3]! ^= 1 << (bit & 7);
  }
});

test('crc32c folds eight bytes at a time exactly as one at a time, at every length and alignment', () => {
  const bitwise = (bytes: Uint8Array): number => {
    let crc = 0xffffffff;
    for (const byte of bytes) {
      crc ^= byte;
      for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
  };
  const random = seededRandom(7);
  const data = new Uint8Array(300);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 256);
  for (let start = 0; start < 9; start++) {
    for (let length = 0; length + start <= data.length; length += 7) {
      const slice = data.subarray(start, start + length);
      assert.equal(crc32c(slice), bitwise(slice), `start ${start} length ${length}`);
    }
  }
});
