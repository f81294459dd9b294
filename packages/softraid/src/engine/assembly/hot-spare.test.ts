import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftraidError } from '../errors.js';
import { MemoryChunk } from '../../chunk/memory.js';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { readChunkMetadata, writeChunkMetadata } from '../metadata/io.js';
import { copyAOffsetBytes, copyBOffsetBytes } from '../metadata/layout.js';
import { createVolume } from './create.js';
import { makeHotSpare } from './hot-spare.js';

const MiB = 1024 * 1024;

function randomFrom(seed: number): (bytes: Uint8Array) => void {
  const next = seededRandom(seed);
  return (bytes) => { for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256); };
}

const chunk = (name: string, sizeBytes = 4 * MiB): MemoryChunk => new MemoryChunk(name, sizeBytes);

test('hot spare: written as a one-chunk pseudo-volume; refused in use, as a live member, damaged or too small', async () => {
  const spare = chunk('/dev/hs');
  const made = await makeHotSpare(spare, { chunksInUse: () => false, random: randomFrom(9) });
  const found = await readChunkMetadata(spare);
  assert.ok(found);
  assert.equal(found.record.kind, 'hotspare');
  assert.equal(found.record.chunks[0]!.state, 'Hot spare');
  assert.equal(found.record.volumeSizeBytes, 3 * MiB);
  assert.deepEqual(found.record, made.record);

  const refusedWith = async (target: MemoryChunk, inUse: boolean, pattern: RegExp): Promise<void> => {
    const writes = target.counters.writes;
    await assert.rejects(makeHotSpare(target, { chunksInUse: () => inUse, random: randomFrom(1) }),
      (error: unknown) => error instanceof SoftraidError && pattern.test(error.message));
    assert.equal(target.counters.writes, writes, `${target.name} was written`);
  };
  await refusedWith(chunk('/dev/busy'), true, /^chunk \/dev\/busy already in use$/);
  await refusedWith(chunk('/dev/little', 2 * MiB - 4096), false, /chunk \/dev\/little too small/);
  const members = [chunk('/dev/m0'), chunk('/dev/m1')];
  const volume = await createVolume({ level: 'raid1', chunks: members, deviceName: 'sd5', noAutoAssemble: false, force: false, chunksInUse: () => false, random: randomFrom(5) });
  await refusedWith(members[0]!, false, new RegExp(`chunk /dev/m0 holds metadata of RAID 1 volume sd5 \\(uuid ${volume.record.uuid}\\); it cannot become a hot spare`));
  const damaged = chunk('/dev/damaged');
  damaged.current.set(members[1]!.current.subarray(0, MiB));
  damaged.current[copyAOffsetBytes + 9]! ^= 1;
  damaged.current[copyBOffsetBytes + 9]! ^= 1;
  await refusedWith(damaged, false, /chunk \/dev\/damaged holds damaged softraid metadata/);

  // A member the volume already marked Offline is a leftover: it may become a spare.
  const leftover = chunk('/dev/leftover');
  volume.record.chunks[1]!.state = 'Offline';
  await writeChunkMetadata(leftover, volume.record, 1);
  const reused = await makeHotSpare(leftover, { chunksInUse: () => false, random: randomFrom(6) });
  assert.match(reused.messages[0]!.text, /held metadata of RAID 1 volume sd5/);
  assert.equal((await readChunkMetadata(leftover))!.record.kind, 'hotspare');
});
