// Real RAID 0, 1 and 5 volumes (the engine's Volume over MemoryChunks) served
// over NBD: qemu-io writes patterns across strip and stripe boundaries and
// reads them back; the volume itself is then read directly to check what
// landed, and RAID 5 is read again degraded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestVolume, openVolume } from '../sim/harness.js';
import { nbdUnixUri, run, startServer } from './nbd-helpers.js';

const STRIP_BYTES = 64 * 1024;
const MiB = 1024 * 1024;

for (const [level, chunkCount] of [['raid0', 3], ['raid1', 2], ['raid5', 4]] as const) {
  test(`qemu-io patterns across strip boundaries on ${level} over NBD`, async () => {
    const { record, members } = await createTestVolume({ level, chunkCount, ...(level === 'raid1' ? {} : { stripSizeBytes: STRIP_BYTES }), chunkDataSizeBytes: 4 * MiB }, 7);
    const { volume } = openVolume(record, members);
    const fixture = await startServer();
    try {
      fixture.registry.set('sd0', volume);
      const uri = nbdUnixUri(fixture.socketPath, 'sd0');
      // RAID 1 has no strips: a 128 KiB "row" keeps the spans apart.
      const rowBytes = (level === 'raid5' ? chunkCount - 1 : level === 'raid1' ? 2 : chunkCount) * STRIP_BYTES;
      const spans: [number, number, number][] = [
        [0x11, STRIP_BYTES - 4096, 8192], // across one strip boundary
        [0x22, rowBytes - 512, 1024], // across a row (stripe) boundary
        [0x33, 2 * rowBytes + 4096, 2 * rowBytes + 8192], // several rows, unaligned ends
        [0x44, 5 * rowBytes, rowBytes], // exactly one full row
      ];
      const commands = spans.flatMap(([pattern, offset, length]) => [`write -P ${pattern} ${offset} ${length}`]);
      commands.push(...Array.from({ length: 8 }, (_, index) => `aio_write -P ${0x50 + index} ${8 * rowBytes + index * 12288} 12288`), 'aio_flush');
      commands.push(...spans.map(([pattern, offset, length]) => `read -P ${pattern} ${offset} ${length}`));
      commands.push(...Array.from({ length: 8 }, (_, index) => `aio_read -P ${0x50 + index} ${8 * rowBytes + index * 12288} 12288`), 'aio_flush', 'flush');
      const result = await run('qemu-io', ['-f', 'raw', ...commands.flatMap((command) => ['-c', command]), uri]);
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      assert.doesNotMatch(result.stdout + result.stderr, /verification failed|error/i);

      // Read the volume directly (not through NBD); RAID 5 also with one member gone.
      if (level === 'raid5') members[1]!.disappeared = true;
      for (const [pattern, offset, length] of spans) {
        const into = new Uint8Array(length);
        await volume.read(offset, into);
        assert(into.every((byte) => byte === pattern), `${level}: pattern 0x${pattern.toString(16)} at ${offset}`);
      }
      if (level === 'raid5') {
        const degraded = await run('qemu-io', ['-f', 'raw', ...spans.flatMap(([pattern, offset, length]) => ['-c', `read -P ${pattern} ${offset} ${length}`]), uri]);
        assert.equal(degraded.code, 0, degraded.stderr);
        assert.doesNotMatch(degraded.stdout + degraded.stderr, /verification failed|error/i);
        assert.equal(volume.state, 'Degraded');
      }
      assert.deepEqual(fixture.protocolErrors, []);
    } finally {
      await fixture.cleanup();
      await volume.close({ clean: true });
    }
  });
}
