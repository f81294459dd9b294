import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { createTestVolume, openVolume, randomBytes } from '../../../tests/sim/harness.js';
import { checkRedundancy } from '../../../tests/sim/consistency.js';

const KiB = 1024;
const MiB = 1024 * KiB;

// Many concurrent RAID 5 writes of 4 KiB to 512 KiB, each written in several
// partial-row pieces with a log record apiece: every write must finish. While
// a write kept all its pieces' records until its last piece was written, the
// writes waiting for log space for their next piece held what the others
// needed, and a parity chunk's log filled with records nobody could finish.
test('raid5: concurrent writes of many partial-row pieces never wait forever for partial parity log space', async () => {
  const { record, members } = await createTestVolume(
    { level: 'raid5', chunkCount: 4, stripSizeBytes: 64 * KiB, layout: 'left-symmetric', chunkDataSizeBytes: 24 * MiB }, 31);
  const { volume } = openVolume(record, members, { pplPieceBytesMax: 8 * KiB });
  const random = seededRandom(32);
  const model = new Uint8Array(volume.sizeBytes);
  let completed = 0;
  const writer = async (): Promise<void> => {
    for (let i = 0; i < 24; i++) {
      const lengthBytes = 4 * KiB * (1 + Math.floor(random() * 128));
      const offsetBytes = Math.floor(random() * ((volume.sizeBytes - lengthBytes) / 512)) * 512;
      const data = randomBytes(random, lengthBytes);
      model.set(data, offsetBytes);
      await volume.write(offsetBytes, data, { fua: false });
      completed++;
    }
  };
  // Writers race; a stall shows as a timeout, not as a hung test.
  const all = Promise.all(Array.from({ length: 16 }, () => writer()));
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<'stalled'>((resolve) => { timer = setTimeout(() => resolve('stalled'), 20_000); });
  const outcome = await Promise.race([all.then(() => 'done' as const), stalled]);
  clearTimeout(timer);
  assert.equal(outcome, 'done', `stalled after ${completed} of ${16 * 24} writes`);
  await volume.flush();
  const back = new Uint8Array(volume.sizeBytes);
  for (let offset = 0; offset < back.length; offset += 16 * MiB) await volume.read(offset, back.subarray(offset, Math.min(back.length, offset + 16 * MiB)));
  assert.ok(back.every((byte, index) => byte === model[index]), 'every byte reads back as last written');
  assert.equal(checkRedundancy(volume.record, members), null);
  await volume.close({ clean: true });
});
