// The buffer pool: exact lengths, reuse within a class, the free-bytes bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool, HEADROOM_BYTES } from './buffer-pool.js';

test('buffers come back by class, with room for a reply header, within the bound', () => {
  const pool = new BufferPool(3 * (1024 * 1024 + HEADROOM_BYTES));
  const a = pool.acquire(1024 * 1024 + 16);
  assert.equal(a.length, 1024 * 1024 + 16);
  assert.equal(a.buffer.byteLength, 1024 * 1024 + HEADROOM_BYTES, 'a 1 MiB reply with its header fits the 1 MiB class');
  pool.release(a);
  assert.equal(pool.freeBytesHeld, 1024 * 1024 + HEADROOM_BYTES);
  const b = pool.acquire(1000 * 1000);
  assert.equal(b.buffer, a.buffer, 'reused within the class');
  assert.equal(b.length, 1000 * 1000);
  assert.equal(pool.freeBytesHeld, 0);
  const small = pool.acquire(1);
  assert.equal(small.buffer.byteLength, 4096 + HEADROOM_BYTES, 'the smallest class is 4 KiB');
  const many = [b, pool.acquire(1024 * 1024), pool.acquire(1024 * 1024), pool.acquire(1024 * 1024)];
  for (const buffer of many) pool.release(buffer);
  assert.equal(pool.freeBytesHeld, 3 * (1024 * 1024 + HEADROOM_BYTES), 'the fourth is left to the garbage collector');
  assert.throws(() => pool.release(Buffer.alloc(100)), /not a buffer from this pool/);
  assert.throws(() => pool.release(small.subarray(1)), /not a buffer from this pool/);
});
