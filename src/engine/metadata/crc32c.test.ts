import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from './crc32c.js';

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
