// The pool cipher softraidd runs: the same bytes as OpenSSL sector by sector,
// whether a request is done inline or cut into pieces over threads, many
// requests at once, in place or not; destroy ends the threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { xtsSector } from '../engine/crypto/test-vault.test-helper.js';
import { inlineBytesMax, ParallelVolumeCipher, pieceBytes } from './parallel-cipher.js';

function expected(dataKeys: Uint8Array, firstSector: number, plain: Uint8Array): Buffer {
  const out = Buffer.alloc(plain.length);
  for (let at = 0; at < plain.length; at += 512) out.set(xtsSector(dataKeys, firstSector + at / 512, plain.subarray(at, at + 512), false), at);
  return out;
}

test('ParallelVolumeCipher: inline and threaded requests, in shared memory or not, equal OpenSSL sector by sector, 24 at once', async () => {
  const dataKeys = randomFillSync(new Uint8Array(2048));
  const cipher = new ParallelVolumeCipher(dataKeys, 2);
  try {
    const sizes = [512, inlineBytesMax - 512, inlineBytesMax, pieceBytes + 512, 3 * pieceBytes, 1024 * 1024];
    const jobs = Array.from({ length: 24 }, (_, index) => {
      const size = sizes[index % sizes.length]!;
      // Some cross the first data key's end (sector 2^30).
      const firstSector = index % 3 === 0 ? 2 ** 30 - 100 : 1000 * index;
      return { firstSector, plain: randomFillSync(new Uint8Array(size)) };
    });
    // As the NBD server's buffers: in shared memory (index % 4 >= 2), in place or not.
    const shared = (bytes: Uint8Array): Uint8Array => {
      const view = new Uint8Array(new SharedArrayBuffer(bytes.length + 1024), 512, bytes.length);
      view.set(bytes);
      return view;
    };
    await Promise.all(jobs.map(async ({ firstSector, plain }, index) => {
      const inPlace = index % 2 === 0;
      const source = index % 4 >= 2 ? shared(plain) : plain;
      const sealed = inPlace ? source.slice() : new Uint8Array(plain.length);
      await cipher.encryptSectors(firstSector, inPlace ? sealed : source, sealed);
      assert.ok(Buffer.from(sealed).equals(expected(dataKeys, firstSector, plain)), `job ${index}: ${plain.length} bytes at ${firstSector}`);
      const opened = index % 4 >= 2 ? shared(sealed) : new Uint8Array(plain.length);
      await cipher.decryptSectors(firstSector, index % 4 >= 2 ? opened : sealed, opened);
      assert.ok(Buffer.from(opened).equals(Buffer.from(plain)), `job ${index} decrypts`);
    }));
  } finally {
    await cipher.destroy();
  }
  await assert.rejects(cipher.encryptSectors(0, new Uint8Array(512), new Uint8Array(512)), /after destroy/);
});

test('ParallelVolumeCipher: a write encrypted into its own ciphertext buffer (shared memory, no staging) equals OpenSSL, and freed buffers are reused', async () => {
  const dataKeys = randomFillSync(new Uint8Array(2048));
  const cipher = new ParallelVolumeCipher(dataKeys, 2);
  try {
    const backings: ArrayBufferLike[] = [];
    for (const [index, size] of [512, inlineBytesMax, pieceBytes + 512, 1024 * 1024, 1024 * 1024, 3 * pieceBytes].entries()) {
      const plain = new Uint8Array(new SharedArrayBuffer(size + 512), 512, size);
      randomFillSync(plain);
      const sealed = cipher.allocCiphertextBuffer(size);
      assert.equal(sealed.length, size);
      assert.ok(sealed.buffer instanceof SharedArrayBuffer, 'shared memory, which the copy threads can write out');
      await cipher.encryptSectors(index * 5000, plain, sealed);
      assert.ok(Buffer.from(sealed).equals(expected(dataKeys, index * 5000, plain)), `${size} bytes`);
      backings.push(sealed.buffer);
      cipher.freeCiphertextBuffer(sealed);
    }
    // The NBD server's pool: classes of powers of two from 4 KiB. 512 KiB + 512 B and the two of 1 MiB share one.
    assert.equal(backings[3], backings[2], 'freed buffers of a class are reused');
    assert.equal(backings[4], backings[2], 'freed buffers of a class are reused');
    assert.equal(new Set(backings).size, 4);
    assert.throws(() => cipher.freeCiphertextBuffer(new Uint8Array(512)), /not a ciphertext buffer/);
    assert.throws(() => cipher.freeCiphertextBuffer(Buffer.from(new SharedArrayBuffer(1000))), /not a buffer from this pool/);
  } finally {
    await cipher.destroy();
  }
});

test('ParallelVolumeCipher: a cipher thread that dies fails its jobs in flight; later requests go to the threads left, then to the event loop', async () => {
  const dataKeys = randomFillSync(new Uint8Array(2048));
  const cipher = new ParallelVolumeCipher(dataKeys, 2);
  try {
    const plain = randomFillSync(new Uint8Array(4 * pieceBytes));
    const want = expected(dataKeys, 10, plain);
    // 64 pieces, 32 queued on each thread; the first thread is stopped while its are in flight.
    const large = new Uint8Array(64 * pieceBytes);
    const inFlight = cipher.encryptSectors(10, large, new Uint8Array(large.length));
    await cipher.threads[0]!.worker.terminate();
    await assert.rejects(inFlight, /cipher thread died/);
    const sealed = new Uint8Array(plain.length);
    await cipher.encryptSectors(10, plain, sealed);
    assert.ok(Buffer.from(sealed).equals(want), 'one thread left');
    await cipher.threads[1]!.worker.terminate();
    const inline = new Uint8Array(plain.length);
    await cipher.encryptSectors(10, plain, inline);
    assert.ok(Buffer.from(inline).equals(want), 'no thread left: on the event loop');
  } finally {
    await cipher.destroy();
  }
});
