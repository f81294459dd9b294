import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, statfs, truncate, writeFile, readFile, symlink } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileChunk, memorySyncIoBytesMax, vectorsAfter } from './file.js';
import { ChunkIoError, SoftraidError } from '../engine/errors.js';
import { AssertionError } from '@openbsd38/libutil/assert.js';

test('file chunk: positional read/write, size, identity, flush', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'softraid-file-'));
  try {
    const path = join(dir, 'a.img');
    await writeFile(path, '');
    await truncate(path, 1 << 20);
    const chunk = await FileChunk.open(path);
    assert.equal(chunk.sizeBytes, 1 << 20);
    assert.equal(chunk.isBlockDevice, false);
    const data = Buffer.from('hello softraid');
    await chunk.write(data, 4096 + 3);
    await chunk.flush();
    const back = new Uint8Array(data.length);
    await chunk.read(back, 4096 + 3);
    assert.deepEqual(Buffer.from(back), data);
    const onDisk = await readFile(path);
    assert.equal(onDisk.subarray(4099, 4099 + data.length).toString(), 'hello softraid');
    // The same file through another path has the same identity.
    await symlink(path, join(dir, 'link.img'));
    const again = await FileChunk.open(join(dir, 'link.img'));
    assert.equal(again.identity, chunk.identity);
    await again.close();
    // Out-of-range I/O is a bug, not an operating error.
    await assert.rejects(chunk.read(new Uint8Array(10), (1 << 20) - 5), AssertionError);
    await chunk.close();
    await chunk.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('file chunk: refuses what is not a file or block device, names the path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'softraid-file-'));
  try {
    await assert.rejects(FileChunk.open(join(dir, 'missing.img')), (error: unknown) =>
      error instanceof SoftraidError && error.message.includes('missing.img') && error.message.includes('No such file'));
    await assert.rejects(FileChunk.open(dir), (error: unknown) =>
      error instanceof SoftraidError && error.message.includes('is not a regular file or a block device'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('file chunk: a loop device is opened exclusively with its real size', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'softraid-loop-'));
  const image = join(dir, 'loop.img');
  await writeFile(image, '');
  await truncate(image, 8 << 20);
  const loop = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
  try {
    const chunk = await FileChunk.open(loop);
    assert.equal(chunk.isBlockDevice, true);
    assert.equal(chunk.sizeBytes, 8 << 20);
    assert.equal(chunk.sectorSizeBytes, 512);
    assert.match(chunk.identity, /^blk:\d+$/);
    await chunk.write(Buffer.from('on a loop device'), 1 << 20);
    await chunk.flush();
    // A second exclusive open of the same device is refused as "in use".
    await assert.rejects(FileChunk.open(loop), (error: unknown) => error instanceof SoftraidError && /already in use/.test(error.message));
    await chunk.close();
    const onDisk = await readFile(image);
    assert.equal(onDisk.subarray(1 << 20, (1 << 20) + 16).toString(), 'on a loop device');
  } finally {
    execFileSync('losetup', ['-d', loop]);
    await rm(dir, { recursive: true, force: true });
  }
});

test('file chunk: readv/writev move adjacent buffers in one call, and match read/write', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'softraid-file-'));
  try {
    const path = join(dir, 'v.img');
    await writeFile(path, '');
    await truncate(path, 1 << 20);
    const chunk = await FileChunk.open(path);
    const pieces = [3, 4096, 1, 65536, 777].map((length, index) => new Uint8Array(length).fill(index + 1));
    const totalBytes = pieces.reduce((sum, piece) => sum + piece.length, 0);
    await chunk.writev(pieces, 12345);
    const whole = new Uint8Array(totalBytes);
    await chunk.read(whole, 12345);
    assert.deepEqual(Buffer.from(whole), Buffer.concat(pieces));
    const back = pieces.map((piece) => new Uint8Array(piece.length));
    await chunk.readv(back, 12345);
    back.forEach((piece, index) => assert.deepEqual(piece, pieces[index]));
    // One buffer goes through read/write.
    const one = new Uint8Array(100);
    await chunk.readv([one], 12345 + 3);
    assert.ok(one.every((b) => b === 2));
    // Bugs, not operating errors: past the end, empty buffers, too many buffers.
    await assert.rejects(chunk.readv([new Uint8Array(8), new Uint8Array(8)], (1 << 20) - 10), AssertionError);
    await assert.rejects(chunk.writev([new Uint8Array(8), new Uint8Array(0)], 0), AssertionError);
    await assert.rejects(chunk.readv(Array.from({ length: 1025 }, () => new Uint8Array(1)), 0), AssertionError);
    await chunk.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('file chunk: vectorsAfter resumes a short vectored transfer at any byte', () => {
  const buffers = [new Uint8Array(3), new Uint8Array(5), new Uint8Array(2)];
  const lengths = (rest: Uint8Array[]): number[] => rest.map((b) => b.length);
  assert.deepEqual(lengths(vectorsAfter(buffers, 0)), [3, 5, 2]);
  assert.deepEqual(lengths(vectorsAfter(buffers, 1)), [2, 5, 2]);
  assert.deepEqual(lengths(vectorsAfter(buffers, 3)), [5, 2]);
  assert.deepEqual(lengths(vectorsAfter(buffers, 7)), [1, 2]);
  assert.deepEqual(lengths(vectorsAfter(buffers, 9)), [1]);
  assert.equal(vectorsAfter(buffers, 4)[0]!.byteOffset, buffers[1]!.byteOffset + 1);
  assert.throws(() => vectorsAfter(buffers, 10), AssertionError);
});

test('file chunk: synchronous and thread-pool I/O give the same bytes and the same errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'softraid-file-'));
  try {
    const path = join(dir, 's.img');
    await writeFile(path, '');
    await truncate(path, 1 << 20);
    const pooled = await FileChunk.open(path, { syncIoBytesMax: 0 });
    const inline = await FileChunk.open(path, { syncIoBytesMax: 1 << 20 });
    assert.equal(pooled.syncIoBytesMax, 0);
    const pieces = [5000, 3, 60000].map((length, index) => new Uint8Array(length).fill(0x40 + index));
    for (const [writer, reader] of [[pooled, inline], [inline, pooled]] as const) {
      await writer.writev(pieces, 999);
      await writer.write(pieces[1]!, 5);
      const back = pieces.map((piece) => new Uint8Array(piece.length));
      await reader.readv(back, 999);
      back.forEach((piece, index) => assert.deepEqual(piece, pieces[index]));
      const small = new Uint8Array(3);
      await reader.read(small, 5);
      assert.deepEqual(small, pieces[1]);
      await writer.write(new Uint8Array(65069), 999);
    }
    // The file shrinks behind the chunk's back: a read past its end is EIO either way.
    await truncate(path, 4096);
    for (const chunk of [pooled, inline]) {
      await assert.rejects(chunk.read(new Uint8Array(8192), 0), (error: unknown) => error instanceof ChunkIoError && error.errno === 'EIO');
      await assert.rejects(chunk.readv([new Uint8Array(4096), new Uint8Array(4096)], 0),
        (error: unknown) => error instanceof ChunkIoError && error.errno === 'EIO');
      await chunk.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('file chunk: a member on tmpfs does small I/O synchronously, elsewhere never', async () => {
  const shm = '/dev/shm';
  const onTmpfs = await statfs(shm).then((info) => info.type === 0x01021994, () => false);
  if (!onTmpfs) return;
  const dir = await mkdtemp(join(shm, 'softraid-file-'));
  try {
    const path = join(dir, 'm.img');
    await writeFile(path, '');
    await truncate(path, 1 << 20);
    const chunk = await FileChunk.open(path);
    assert.equal(chunk.syncIoBytesMax, memorySyncIoBytesMax);
    await chunk.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
