// fio's nbd engine (libnbd) drives random writes with verify=crc32c at queue
// depth 16 against a RAID 5 volume served over NBD: every block it wrote must
// read back with a good checksum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestVolume, openVolume } from '../sim/harness.js';
import { nbdUnixUri, run, startServer } from './nbd-helpers.js';

const MiB = 1024 * 1024;

test('fio nbd engine: random writes with verify=crc32c on RAID 5 pass verification', async () => {
  const { record, members } = await createTestVolume({ level: 'raid5', chunkCount: 4, stripSizeBytes: 64 * 1024, chunkDataSizeBytes: 8 * MiB }, 11);
  const { volume } = openVolume(record, members);
  const fixture = await startServer();
  try {
    fixture.registry.set('sd0', volume);
    const result = await run('fio', [
      '--name=raid5-verify', '--ioengine=nbd', `--uri=${nbdUnixUri(fixture.socketPath, 'sd0')}`,
      '--rw=randwrite', '--bsrange=4k-128k', '--iodepth=16', `--size=${16 * MiB}`, '--verify=crc32c',
      '--verify_fatal=1', '--do_verify=1', '--verify_state_save=0', '--randseed=1234', '--output-format=json',
    ], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as { jobs: { error: number; write: { io_bytes: number }; read: { io_bytes: number } }[] };
    const [job] = report.jobs;
    assert(job !== undefined);
    assert.equal(job.error, 0);
    assert.equal(job.write.io_bytes, 16 * MiB);
    assert.equal(job.read.io_bytes, 16 * MiB, 'fio read back everything it wrote to verify it');
    assert.deepEqual(fixture.protocolErrors, []);
  } finally {
    await fixture.cleanup();
    await volume.close({ clean: true });
  }
});
