import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secretBytes, secretCopy } from './secret-bytes.js';

test('secretBytes: zeroed bytes in an ArrayBuffer of their own, even when small', () => {
  for (const length of [0, 1, 32, 64, 65, 4096]) {
    const bytes = secretBytes(length);
    assert.equal(bytes.length, length);
    assert.equal(bytes.byteOffset, 0);
    assert.equal(bytes.buffer.byteLength, length, 'the whole buffer is the secret: zeroing it reaches every byte');
    assert.ok(bytes.every((byte) => byte === 0));
  }
  assert.throws(() => secretBytes(-1), /length -1/);
});

test('secretCopy: an independent copy, which a transfer moves without leaving bytes behind', () => {
  const source = Buffer.from('correct horse');
  const copy = secretCopy(source);
  assert.deepEqual([...copy], [...source]);
  source.fill(0);
  assert.equal(Buffer.from(copy).toString(), 'correct horse', 'the copy does not alias the source');
  const moved = structuredClone(copy.buffer, { transfer: [copy.buffer] });
  assert.equal(copy.byteLength, 0, 'transferred, not copied');
  assert.equal(Buffer.from(moved).toString(), 'correct horse');
  new Uint8Array(moved).fill(0);
});
