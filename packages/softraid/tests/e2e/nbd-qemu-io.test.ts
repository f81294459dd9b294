// qemu-io (qemu-utils) writes and reads patterns through the server, across
// strip-sized boundaries, with many asynchronous requests in flight; the
// device's bytes are then checked independently of the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBlockDevice, nbdUnixUri, run, startServer } from './nbd-helpers.js';

const STRIP_BYTES = 64 * 1024;

test('qemu-io pattern writes and reads across strip boundaries, synchronous and aio', async () => {
  const fixture = await startServer();
  try {
    const device = new MemoryBlockDevice(16 * 1024 * 1024);
    fixture.registry.set('sd0', device);
    const uri = nbdUnixUri(fixture.socketPath, 'sd0');
    const commands = [
      // straddles the first strip boundary by 4 KiB on each side
      `write -P 0x11 ${STRIP_BYTES - 4096} 8192`,
      `read -P 0x11 ${STRIP_BYTES - 4096} 8192`,
      // three strips and a half, unaligned to strips
      `write -P 0x22 ${3 * STRIP_BYTES + 512} ${3 * STRIP_BYTES + STRIP_BYTES / 2}`,
      `read -P 0x22 ${3 * STRIP_BYTES + 512} ${3 * STRIP_BYTES + STRIP_BYTES / 2}`,
      // many requests in flight at once
      ...Array.from({ length: 16 }, (_, index) => `aio_write -P ${0x30 + index} ${(100 + index) * STRIP_BYTES} ${STRIP_BYTES}`),
      'aio_flush',
      ...Array.from({ length: 16 }, (_, index) => `aio_read -P ${0x30 + index} ${(100 + index) * STRIP_BYTES} ${STRIP_BYTES}`),
      'aio_flush',
      // write zeroes and discard
      `write -z ${8 * 1024 * 1024} 1M`,
      `read -P 0 ${8 * 1024 * 1024} 1M`,
      `write -P 0x44 ${12 * 1024 * 1024} 1M`,
      `write -z -u ${12 * 1024 * 1024} 64k`,
      `read -P 0 ${12 * 1024 * 1024} 64k`,
      `read -P 0x44 ${12 * 1024 * 1024 + 65536} 960k`,
      `write -f -P 0x55 0 4096`,
      'flush',
    ];
    const result = await run('qemu-io', ['-f', 'raw', ...commands.flatMap((command) => ['-c', command]), uri]);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, /Pattern verification failed|error|failed/i);
    // Independently of the server: the device holds what qemu-io wrote.
    assert(device.data.subarray(STRIP_BYTES - 4096, STRIP_BYTES + 4096).every((byte) => byte === 0x11));
    for (let index = 0; index < 16; index++) {
      const start = (100 + index) * STRIP_BYTES;
      assert(device.data.subarray(start, start + STRIP_BYTES).every((byte) => byte === 0x30 + index), `strip ${100 + index}`);
    }
    assert(device.data.subarray(0, 4096).every((byte) => byte === 0x55));
    assert(device.counters.fuaWrites >= 1, 'write -f reached the device as FUA');
    assert(device.counters.flushes >= 2, 'flushes reached the device');
    assert(device.counters.zeroes >= 2, 'write -z became NBD_CMD_WRITE_ZEROES');
    assert.deepEqual(fixture.protocolErrors, []);
  } finally {
    await fixture.cleanup();
  }
});
