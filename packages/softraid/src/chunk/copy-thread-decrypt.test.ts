// Reads the copy threads decrypt where they land (ReadDecrypt jobs) and
// writes they encrypt before writing (EncryptWrite), against the event
// loop's own VolumeCipher over the same bytes: the sector numbers, several
// buffers in one job, a job that crosses a data key's boundary, a read cut
// short by the member's end, and keys that are forgotten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CopyThreads } from './copy-threads.js';
import { FileChunk } from './file.js';
import { ChunkIoError } from '../engine/errors.js';
import { VolumeCipher } from '../crypto/volume-cipher.js';
import { ParallelVolumeCipher } from '../crypto/parallel-cipher.js';
import { generateDataKeys, sectorsPerDataKey } from '../crypto/key-scheme.js';

const MiB = 1024 * 1024;

function shared(lengthBytes: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(lengthBytes));
}

/** A member file on tmpfs holding `plain` encrypted as the sectors from `firstSector` on, and two copy threads. */
async function withEncryptedMember(plain: Buffer, firstSector: number,
  body: (context: { path: string; fd: number; threads: CopyThreads; cipher: VolumeCipher; dataKeys: Uint8Array }) => Promise<void>): Promise<void> {
  const dir = await mkdtemp('/dev/shm/softraid-decrypt-');
  const threads = new CopyThreads(2);
  const dataKeys = generateDataKeys();
  const cipher = new VolumeCipher(dataKeys);
  const path = join(dir, 'member');
  const sealed = Buffer.alloc(plain.length);
  cipher.encryptSectors(firstSector, plain, sealed);
  writeFileSync(path, sealed);
  const fd = openSync(path, 'r');
  try {
    await body({ path, fd, threads, cipher, dataKeys });
  } finally {
    closeSync(fd);
    cipher.destroy();
    await threads.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('copy threads decrypt what they read as the loop would: sector numbers, several buffers, a data key boundary crossed', async () => {
  const plain = randomBytes(2 * MiB);
  // Sector numbers that cross from data key 0 to data key 1 partway through the member.
  const firstSector = sectorsPerDataKey - 1000;
  await withEncryptedMember(plain, firstSector, async ({ fd, threads, cipher }) => {
    const keysId = cipher.registerWith(threads);
    // Sixteen reads at once over both threads, each of two buffers, at scattered sectors.
    const reads = Array.from({ length: 16 }, async (_, index) => {
      const atBytes = index * 128 * 1024;
      const back = shared(128 * 1024 + 4096);
      const pieces = [back.subarray(4096, 4096 + 512 * 3), back.subarray(4096 + 512 * 3)];
      const moved = await threads.submitReadDecrypt(fd, pieces, atBytes, keysId, firstSector + atBytes / 512);
      assert.equal(moved, 128 * 1024);
      assert.ok(back.subarray(4096).equals(plain.subarray(atBytes, atBytes + 128 * 1024)), `read ${index} decrypts`);
      assert.ok(back.subarray(0, 4096).every((byte) => byte === 0), 'nothing outside the buffers');
    });
    await Promise.all(reads);
    await threads.forgetKeys(keysId);
    assert.throws(() => threads.submitReadDecrypt(fd, [shared(512)], 0, keysId, 0), new RegExp(`keys ${keysId} are not registered`));
    // Forgetting twice, or after the threads went to sleep, settles at once.
    await threads.forgetKeys(keysId);
  });
});

test('copy threads: a decrypted read cut short by the member\'s end comes back short and undecrypted', async () => {
  const plain = randomBytes(MiB);
  await withEncryptedMember(plain, 0, async ({ fd, threads, cipher }) => {
    const keysId = cipher.registerWith(threads);
    const back = shared(256 * 1024);
    const moved = await threads.submitReadDecrypt(fd, [back], MiB - 64 * 1024, keysId, (MiB - 64 * 1024) / 512);
    assert.equal(moved, 64 * 1024);
    const sealed = Buffer.alloc(64 * 1024);
    cipher.encryptSectors((MiB - 64 * 1024) / 512, plain.subarray(MiB - 64 * 1024), sealed);
    assert.ok(back.subarray(0, 64 * 1024).equals(sealed), 'the bytes read are left as they were on the member');
    await threads.forgetKeys(keysId);
  });
});

test('file chunk: readDecrypted takes large shared reads to the copy threads that hold the keys, and nothing else', async () => {
  const plain = randomBytes(2 * MiB);
  await withEncryptedMember(plain, 0, async ({ path, threads, cipher }) => {
    const chunk = await FileChunk.open(path, { copyThreads: threads });
    const keys = { threads, id: cipher.registerWith(threads) };
    try {
      const back = shared(MiB);
      const read = chunk.readDecrypted(back, MiB, keys, MiB / 512);
      assert.ok(read !== undefined);
      await read;
      assert.ok(back.equals(plain.subarray(MiB)), 'decrypted on the copy thread');
      assert.equal(chunk.readDecrypted(shared(64 * 1024), 0, keys, 0), undefined, 'a small read stays on the loop');
      assert.equal(chunk.readDecrypted(Buffer.alloc(MiB), 0, keys, 0), undefined, 'a buffer the threads cannot see');
      const others = new CopyThreads(1);
      try {
        assert.equal(chunk.readDecrypted(back, 0, { threads: others, id: keys.id }, 0), undefined, 'keys held by other threads');
      } finally {
        await others.close();
      }
      // The member cut to 1.5 MiB under the open chunk: a read across its new end fails whole.
      truncateSync(path, MiB + MiB / 2);
      await assert.rejects(chunk.readDecrypted(back, MiB, keys, MiB / 512)!, (error: unknown) =>
        error instanceof ChunkIoError && /unexpected end of device/.test(error.message));
      await chunk.close();
    } finally {
      await threads.forgetKeys(keys.id);
    }
  });
});

test('ParallelVolumeCipher: reads of a member in memory are decrypted by its copy threads, given the keys at the first, forgotten on destroy', async () => {
  const plain = randomBytes(MiB);
  await withEncryptedMember(plain, 0, async ({ path, threads, dataKeys }) => {
    const chunk = await FileChunk.open(path, { copyThreads: threads });
    const cipher = new ParallelVolumeCipher(dataKeys, 1);
    // The number the threads give the cipher's keys, seen as the cipher registers them.
    const registerKeys = threads.registerKeys.bind(threads);
    let keysId: number | undefined;
    threads.registerKeys = (keys) => (keysId = registerKeys(keys));
    try {
      const jobsBefore = threads.jobsDone;
      const back = shared(MiB);
      await cipher.readDecrypted(chunk, 0, back, 0);
      assert.ok(back.equals(plain));
      assert.equal(threads.jobsDone, jobsBefore + 1, 'one job read and decrypted');
      assert.ok(keysId !== undefined, 'the first such read gave the threads the keys');
    } finally {
      await cipher.destroy();
      await chunk.close();
    }
    // Destroyed, the cipher took its keys back from both threads (a ForgetKeys job each).
    assert.throws(() => threads.submitReadDecrypt(0, [shared(512)], 0, keysId!, 0), new RegExp(`keys ${keysId} are not registered`));
  });
});

test('copy threads encrypt a write as the loop would, into the ciphertext buffer, and write that; the plaintext stays as it was', async () => {
  const plain = randomBytes(2 * MiB);
  const firstSector = sectorsPerDataKey - 300;
  await withEncryptedMember(Buffer.alloc(2 * MiB), 0, async ({ path, threads, cipher }) => {
    const chunk = await FileChunk.open(path, { copyThreads: threads });
    const keys = { threads, id: cipher.registerWith(threads) };
    const before = readFileSync(path);
    try {
      const source = shared(2 * MiB);
      plain.copy(source);
      const sealed = shared(MiB);
      const written = chunk.writeEncrypted(source.subarray(MiB), sealed, MiB, keys, firstSector + MiB / 512);
      assert.ok(written !== undefined);
      await written;
      const want = Buffer.alloc(MiB);
      cipher.encryptSectors(firstSector + MiB / 512, plain.subarray(MiB), want);
      assert.ok(sealed.equals(want), 'the ciphertext buffer holds the ciphertext');
      assert.ok(readFileSync(path).subarray(MiB).equals(want), 'and so does the member');
      assert.ok(source.equals(plain), 'the plaintext is untouched');
      assert.ok(readFileSync(path).subarray(0, MiB).equals(before.subarray(0, MiB)), 'nothing written elsewhere');
      // Read back through the copy threads, decrypted.
      const back = shared(MiB);
      await chunk.readDecrypted(back, MiB, keys, firstSector + MiB / 512);
      assert.ok(back.equals(plain.subarray(MiB)));
      assert.equal(chunk.writeEncrypted(Buffer.from(plain.subarray(0, MiB)), sealed, 0, keys, 0), undefined, 'a plaintext the threads cannot see');
      assert.equal(chunk.writeEncrypted(source.subarray(0, 4096), sealed.subarray(0, 4096), 0, keys, 0), undefined, 'a small write stays on the loop');
      await chunk.close();
    } finally {
      await threads.forgetKeys(keys.id);
    }
  });
});
