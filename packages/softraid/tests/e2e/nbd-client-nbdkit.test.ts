// The NBD chunk backend against a server nobody here wrote: nbdkit's memory
// plugin, under its error filter (a failing member gives ChunkIoError EIO,
// and recovers) and its delay filter (a member slower than the request
// timeout gives ETIMEDOUT within the bound instead of hanging).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChunkIoError } from '../../src/engine/errors.js';
import { NbdChunk, parseNbdUri } from '../../src/chunk/nbd.js';
import { startNbdkit, stopProcess } from './nbd-helpers.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';

const REQUEST_TIMEOUT_MS = 400;

async function rejectsWith(promise: Promise<unknown>, errno: string): Promise<ChunkIoError> {
  try {
    await promise;
  } catch (error) {
    assert(error instanceof ChunkIoError, `expected ChunkIoError, got ${String(error)}`);
    assert.equal(error.errno, errno, error.message);
    return error;
  }
  assert.fail(`expected a ChunkIoError ${errno}`);
}

test('NBD chunk over nbdkit: data round trip, error filter -> EIO, delay filter -> ETIMEDOUT, dead server -> EIO', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nbd-client-'));
  const errorFile = join(dir, 'fail');
  const plainSocket = join(dir, 'plain.sock');
  const slowSocket = join(dir, 'slow.sock');
  const plain = await startNbdkit(plainSocket, ['--filter=error', 'memory', '8M', 'error=EIO', 'error-rate=100%', `error-file=${errorFile}`]);
  const slow = await startNbdkit(slowSocket, ['--filter=delay', 'memory', '8M', 'delay-read=3']);
  const options = { requestTimeoutMs: REQUEST_TIMEOUT_MS, connectTimeoutMs: 1000, reconnectAttemptsMax: 2, reconnectDelayMs: 50 };
  try {
    const name = `nbd+unix:///?socket=${plainSocket}`;
    const chunk = await NbdChunk.open(name, options);
    assert.equal(chunk.sizeBytes, 8 * 1024 * 1024);
    assert.equal(chunk.identity, parseNbdUri(name).canonical);
    assert.equal(chunk.name, name);
    // A large write is split at the server's maximum payload and reassembled.
    const data = Buffer.alloc(3 * 1024 * 1024);
    for (let index = 0; index < data.length; index++) data[index] = (index * 13) & 0xff;
    await chunk.write(data, 512 * 1024);
    await chunk.flush();
    const back = Buffer.alloc(data.length);
    await chunk.read(back, 512 * 1024);
    assert(back.equals(data));

    await writeFile(errorFile, '');
    const failure = await rejectsWith(chunk.read(Buffer.alloc(4096), 0), 'EIO');
    assert.equal(failure.operation, 'read');
    assert.equal(failure.chunkName, name);
    await rejectsWith(chunk.write(Buffer.alloc(4096), 0), 'EIO');
    await rm(errorFile);
    await chunk.read(back.subarray(0, 4096), 512 * 1024);
    assert(back.subarray(0, 4096).equals(data.subarray(0, 4096)), 'member usable again after the error file is removed');

    const slowChunk = await NbdChunk.open(`nbd+unix:///?socket=${slowSocket}`, options);
    const startedMs = Date.now();
    await rejectsWith(slowChunk.read(Buffer.alloc(4096), 0), 'ETIMEDOUT');
    const elapsedMs = Date.now() - startedMs;
    assert(elapsedMs >= REQUEST_TIMEOUT_MS && elapsedMs < REQUEST_TIMEOUT_MS * 3, `timed out after ${elapsedMs} ms`);
    // Writes are not delayed: the backend reconnects after the timeout and goes on.
    await slowChunk.write(Buffer.alloc(4096, 1), 0);
    await slowChunk.close();

    await stopProcess(plain);
    const deadStartedMs = Date.now();
    await rejectsWith(chunk.read(Buffer.alloc(4096), 0), 'EIO');
    assert(Date.now() - deadStartedMs < 3000, 'a dead member fails within the reconnect bound');
    await chunk.close();
    await rejectsWith(NbdChunk.open(`nbd+unix:///?socket=${join(dir, 'absent.sock')}`, options), 'EIO');
    await rejectsWith(NbdChunk.open('nbd://example.invalid:1/x?bogus=1', options), 'EINVAL');
  } finally {
    await stopProcess(plain);
    await stopProcess(slow);
    await rm(dir, { recursive: true, force: true });
  }
});

test('NBD URIs parse per doc/uri.md', () => {
  assert.deepEqual(parseNbdUri('nbd://example.com/disk').address, { kind: 'tcp', host: 'example.com', port: 10809 });
  assert.equal(parseNbdUri('nbd://example.com/disk').exportName, 'disk');
  assert.equal(parseNbdUri('nbd://example.com').exportName, '');
  assert.equal(parseNbdUri('nbd://example.com//disk').exportName, '/disk');
  assert.equal(parseNbdUri('nbd://example.com/hello%20world').exportName, 'hello world');
  assert.deepEqual(parseNbdUri('nbd://[::1]:2000/x').address, { kind: 'tcp', host: '::1', port: 2000 });
  assert.equal(parseNbdUri('nbd://Example.COM:10809/sd0').canonical, parseNbdUri('nbd://example.com/sd0').canonical);
  assert.deepEqual(parseNbdUri('nbd+unix:///disk?socket=/run/x.sock').address, { kind: 'unix', path: '/run/x.sock' });
  assert.equal(parseNbdUri('nbd+unix:///disk?socket=/run/x.sock').exportName, 'disk');
  assert.throws(() => parseNbdUri('nbd+unix:///disk'), /socket/);
  assert.throws(() => parseNbdUri('nbds://example.com/disk'), /TLS/);
  assert.throws(() => parseNbdUri('http://example.com/disk'), /nbd/);
  assert.throws(() => parseNbdUri('nbd://example.com/disk?x-unknown=1'), /unknown parameter/);
});
