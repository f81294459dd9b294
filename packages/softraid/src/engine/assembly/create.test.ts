import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkIoError, SoftraidError } from '../errors.js';
import { MemoryChunk } from '../../chunk/memory.js';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { readChunkMetadata, writeChunkMetadata } from '../metadata/io.js';
import { copyAOffsetBytes, copyOffsetsBytes } from '../metadata/layout.js';
import type { RaidLevel } from '@openbsd38/bio/levels.js';
import { createVolume, type CreateVolumeRequest } from './create.js';

const MiB = 1024 * 1024;

function randomFrom(seed: number): (bytes: Uint8Array) => void {
  const next = seededRandom(seed);
  return (bytes) => { for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256); };
}

function chunks(count: number, sizeBytes = 4 * MiB, prefix = '/dev/loop'): MemoryChunk[] {
  return Array.from({ length: count }, (_, i) => new MemoryChunk(`${prefix}${i}`, sizeBytes));
}

function request(level: RaidLevel, members: MemoryChunk[], extra: Partial<CreateVolumeRequest> = {}): CreateVolumeRequest {
  return { level, chunks: members, deviceName: 'sd0', noAutoAssemble: false, force: false, chunksInUse: () => false, random: randomFrom(7), ...extra };
}

/** Runs a create that must be refused; checks the message and that no chunk was written. */
async function refused(members: MemoryChunk[], run: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  const before = members.map((member) => ({ writes: member.counters.writes, bytes: Buffer.from(member.current) }));
  await assert.rejects(run(), (error: unknown) => {
    assert.ok(error instanceof SoftraidError, `not a SoftraidError: ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
  members.forEach((member, i) => {
    assert.equal(member.counters.writes, before[i]!.writes, `${member.name} was written`);
    assert.ok(before[i]!.bytes.equals(member.current), `${member.name} changed`);
  });
}

test('create writes fresh metadata to every chunk: counter 1, clean, all Online', async () => {
  const members = chunks(3);
  const created = await createVolume(request('raid5', members, { deviceName: 'sd4', noAutoAssemble: true }));
  assert.deepEqual(created.messages, []);
  assert.equal(created.record.layout, 'left-asymmetric');
  assert.equal(created.record.stripSizeBytes, 64 * 1024);
  assert.equal(created.record.volumeSizeBytes, 3 * MiB * 2);
  assert.match(created.record.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  for (const [index, member] of members.entries()) {
    const found = await readChunkMetadata(member);
    assert.ok(found);
    assert.equal(found.chunkIndex, index);
    assert.deepEqual(found.record, created.record);
    assert.equal(found.record.eventCounter, 1);
    assert.equal(found.record.dirty, false);
    assert.equal(found.record.noAutoAssemble, true);
    assert.ok(found.record.chunks.every((chunk) => chunk.state === 'Online'));
  }
});

test('volume sizes per level, with softraid\'s unequal-size warning', async () => {
  const stripBytes = 64 * 1024;
  const sizes = [4 * MiB, 4 * MiB + 100 * 1024, 5 * MiB]; // usable 3 MiB, 3 MiB + 100 KiB, 4 MiB
  const expectations: [RaidLevel, number][] = [
    ['raid0', 3 * 3 * MiB], ['raid1', 3 * MiB], ['raid5', 2 * 3 * MiB], ['concat', 3 * MiB + (3 * MiB + 100 * 1024) + 4 * MiB],
  ];
  for (const [level, expectedBytes] of expectations) {
    const members = sizes.map((size, i) => new MemoryChunk(`/dev/s${i}`, size));
    const created = await createVolume(request(level, members));
    assert.equal(created.record.volumeSizeBytes, expectedBytes, level);
    if (level === 'concat') assert.deepEqual(created.messages, []);
    else assert.deepEqual(created.messages, [{ type: 'warning', text: 'chunk sizes are not equal; up to 2048 blocks wasted per chunk' }]);
  }
  // Striped: the coerced size is floored to whole strips. Usable 3 MiB + 40 KiB with 64 KiB strips: 48 strips.
  const odd = [4 * MiB + 40 * 1024, 4 * MiB + 40 * 1024, 4 * MiB + 40 * 1024].map((size, i) => new MemoryChunk(`/dev/o${i}`, size));
  const created = await createVolume(request('raid5', odd, { stripSizeBytes: stripBytes }));
  assert.equal(created.record.chunkDataSizeBytes, 3 * MiB + 40 * 1024);
  assert.equal(created.record.volumeSizeBytes, 48 * stripBytes * 2);
});

test('refusals name the chunk and write nothing', async () => {
  const members = chunks(3);
  await refused(members, () => createVolume(request('raid5', members.slice(0, 2))), /RAID 5 needs at least 3 chunks, 2 given/);
  await refused(members, () => createVolume(request('crypto', members.slice(0, 2))), /CRYPTO takes at most 1 chunks, 2 given/);
  await refused(members, () => createVolume(request('raid5', members, { stripSizeBytes: 3000 })), /invalid strip size 3000/);
  await refused(members, () => createVolume(request('raid5', members, { stripSizeBytes: 2 * MiB })), /invalid strip size 2097152/);
  await refused(members, () => createVolume(request('raid1', members, { stripSizeBytes: 4096 })), /RAID 1 has no strips/);
  await refused(members, () => createVolume(request('raid0', members, { layout: 'left-symmetric' })), /applies to RAID 5 and RAID 6 only/);
  await refused(members, () => createVolume(request('raid1', members, { deviceName: 'sd/0' })), /device name/);
  const sameAsFirst = new MemoryChunk('/dev/disk/by-id/first', 4 * MiB, seededRandom(1), members[0]!.identity);
  await refused(members, () => createVolume(request('raid1', [...members, sameAsFirst])), /duplicate device in list: \/dev\/disk\/by-id\/first \(same device as \/dev\/loop0\)/);
  await refused(members, () => createVolume(request('raid1', [members[0]!, members[1]!, members[0]!])), /duplicate device in list: \/dev\/loop0$/);
  await refused(members, () => createVolume(request('raid1', members, { chunksInUse: (identity) => identity === members[1]!.identity })), /chunk \/dev\/loop1 already in use/);
  const small = new MemoryChunk('/dev/small', 2 * MiB - 512);
  await refused([...members, small], () => createVolume(request('raid1', [members[0]!, small])), /chunk \/dev\/small too small: 2096640 bytes, at least 2097152 needed/);
});

test('existing metadata needs force: the refusal names the chunk and its volume; force overwrites', async () => {
  const members = chunks(2);
  const first = await createVolume(request('raid1', members, { deviceName: 'sd7' }));
  const others = [...members, ...chunks(1, 4 * MiB, '/dev/new')];
  await refused(others, () => createVolume(request('raid5', [others[2]!, others[1]!, others[0]!])),
    new RegExp(`chunk /dev/loop1 holds metadata of RAID 1 volume sd7 \\(uuid ${first.record.uuid}\\); use -C force to overwrite it`));
  // Damaged metadata counts as metadata too.
  members[0]!.current.fill(0xee, copyAOffsetBytes + 100, copyAOffsetBytes + 200);
  members[0]!.current.fill(0xee, 64 * 1024 + 100, 64 * 1024 + 200);
  await refused(others, () => createVolume(request('raid1', [members[0]!, others[2]!])), /chunk \/dev\/loop0 holds damaged softraid metadata .*checksum mismatch.*use -C force/);

  const forced = await createVolume(request('raid5', [others[2]!, others[1]!, others[0]!], { force: true, random: randomFrom(99), deviceName: 'sd8' }));
  assert.notEqual(forced.record.uuid, first.record.uuid);
  for (const [index, member] of [others[2]!, others[1]!, others[0]!].entries()) {
    const found = await readChunkMetadata(member);
    assert.ok(found);
    assert.equal(found.record.uuid, forced.record.uuid);
    assert.equal(found.chunkIndex, index);
    assert.deepEqual(found.copiesValid, [true, true]);
  }
});

test('a crash in the middle of a forced create never lets the old volume outrank the new one', async () => {
  const members = chunks(2);
  await createVolume(request('raid1', members));
  // Raise the old volume's counter far above 1, as years of saves would.
  for (const [index, member] of members.entries()) {
    const found = await readChunkMetadata(member);
    await writeChunkMetadata(member, { ...found!.record, eventCounter: 500, eventCounterFloor: 500 }, index);
  }
  // Chunk 0's metadata writes: wipe A, wipe B, new A, new B (after its key area is wiped). The fourth fails:
  // copy A is new, copy B was wiped.
  let copyWrites = 0;
  const write = members[0]!.write.bind(members[0]!);
  members[0]!.write = async (buffer, offsetBytes) => {
    if (copyOffsetsBytes.includes(offsetBytes) && copyWrites++ === 3) {
      throw new ChunkIoError('write', members[0]!.name, offsetBytes, buffer.length, 'EIO');
    }
    return write(buffer, offsetBytes);
  };
  await assert.rejects(createVolume(request('raid1', members, { force: true, random: randomFrom(5) })), ChunkIoError);
  members[0]!.crash();
  const found = await readChunkMetadata(members[0]!);
  assert.ok(found);
  assert.equal(found.record.eventCounter, 1, 'the new volume\'s copy A is the only valid one');
});
