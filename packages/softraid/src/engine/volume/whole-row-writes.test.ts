// A write of whole rows on a parity level with a partial parity log reads
// nothing: each whole row's parity comes from its new data alone, and no
// log record is needed. The volume cuts such a write into pieces at the
// discipline's row size; cut at RAID 5's row (chunks - 1 strips) on a RAID 6
// (chunks - 2), every piece straddled rows and was read and logged as
// partial ones (found by bench/run.ts: RAID 6 wrote at a fifth of RAID 5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { createTestVolume, openVolume, randomBytes } from '../../../tests/sim/harness.js';
import { checkRedundancy } from '../../../tests/sim/consistency.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const stripBytes = 16 * KiB;

for (const { level, chunkCount, parityStrips } of [
  { level: 'raid5', chunkCount: 4, parityStrips: 1 },
  { level: 'raid6', chunkCount: 6, parityStrips: 2 },
] as const) {
  test(`${level}: whole-row writes of ${chunkCount} chunks read no member and log no partial parity`, async () => {
    const { record, members } = await createTestVolume(
      { level, chunkCount, stripSizeBytes: stripBytes, layout: 'left-symmetric', chunkDataSizeBytes: 2 * MiB }, 61);
    const { volume } = openVolume(record, members);
    const rowBytes = stripBytes * (chunkCount - parityStrips);
    const random = seededRandom(62);
    // The first write marks the volume dirty; count from the second on.
    await volume.write(0, randomBytes(random, rowBytes), { fua: false });
    const readsBefore = members.reduce((sum, member) => sum + member.counters.reads, 0);
    const data = randomBytes(random, 8 * rowBytes);
    await volume.write(rowBytes, data, { fua: false });
    await volume.write(9 * rowBytes, data.subarray(0, 3 * rowBytes), { fua: false });
    const readsAfter = members.reduce((sum, member) => sum + member.counters.reads, 0);
    assert.equal(readsAfter - readsBefore, 0, 'member reads during whole-row writes');
    const back = new Uint8Array(8 * rowBytes);
    await volume.read(rowBytes, back);
    assert.deepEqual(back, data);
    await volume.flush();
    assert.equal(checkRedundancy(volume.record, members), null);
    await volume.close({ clean: true });
  });
}
