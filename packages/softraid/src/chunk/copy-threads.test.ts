import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CopyThreads } from './copy-threads.js';
import { jobSegmentsMax, ringSlots } from './copy-ring.js';
import { FileChunk } from './file.js';

/** A directory on tmpfs, where members are memory and copy threads apply. */
async function inMemoryDir(): Promise<string> {
  return mkdtemp('/dev/shm/softraid-copy-');
}

/** Runs `body` with a directory on tmpfs and `threadCount` copy threads, closed and removed afterwards; returns the (closed) threads. */
async function withCopyThreads(threadCount: number, body: (dir: string, threads: CopyThreads) => Promise<void>): Promise<CopyThreads> {
  const dir = await inMemoryDir();
  const threads = new CopyThreads(threadCount);
  try {
    await body(dir, threads);
  } finally {
    await threads.close();
    await rm(dir, { recursive: true, force: true });
  }
  return threads;
}

function sharedBytes(lengthBytes: number, seed: number): Buffer {
  const buffer = Buffer.from(new SharedArrayBuffer(lengthBytes));
  for (let index = 0; index < lengthBytes; index++) buffer[index] = (index * 31 + seed) & 0xff;
  return buffer;
}

test('copy threads: vectored writes and reads land where pwritev/preadv would put them', async () => {
  await withCopyThreads(2, async (dir, threads) => {
    const path = join(dir, 'member');
    writeFileSync(path, Buffer.alloc(1 << 20));
    const fd = openSync(path, 'r+');
    // Three pieces of one shared buffer and one of another, written at 100 KiB + 7.
    const first = sharedBytes(256 * 1024, 1);
    const second = sharedBytes(64 * 1024, 2);
    const vector = [first.subarray(0, 4096), first.subarray(8192, 8192 + 100_000), second, first.subarray(200_000)];
    const totalBytes = vector.reduce((sum, piece) => sum + piece.length, 0);
    const written = threads.submit('write', fd, vector, 100 * 1024 + 7);
    assert.ok(written !== undefined, 'shared buffers go to the copy threads');
    assert.equal(await written, totalBytes);
    const onFile = readFileSync(path);
    assert.deepEqual(onFile.subarray(100 * 1024 + 7, 100 * 1024 + 7 + totalBytes), Buffer.concat(vector));
    assert.ok(onFile.subarray(0, 100 * 1024 + 7).every((byte) => byte === 0), 'nothing written before the position');

    const back = Buffer.from(new SharedArrayBuffer(totalBytes + 10));
    const read = threads.submit('read', fd, [back.subarray(5, 5 + 1000), back.subarray(5 + 1000, 5 + totalBytes)], 100 * 1024 + 7);
    assert.equal(await read, totalBytes);
    assert.deepEqual(back.subarray(5, 5 + totalBytes), Buffer.concat(vector));
    assert.equal(back[4], 0);
    assert.equal(back[5 + totalBytes], 0);
    closeSync(fd);
  });
});

test('copy threads: a read past the end returns what exists; an errno comes back as the error', async () => {
  await withCopyThreads(1, async (dir, threads) => {
    const path = join(dir, 'short');
    writeFileSync(path, Buffer.alloc(1000, 7));
    const fd = openSync(path, 'r');
    const into = Buffer.from(new SharedArrayBuffer(4096));
    assert.equal(await threads.submit('read', fd, [into], 500), 500);
    assert.ok(into.subarray(0, 500).every((byte) => byte === 7));
    // Writing to a descriptor opened read-only: EBADF, from the thread's pwritev.
    await assert.rejects(threads.submit('write', fd, [into], 0)!, (error: NodeJS.ErrnoException) => error.code === 'EBADF');
    closeSync(fd);
    // A closed descriptor: EBADF too, and the thread carries on.
    await assert.rejects(threads.submit('read', fd, [into], 0)!, (error: NodeJS.ErrnoException) => error.code === 'EBADF');
  });
});

test('copy threads: what they cannot take is returned to the caller, never half-submitted', async () => {
  const closed = await withCopyThreads(1, async (dir, threads) => {
    const path = join(dir, 'member');
    writeFileSync(path, Buffer.alloc(ringSlots * 4096 + 4096));
    const fd = openSync(path, 'r+');
    // Plain (not shared) memory: the thread could not see it.
    assert.equal(threads.submit('read', fd, [Buffer.alloc(4096)], 0), undefined);
    assert.equal(threads.submit('read', fd, [Buffer.from(new SharedArrayBuffer(4096)), Buffer.alloc(10)], 0), undefined);
    // More pieces than a job holds.
    const shared = Buffer.from(new SharedArrayBuffer((jobSegmentsMax + 1) * 16));
    const tooMany = Array.from({ length: jobSegmentsMax + 1 }, (_, index) => shared.subarray(index * 16, index * 16 + 16));
    assert.equal(threads.submit('read', fd, tooMany, 0), undefined);
    assert.equal(await threads.submit('read', fd, tooMany.slice(0, jobSegmentsMax), 0), jobSegmentsMax * 16);
    // A full ring: the job after the last slot is refused, and every accepted one completes.
    const accepted: Promise<number>[] = [];
    let refused = 0;
    for (let index = 0; index < ringSlots + 8; index++) {
      const job = threads.submit('write', fd, [sharedBytes(4096, index)], index * 4096);
      if (job === undefined) refused++;
      else accepted.push(job);
    }
    assert.ok(accepted.length <= ringSlots, `at most ${ringSlots} jobs in flight, got ${accepted.length}`);
    assert.ok(refused >= 8);
    assert.deepEqual(await Promise.all(accepted), accepted.map(() => 4096));
    const onFile = readFileSync(path);
    for (let index = 0; index < accepted.length; index++) {
      assert.deepEqual(onFile.subarray(index * 4096, index * 4096 + 4096), sharedBytes(4096, index), `block ${index}`);
    }
    closeSync(fd);
  });
  // Closed: nothing more is taken.
  assert.equal(closed.submit('read', 0, [Buffer.from(new SharedArrayBuffer(16))], 0), undefined);
});

test('copy threads: close waits for the jobs in flight', async () => {
  const dir = await inMemoryDir();
  const threads = new CopyThreads(2);
  try {
    const path = join(dir, 'member');
    writeFileSync(path, Buffer.alloc(8 << 20));
    const fd = openSync(path, 'r+');
    const jobs = Array.from({ length: 8 }, (_, index) => threads.submit('write', fd, [sharedBytes(1 << 20, index)], index << 20)!);
    await threads.close();
    // Every job had finished (and written) before close resolved.
    const results = await Promise.race([Promise.all(jobs), new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
    assert.deepEqual(results, jobs.map(() => 1 << 20));
    const onFile = readFileSync(path);
    for (let index = 0; index < 8; index++) assert.deepEqual(onFile.subarray(index << 20, (index + 1) << 20), sharedBytes(1 << 20, index));
    closeSync(fd);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('file chunk on tmpfs: large I/O on shared buffers through copy threads, plain buffers through the pool, same bytes', async () => {
  await withCopyThreads(2, async (dir, threads) => {
    const path = join(dir, 'member');
    writeFileSync(path, Buffer.alloc(4 << 20));
    const chunk = await FileChunk.open(path, { copyThreads: threads });
    const shared = sharedBytes(1 << 20, 9);
    const plain = Buffer.from(sharedBytes(1 << 20, 11));
    await chunk.writev([shared.subarray(0, 300_000), shared.subarray(300_000)], 1 << 20);
    assert.equal(threads.jobsDone, 1, 'the shared vector went to a copy thread');
    await chunk.write(plain, 2 << 20);
    await chunk.write(sharedBytes(4096, 1), 3 << 20);
    assert.equal(threads.jobsDone, 1, 'plain memory and small I/O did not');
    const sharedBack = Buffer.from(new SharedArrayBuffer(2 << 20));
    await chunk.readv([sharedBack.subarray(0, 12345), sharedBack.subarray(12345)], 1 << 20);
    assert.deepEqual(sharedBack.subarray(0, 1 << 20), shared);
    assert.deepEqual(sharedBack.subarray(1 << 20), plain);
    assert.equal(threads.jobsDone, 2);
    const plainBack = Buffer.alloc(2 << 20);
    await chunk.read(plainBack, 1 << 20);
    assert.deepEqual(plainBack, sharedBack);
    await chunk.close();
  });
});

test('copy threads: an idle process exits by itself, a process with I/O in flight waits for it', async () => {
  const dir = await inMemoryDir();
  try {
    const path = join(dir, 'member');
    writeFileSync(path, Buffer.alloc(1 << 20));
    const fileModule = new URL('./file.ts', import.meta.url).href;
    // The last thing the script does is start a write it never awaits: it must still land before exit.
    const script = `
      const { FileChunk } = await import(${JSON.stringify(fileModule)});
      const chunk = await FileChunk.open(${JSON.stringify(path)});
      const data = Buffer.from(new SharedArrayBuffer(1 << 20)).fill(0x5a);
      void chunk.write(data, 0).then(() => console.log('written'));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(child.signal, null, `the child did not exit by itself: ${child.stderr}`);
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), 'written');
    assert.ok(readFileSync(path).every((byte) => byte === 0x5a));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
