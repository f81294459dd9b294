import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetadataError, SoftraidError } from '../errors.js';
import { MemoryChunk } from '../../chunk/memory.js';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { readChunkMetadata, saveVolumeMetadata, writeChunkMetadata } from '../metadata/io.js';
import { copyAOffsetBytes, copyBOffsetBytes } from '../metadata/layout.js';
import { MetadataVersionError } from '../metadata/version-error.js';
import { encodeMetadata } from '../metadata/codec.js';
import type { RaidLevel } from '@openbsd38/bio/levels.js';
import { createVolume } from './create.js';
import { assembleVolume } from './assemble.js';
import { setVersion } from '../metadata/fixtures.test-helper.js';

const MiB = 1024 * 1024;

const notInUse = { chunksInUse: () => false };

function randomFrom(seed: number): (bytes: Uint8Array) => void {
  const next = seededRandom(seed);
  return (bytes) => { for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256); };
}

async function volume(level: RaidLevel, count: number, seed = 3, deviceName = 'sd0') {
  const members = Array.from({ length: count }, (_, i) => new MemoryChunk(`/dev/${deviceName}m${i}`, 4 * MiB, seededRandom(seed + i)));
  const created = await createVolume({ level, chunks: members, deviceName, noAutoAssemble: false, force: false, chunksInUse: () => false, random: randomFrom(seed) });
  return { members, record: created.record };
}

/** Members by name ("-" for null): readable failures, no diff of megabyte buffers. */
function names(members: readonly (MemoryChunk | { name: string } | null)[]): string[] {
  return members.map((member) => member?.name ?? '-');
}

async function refusedWith(run: Promise<unknown>, pattern: RegExp, type: new (...args: never[]) => Error = SoftraidError): Promise<void> {
  await assert.rejects(run, (error: unknown) => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

test('a clean assembly places chunks by their index, writes nothing, says nothing', async () => {
  const { members, record } = await volume('raid5', 4);
  const writes = members.map((m) => m.counters.writes);
  const shuffled = [members[2]!, members[0]!, members[3]!, members[1]!];
  const assembled = await assembleVolume(shuffled, notInUse);
  assert.deepEqual(names(assembled.members), names(members));
  assert.deepEqual(assembled.messages, []);
  assert.deepEqual(assembled.record, record);
  assert.deepEqual(members.map((m) => m.counters.writes), writes);
});

test('missing members: degraded when the level tolerates it, refused when not', async () => {
  const raid1 = await volume('raid1', 3);
  const assembled = await assembleVolume([raid1.members[2]!], notInUse);
  assert.deepEqual(names(assembled.members), names([null, null, raid1.members[2]!]));
  assert.deepEqual(assembled.record.chunks.map((c) => c.state), ['Offline', 'Offline', 'Online']);
  assert.deepEqual(assembled.messages, [{ type: 'warning', text: 'trying to bring up sd0 degraded' }]);

  const raid5 = await volume('raid5', 3);
  assert.deepEqual(names((await assembleVolume([raid5.members[0]!, raid5.members[2]!], notInUse)).members), names([raid5.members[0]!, null, raid5.members[2]!]));
  await refusedWith(assembleVolume([raid5.members[0]!], notInUse), /^sd0 is offline, will not be brought online$/);
  const raid0 = await volume('raid0', 2);
  await refusedWith(assembleVolume([raid0.members[1]!], notInUse), /^sd0 is offline, will not be brought online$/);
});

test('a member left behind by a save is stale and marked offline', async () => {
  const { members, record } = await volume('raid5', 3);
  members[1]!.faults.writeErrorRate = 1;
  assert.deepEqual(await saveVolumeMetadata(record, members), [1]);
  record.chunks[1]!.state = 'Offline';
  assert.deepEqual(await saveVolumeMetadata(record, members), []);
  members[1]!.faults.writeErrorRate = 0;
  const assembled = await assembleVolume(members, notInUse);
  assert.deepEqual(names(assembled.members), names([members[0]!, null, members[2]!]));
  assert.equal(assembled.record.chunks[1]!.state, 'Offline');
  assert.equal(assembled.record.eventCounter, 3);
  assert.deepEqual(assembled.messages.map((m) => m.text), ['chunk /dev/sd0m1 is stale, marked offline', 'trying to bring up sd0 degraded']);
});

test('an old copy of a member (counter below the floor) is stale even when listed Online', async () => {
  const { members, record } = await volume('raid1', 2);
  const oldImage = members[1]!.current.slice(0, MiB);
  for (let i = 0; i < 3; i++) assert.deepEqual(await saveVolumeMetadata(record, members), []);
  members[1]!.current.set(oldImage); // a disk image from creation time put back
  const assembled = await assembleVolume(members, notInUse);
  assert.deepEqual(names(assembled.members), names([members[0]!, null]));
  assert.match(assembled.messages[0]!.text, /chunk \/dev\/sd0m1 is stale, marked offline/);
});

test('a save torn by a crash on some members loses nothing: assembly finds every member current', async () => {
  const { members, record } = await volume('raid5', 3);
  assert.deepEqual(await saveVolumeMetadata(record, members), []);
  // The next save reaches chunk 0, never reaches chunk 1, and tears copy A of chunk 2
  // (its first 100 bytes land: new checksum and flags, half the new counter); then the power fails.
  members[1]!.faults.writeErrorRate = 1;
  members[2]!.faults.writeErrorRate = 1;
  record.dirty = true;
  assert.deepEqual(await saveVolumeMetadata(record, members), [1, 2]);
  members[2]!.current.set(encodeMetadata(record, 2).subarray(0, 100), copyAOffsetBytes);
  for (const member of members) { member.faults = {}; member.crash(1); }
  const assembled = await assembleVolume(members, notInUse);
  assert.deepEqual(names(assembled.members), names(members));
  assert.ok(assembled.record.chunks.every((chunk) => chunk.state === 'Online'));
  assert.equal(assembled.record.eventCounter, 3);
  assert.equal(assembled.record.eventCounterFloor, 2);
  assert.equal(assembled.record.dirty, true);
  const texts = assembled.messages.map((m) => m.text);
  assert.ok(texts.includes('chunk /dev/sd0m1 missed an interrupted metadata save (event 2 of 3); still current'), texts.join('\n'));
  assert.ok(texts.some((text) => /chunk \/dev\/sd0m2: metadata copy A invalid metadata: checksum mismatch/.test(text)), texts.join('\n'));
  assert.ok(texts.includes('sd0 was not shutdown properly'));
});

test('random crashes during saves never lose the volume (seeded)', async () => {
  const seed = Number(process.env.ASSEMBLY_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = seededRandom(seed);
  for (let round = 0; round < 24; round++) {
    const context = `round ${round}; replay with ASSEMBLY_SEED=${seed}`;
    const { members, record } = await volume(round % 2 ? 'raid5' : 'raid1', 3, round);
    const saves = 1 + Math.floor(random() * 4);
    for (let save = 0; save < saves; save++) {
      const crashing = save === saves - 1;
      if (crashing) {
        for (const member of members) {
          // Each member: save completes, copy A or B torn, or nothing written (the crash came first).
          const fate = Math.floor(random() * 4);
          const offset = fate === 1 ? copyAOffsetBytes : copyBOffsetBytes;
          member.faults = fate === 0 ? {} : fate === 3 ? { writeErrorRate: 1 } : { badRanges: [{ offsetBytes: offset, lengthBytes: 1, operations: ['write'] }], tornWriteRate: 1 };
        }
      }
      const failed = await saveVolumeMetadata(record, members);
      if (!crashing) assert.deepEqual(failed, [], context);
    }
    for (const member of members) { member.faults = {}; member.crash(random()); }
    const assembled = await assembleVolume(members, notInUse);
    assert.deepEqual(names(assembled.members), names(members), `${context}: ${assembled.messages.map((m) => m.text).join('; ')}`);
    assert.ok(assembled.record.chunks.every((chunk) => chunk.state === 'Online'), context);
    assert.ok(assembled.record.eventCounter >= saves, context);
  }
});

test('refusals: other volume, corrupt, no metadata, hot spare, in use, duplicate, newer version', async () => {
  const a = await volume('raid1', 2, 3, 'sd0');
  const b = await volume('raid1', 2, 4, 'sd1');
  await refusedWith(assembleVolume([a.members[0]!, b.members[1]!], notInUse),
    new RegExp(`chunk /dev/sd1m1 is not part of the same volume: it belongs to RAID 1 volume sd1 \\(uuid ${b.record.uuid}\\), expected uuid ${a.record.uuid}`));
  await refusedWith(assembleVolume([a.members[0]!], { ...notInUse, expectedUuid: b.record.uuid }), /chunk \/dev\/sd0m0 is not part of the same volume/);
  await refusedWith(assembleVolume([a.members[0]!, a.members[0]!], notInUse), /duplicate device in list: \/dev\/sd0m0/);
  await refusedWith(assembleVolume(a.members, { chunksInUse: (id) => id === a.members[1]!.identity }), /chunk \/dev\/sd0m1 already in use/);
  await refusedWith(assembleVolume([a.members[0]!, new MemoryChunk('/dev/blank', 4 * MiB)], notInUse), /chunk \/dev\/blank has no softraid metadata/);

  const damaged = a.members[1]!;
  const saved = damaged.current.slice(0, MiB);
  damaged.current[copyAOffsetBytes + 50]! ^= 1;
  damaged.current[copyBOffsetBytes + 50]! ^= 1;
  await refusedWith(assembleVolume(a.members, notInUse), /^\/dev\/sd0m1: one of the chunks has corrupt metadata; aborting assembly \(no valid metadata copy: copy A invalid metadata: checksum mismatch/, MetadataError);
  for (const offset of [copyAOffsetBytes, copyBOffsetBytes]) setVersion(damaged.current, offset, 2);
  await refusedWith(assembleVolume(a.members, notInUse), /^cannot read metadata version 2 on \/dev\/sd0m1, expected version 1 or earlier$/, MetadataVersionError);
  damaged.current.set(saved);
  assert.equal((await assembleVolume(a.members, notInUse)).members.length, 2);
});

test('a duplicate of a chunk index keeps the freshest; a renamed member roams; dirty is reported', async () => {
  const { members, record } = await volume('raid1', 2);
  const clone = new MemoryChunk('/dev/clone', 4 * MiB);
  clone.current.set(members[1]!.current);
  record.dirty = true;
  assert.deepEqual(await saveVolumeMetadata(record, members), []);
  const renamed = new MemoryChunk('/dev/renamed', 4 * MiB, seededRandom(1), members[0]!.identity);
  renamed.current.set(members[0]!.current);
  const assembled = await assembleVolume([clone, renamed, members[1]!], notInUse);
  assert.deepEqual(names(assembled.members), names([renamed, members[1]!]));
  assert.equal(assembled.record.chunks[0]!.name, '/dev/renamed');
  assert.deepEqual(assembled.messages.map((m) => m.text), [
    `found duplicate chunk 1 for volume ${record.uuid} on device /dev/clone; using /dev/sd0m1`,
    'roaming device /dev/sd0m0 -> /dev/renamed',
    'sd0 was not shutdown properly',
  ]);
});

test('a hot spare given as a member is refused', async () => {
  const { members } = await volume('raid1', 2);
  const spare = new MemoryChunk('/dev/spare', 4 * MiB);
  const hotSpareRecord = (await readChunkMetadata(members[0]!))!.record;
  await writeChunkMetadata(spare, {
    ...hotSpareRecord, uuid: '99999999-2222-4333-8444-555555555555', kind: 'hotspare', chunkCount: 1, deviceName: '',
    chunks: [{ index: 0, state: 'Hot spare', usableSizeBytes: 3 * MiB, name: '/dev/spare' }],
  }, 0);
  await refusedWith(assembleVolume([members[0]!, spare], notInUse), /chunk \/dev\/spare is a hot spare, not a member of a volume/);
});
