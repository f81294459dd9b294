// Error replies the spec asks for, seen by a client over a real socket:
// device failures -> EIO, out-of-range and misaligned requests, read-only
// exports, a removed export -> ESHUTDOWN; nothing reaches the device for a
// rejected request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NbdClientConnection, NbdClientError } from '../../src/nbd/client.js';
import { NBD_CMD_READ, NBD_CMD_TRIM, NBD_CMD_WRITE, NBD_CMD_WRITE_ZEROES } from '../../src/nbd/protocol.js';
import { MemoryBlockDevice, startServer } from './nbd-helpers.js';

const OPTIONS = { connectTimeoutMs: 2000, requestTimeoutMs: 2000, requestsInFlightMax: 16 };

async function errnoOf(promise: Promise<void>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    assert(error instanceof NbdClientError, String(error));
    return error.errno;
  }
}

test('error replies: EIO from a failing device, EINVAL/ENOSPC out of range, EPERM read-only, ESHUTDOWN when removed', async () => {
  const fixture = await startServer({ limits: { payloadBytesMax: 1024 * 1024 } });
  try {
    const device = new MemoryBlockDevice(4 * 1024 * 1024, { blockSizeMinBytes: 4096 });
    fixture.registry.set('sd0', device);
    fixture.registry.set('ro', new MemoryBlockDevice(1024 * 1024, { readOnly: true }));
    const address = { kind: 'unix' as const, path: fixture.socketPath };
    const client = await NbdClientConnection.connect(address, 'sd0', OPTIONS);
    assert.equal(client.blockSizeMinBytes, 4096);
    assert.equal(client.payloadBytesMax, 1024 * 1024);
    const block = Buffer.alloc(4096, 9);

    assert.equal(await errnoOf(client.request(NBD_CMD_WRITE, 0, 0, 4096, block)), 'OK');
    assert.equal(await errnoOf(client.request(NBD_CMD_WRITE, 0, 4 * 1024 * 1024, 4096, block)), 'ENOSPC');
    assert.equal(await errnoOf(client.request(NBD_CMD_WRITE_ZEROES, 0, 4 * 1024 * 1024 - 4096, 8192)), 'ENOSPC');
    assert.equal(await errnoOf(client.request(NBD_CMD_READ, 0, 4 * 1024 * 1024, 4096, undefined, Buffer.alloc(4096))), 'EINVAL');
    assert.equal(await errnoOf(client.request(NBD_CMD_TRIM, 0, 2 ** 52, 4096)), 'EINVAL');
    assert.equal(await errnoOf(client.request(NBD_CMD_WRITE, 0, 512, 4096, block)), 'EINVAL', 'misaligned to the minimum block');
    assert.equal(await errnoOf(client.request(NBD_CMD_WRITE, 1 << 7, 0, 4096, block)), 'EINVAL', 'undefined flag');
    assert.equal(await errnoOf(client.request(NBD_CMD_WRITE, 0, 0, 2 * 1024 * 1024, Buffer.alloc(2 * 1024 * 1024))), 'EINVAL', 'over the payload limit');
    assert.equal(await errnoOf(client.request(NBD_CMD_READ, 0, 0, 2 * 1024 * 1024, undefined, Buffer.alloc(2 * 1024 * 1024))), 'EINVAL');
    assert.equal(await errnoOf(client.request(42, 0, 0, 0)), 'EINVAL', 'unknown command');
    assert.equal(device.counters.writes + device.counters.zeroes + device.counters.trims, 1, 'only the valid write reached the device');

    device.failing = 'EIO';
    assert.equal(await errnoOf(client.request(NBD_CMD_READ, 0, 0, 4096, undefined, Buffer.alloc(4096))), 'EIO');
    assert.equal(await errnoOf(client.request(NBD_CMD_WRITE, 0, 0, 4096, block)), 'EIO');
    device.failing = 'ENOSPC';
    assert.equal(await errnoOf(client.request(NBD_CMD_WRITE, 0, 0, 4096, block)), 'ENOSPC');
    device.failing = undefined;
    const back = Buffer.alloc(4096);
    assert.equal(await errnoOf(client.request(NBD_CMD_READ, 0, 0, 4096, undefined, back)), 'OK');
    assert(back.equals(block), 'the connection survived the errors');

    const readOnly = await NbdClientConnection.connect(address, 'ro', OPTIONS);
    assert.equal(await errnoOf(readOnly.request(NBD_CMD_WRITE, 0, 0, 512, Buffer.alloc(512))), 'EPERM');
    assert.equal(await errnoOf(readOnly.request(NBD_CMD_TRIM, 0, 0, 512)), 'EPERM');
    await readOnly.close();

    fixture.registry.delete('sd0');
    assert.equal(await errnoOf(client.request(NBD_CMD_READ, 0, 0, 4096, undefined, Buffer.alloc(4096))), 'ESHUTDOWN');
    // ... and the server then disconnects that client.
    assert.equal(await errnoOf(client.request(NBD_CMD_READ, 0, 0, 4096, undefined, Buffer.alloc(4096))), 'EIO');
    assert.equal(client.alive, false);
    await assert.rejects(NbdClientConnection.connect(address, 'sd0', OPTIONS), (error: NbdClientError) => error.errno === 'ENOENT');
    await client.close();
  } finally {
    await fixture.cleanup();
  }
});
