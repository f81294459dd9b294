import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryChunk } from '../../chunk/memory.js';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { createTestVolume, FakeClock, openVolume, randomBytes, seedFromEnv } from '../../../tests/sim/harness.js';
import { checkRedundancy, firstDifference } from '../../../tests/sim/consistency.js';
import { raid5Map } from '../disciplines/raid5.js';
import { volumeRangesOnChunk } from './scrub.js';
import type { Geometry } from '../disciplines/discipline.js';
import type { VolumeRecord } from '../metadata/record.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A disk that remaps a sector when it is written: its read errors there go away (what md's rewrite relies on). */
class RemappingChunk extends MemoryChunk {
  override async write(buffer: Uint8Array, offsetBytes: number): Promise<void> {
    await super.write(buffer, offsetBytes);
    const end = offsetBytes + buffer.length;
    this.faults.badRanges = (this.faults.badRanges ?? []).flatMap((range) => {
      const rangeEnd = range.offsetBytes + range.lengthBytes;
      if (range.operations.includes('write') || rangeEnd <= offsetBytes || end <= range.offsetBytes) return [range];
      const left = { ...range, lengthBytes: Math.max(0, offsetBytes - range.offsetBytes) };
      const right = { ...range, offsetBytes: end, lengthBytes: Math.max(0, rangeEnd - end) };
      return [left, right].filter((part) => part.lengthBytes > 0);
    });
  }
}

function corrupt(member: MemoryChunk, record: VolumeRecord, chunkOffsetBytes: number): void {
  member.current[record.dataOffsetBytes + chunkOffsetBytes]! ^= 0x5a;
}

async function filled(spec: Parameters<typeof createTestVolume>[0], seed: number) {
  const { record, members } = await createTestVolume(spec, seed);
  const opened = openVolume(record, members);
  const model = randomBytes(seededRandom(seed + 1), opened.volume.sizeBytes);
  await opened.volume.write(0, model, { fua: false });
  return { record, members, model, ...opened };
}

async function readAll(volume: { sizeBytes: number; read(offset: number, into: Uint8Array): Promise<void> }): Promise<Uint8Array> {
  const bytes = new Uint8Array(volume.sizeBytes);
  for (let offset = 0; offset < bytes.length; offset += 4 * MiB) await volume.read(offset, bytes.subarray(offset, Math.min(bytes.length, offset + 4 * MiB)));
  return bytes;
}

test('volumeRangesOnChunk is the inverse of raid5Map, every strip of every layout', () => {
  for (const layout of ['left-asymmetric', 'left-symmetric'] as const) {
    for (const chunkCount of [3, 4, 5, 7]) {
      const stripSizeBytes = 4096;
      const rows = 2 * chunkCount + 1;
      const geometry: Geometry = { level: 'raid5', chunkCount, stripSizeBytes, layout, chunkDataSizeBytes: rows * stripSizeBytes, chunkUsableSizesBytes: [] };
      const seen = new Map<string, number>();
      for (const strip of raid5Map(0, rows * (chunkCount - 1) * stripSizeBytes, { chunkCount, stripSizeBytes, layout })) {
        seen.set(`${strip.chunkIndex}:${strip.chunkOffsetBytes}`, strip.volumeOffsetBytes);
        // Half a strip from its middle maps back exactly.
        assert.deepEqual(volumeRangesOnChunk(geometry, strip.chunkIndex, strip.chunkOffsetBytes + 1024, 2048),
          [{ offsetBytes: strip.volumeOffsetBytes + 1024, lengthBytes: 2048 }], `${layout} n=${chunkCount} chunk ${strip.chunkIndex} row ${strip.row}`);
      }
      for (let chunkIndex = 0; chunkIndex < chunkCount; chunkIndex++) {
        const ranges = volumeRangesOnChunk(geometry, chunkIndex, 0, rows * stripSizeBytes);
        const expected = [...Array(rows).keys()].map((row) => seen.get(`${chunkIndex}:${row * stripSizeBytes}`))
          .filter((offset): offset is number => offset !== undefined).map((offsetBytes) => ({ offsetBytes, lengthBytes: stripSizeBytes }));
        const total = ranges.reduce((sum, range) => sum + range.lengthBytes, 0);
        assert.equal(total, expected.length * stripSizeBytes, `${layout} n=${chunkCount} chunk ${chunkIndex}: parity strips hold no volume data`);
        for (const range of expected) assert.ok(ranges.some((r) => r.offsetBytes <= range.offsetBytes && range.offsetBytes + range.lengthBytes <= r.offsetBytes + r.lengthBytes));
      }
    }
  }
  const mirror: Geometry = { level: 'raid1', chunkCount: 2, stripSizeBytes: 0, layout: null, chunkDataSizeBytes: MiB, chunkUsableSizesBytes: [] };
  assert.deepEqual(volumeRangesOnChunk(mirror, 1, 4096, 512), [{ offsetBytes: 4096, lengthBytes: 512 }]);
});

test('RAID 1, three copies: check counts exactly the corrupted sectors and changes nothing; repair restores the majority; a second scrub finds 0', async () => {
  const seed = seedFromEnv();
  const random = seededRandom(seed);
  const { record, members, model, volume } = await filled({ level: 'raid1', chunkCount: 3, chunkDataSizeBytes: 2 * MiB }, 100);
  // Distinct sectors, some on mirror 1, some on mirror 2.
  const sectors = new Set<number>();
  while (sectors.size < 7) sectors.add(Math.floor(random() * (volume.sizeBytes / 512)));
  [...sectors].forEach((sector, i) => corrupt(members[1 + (i % 2)]!, record, sector * 512 + Math.floor(random() * 512)));
  const before = members.map((member) => member.current.slice());

  const check = volume.startScrub({ repair: false });
  assert.equal(volume.info().state, 'Scrubbing');
  assert.equal(volume.info().progress?.operation, 'scrub');
  const checked = await check.finished;
  assert.equal(checked.status, 'finished', `seed ${seed}`);
  assert.equal(checked.mismatchSectors, 7, `seed ${seed}`);
  assert.equal(checked.repairedSectors, 0);
  members.forEach((member, i) => assert.equal(firstDifference(member.current, before[i]!), -1, 'check mode writes nothing'));
  assert.equal(volume.info().state, 'Online');
  assert.equal(volume.info().progress, null);
  assert.deepEqual(volume.lastScrub, checked);

  const repaired = await volume.startScrub({ repair: true }).finished;
  assert.equal(repaired.mismatchSectors, 7, `seed ${seed}`);
  assert.equal(repaired.repairedSectors, 7);
  assert.equal(checkRedundancy(record, members), null);
  assert.equal(firstDifference(model, await readAll(volume)), -1, `seed ${seed}: the majority copy won`);
  assert.equal((await volume.startScrub({ repair: false }).finished).mismatchSectors, 0);
});

test('RAID 1, two copies: repair copies from the first mirror, as md does', async () => {
  const { record, members, volume } = await filled({ level: 'raid1', chunkCount: 2, chunkDataSizeBytes: MiB }, 110);
  corrupt(members[0]!, record, 5000);
  const corrupted = members[0]!.current[record.dataOffsetBytes + 5000];
  const result = await volume.startScrub({ repair: true }).finished;
  assert.equal(result.mismatchSectors, 1);
  assert.equal(members[1]!.current[record.dataOffsetBytes + 5000], corrupted);
  assert.equal(checkRedundancy(record, members), null);
});

test('RAID 5: a corrupted parity strip and data strip are counted per sector column; repair recomputes parity; a second scrub finds 0', async () => {
  const spec = { level: 'raid5', chunkCount: 4, stripSizeBytes: 16 * KiB, layout: 'left-symmetric', chunkDataSizeBytes: MiB } as const;
  const { record, members, model, volume } = await filled(spec, 120);
  const S = spec.stripSizeBytes;
  // Row 0: parity on chunk 3. Row 5: parity on chunk 2, so chunk 0 holds data there.
  corrupt(members[3]!, record, 100);                 // parity, row 0, sector 0
  corrupt(members[3]!, record, 100 + 512 * 3);       // parity, row 0, sector 3
  corrupt(members[0]!, record, 5 * S + 700);         // data, row 5
  corrupt(members[1]!, record, 5 * S + 600);         // same sector column as the one above: counted once
  corrupt(members[2]!, record, 40 * S + 8 * KiB);    // row 40
  const check = await volume.startScrub({ repair: false }).finished;
  assert.equal(check.mismatchSectors, 4);
  assert.notEqual(checkRedundancy(record, members), null);
  const repair = await volume.startScrub({ repair: true }).finished;
  assert.equal(repair.mismatchSectors, 4);
  assert.equal(repair.repairedSectors, 4);
  assert.equal(checkRedundancy(record, members), null);
  assert.equal((await volume.startScrub({ repair: false }).finished).mismatchSectors, 0);
  // md's repair trusts the data: a corrupted data byte stays what it reads now, parity follows it.
  const back = await readAll(volume);
  let differences = 0;
  for (let i = 0; i < back.length; i++) if (back[i] !== model[i]) differences++;
  assert.equal(differences, 3, 'the three corrupted data bytes, and nothing else');
});

test('a media error during a scrub is regenerated, rewritten and read back; the chunk stays Online', async () => {
  for (const spec of [
    { level: 'raid5', chunkCount: 3, stripSizeBytes: 64 * KiB, layout: 'left-asymmetric', chunkDataSizeBytes: MiB },
    { level: 'raid1', chunkCount: 2, chunkDataSizeBytes: MiB },
  ] as const) {
    const { record, members } = await createTestVolume(spec, 130);
    const disk = new RemappingChunk('remapping', members[1]!.sizeBytes);
    disk.current.set(members[1]!.current);
    members[1] = disk;
    const { volume, events } = openVolume(record, members);
    const model = randomBytes(seededRandom(131), volume.sizeBytes);
    await volume.write(0, model, { fua: false });
    const badAt = record.dataOffsetBytes + 300 * KiB + 1024;
    const original = disk.current.slice(badAt, badAt + 1024);
    disk.current.fill(0, badAt, badAt + 1024); // the sectors' contents are gone
    disk.faults = { badRanges: [{ offsetBytes: badAt, lengthBytes: 1024, operations: ['read'] }] };
    const result = await volume.startScrub({ repair: false }).finished;
    assert.equal(result.status, 'finished', spec.level);
    assert.equal(result.mediaErrorSectors, 2, spec.level);
    assert.equal(result.mediaErrorSectorsRewritten, 2, spec.level);
    assert.equal(result.mismatchSectors, 0, spec.level);
    assert.deepEqual(result.unreadableRanges, []);
    assert.deepEqual(disk.current.slice(badAt, badAt + 1024), original, `${spec.level}: rewritten from redundancy`);
    assert.equal(volume.info().chunks[1]!.state, 'Online');
    assert.ok(!events.some((event) => event.name === 'Fail'));
    assert.equal(firstDifference(model, await readAll(volume)), -1);
  }
});

test('a media error whose rewrite fails takes the chunk Offline; the scrub ends, the volume serves degraded', async () => {
  const spec = { level: 'raid5', chunkCount: 3, stripSizeBytes: 64 * KiB, layout: 'left-asymmetric', chunkDataSizeBytes: MiB } as const;
  const { record, members, model, volume, events } = await filled(spec, 140);
  members[2]!.faults = { badRanges: [{ offsetBytes: record.dataOffsetBytes + 700 * KiB, lengthBytes: 512, operations: ['read', 'write'] }] };
  const result = await volume.startScrub({ repair: false }).finished;
  assert.equal(result.status, 'failed');
  assert.match(result.reason ?? '', /chunk 2/);
  assert.ok(result.bytesDone < result.bytesTotal);
  assert.equal(volume.info().chunks[2]!.state, 'Offline');
  assert.equal(volume.info().state, 'Degraded');
  assert.ok(events.some((event) => event.name === 'Fail'));
  assert.equal(firstDifference(model, await readAll(volume)), -1);
});

test('ranges with no good copy are reported as volume bytes, nothing is written there, chunks stay Online', async () => {
  {
    const { record, members, volume } = await filled({ level: 'raid1', chunkCount: 2, chunkDataSizeBytes: MiB }, 150);
    const at = record.dataOffsetBytes + 200 * KiB;
    for (const member of members) member.faults = { badRanges: [{ offsetBytes: at, lengthBytes: 1536, operations: ['read'] }] };
    const writesBefore = members.map((member) => member.counters.writes);
    const result = await volume.startScrub({ repair: true }).finished;
    assert.equal(result.status, 'finished');
    assert.deepEqual(result.unreadableRanges, [{ offsetBytes: 200 * KiB, lengthBytes: 1536 }]);
    assert.equal(result.mediaErrorSectors, 6);
    assert.equal(result.mediaErrorSectorsRewritten, 0);
    assert.deepEqual(members.map((member) => member.counters.writes), writesBefore, 'nothing written');
    assert.deepEqual(volume.info().chunks.map((chunk) => chunk.state), ['Online', 'Online']);
  }
  {
    const spec = { level: 'raid5', chunkCount: 4, stripSizeBytes: 16 * KiB, layout: 'left-asymmetric', chunkDataSizeBytes: MiB } as const;
    const { record, members, volume } = await filled(spec, 151);
    // Rows 2 and 3 (parity on chunks 1 and 0), 512 bytes at in-strip offset 4 KiB, lost on chunks 0 and 1.
    const lost = [2, 3].map((row) => row * spec.stripSizeBytes + 4 * KiB);
    for (const member of members.slice(0, 2)) {
      member.faults = { badRanges: lost.map((offset) => ({ offsetBytes: record.dataOffsetBytes + offset, lengthBytes: 512, operations: ['read'] as ('read' | 'write')[] })) };
    }
    const result = await volume.startScrub({ repair: false }).finished;
    // The expected volume ranges, by brute force through the forward map.
    const expected: { offsetBytes: number; lengthBytes: number }[] = [];
    for (const strip of raid5Map(0, volume.sizeBytes, spec)) {
      for (const offset of lost) {
        if (strip.chunkIndex <= 1 && strip.chunkOffsetBytes <= offset && offset < strip.chunkOffsetBytes + strip.lengthBytes) {
          expected.push({ offsetBytes: strip.volumeOffsetBytes + offset - strip.chunkOffsetBytes, lengthBytes: 512 });
        }
      }
    }
    expected.sort((a, b) => a.offsetBytes - b.offsetBytes);
    assert.equal(expected.length, 2, 'one data strip per row: the other lost strip is parity');
    assert.deepEqual(result.unreadableRanges, expected);
    assert.equal(result.mismatchSectors, 0);
    assert.deepEqual(volume.info().chunks.map((chunk) => chunk.state), ['Online', 'Online', 'Online', 'Online']);
  }
});

test('a scrub concurrent with writes finds no false mismatches and loses no write', async () => {
  const seed = seedFromEnv();
  for (const spec of [
    { level: 'raid5', chunkCount: 4, stripSizeBytes: 16 * KiB, layout: 'left-symmetric', chunkDataSizeBytes: MiB },
    { level: 'raid1', chunkCount: 3, chunkDataSizeBytes: MiB },
  ] as const) {
    const { record, members } = await createTestVolume(spec, 160);
    const { volume } = openVolume(record, members, { rebuildPieceBytes: 64 * KiB });
    // Real latency, so a scrub piece's reads and a write's sub-I/Os interleave (a scrub without its lock fails here).
    for (const member of members) member.faults = { latencyMs: 6 };
    const random = seededRandom(seed);
    const model = new Uint8Array(volume.sizeBytes);
    const scrub = volume.startScrub({ repair: true });
    let scrubbing = true;
    void scrub.finished.finally(() => { scrubbing = false; });
    // Batches of overlapping-in-time writes for as long as the scrub runs.
    for (let batch = 0; scrubbing && batch < 1000; batch++) {
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 8; i++) {
        const offset = Math.floor(random() * (volume.sizeBytes - 70000));
        const data = randomBytes(random, 1 + Math.floor(random() * 70000));
        model.set(data, offset);
        writes.push(volume.write(offset, data, { fua: false }));
      }
      await Promise.all(writes);
    }
    const result = await scrub.finished;
    assert.equal(result.status, 'finished');
    assert.equal(result.mismatchSectors, 0, `${spec.level} seed ${seed}`);
    assert.equal(checkRedundancy(record, members), null);
    assert.equal(firstDifference(model, await readAll(volume)), -1, `${spec.level} seed ${seed}`);
  }
});

test('scrub pacing follows the rebuild limits on simulated time; stop and close end it with a result', async () => {
  const clock = new FakeClock(1000);
  const { record, members } = await createTestVolume({ level: 'raid1', chunkCount: 2, chunkDataSizeBytes: MiB }, 170);
  const { volume } = openVolume(record, members, {
    rebuildPieceBytes: 64 * KiB, rebuildRateBytesPerSecondMin: 256 * KiB, rebuildRateBytesPerSecondMax: 4 * MiB, rebuildIdleAfterMs: 0,
  }, clock);
  const startMs = clock.nowMs();
  const result = await volume.startScrub({ repair: false }).finished;
  assert.equal(result.status, 'finished');
  const elapsedMs = clock.nowMs() - startMs;
  assert.ok(Math.abs(elapsedMs - 250) <= 20, `1 MiB at 4 MiB/s took ${elapsedMs} ms`);
  assert.equal(result.finishedAtMs - result.startedAtMs, elapsedMs);

  const running = volume.startScrub({ repair: false });
  assert.throws(() => volume.startScrub({ repair: false }), /scrub already in progress/);
  const stopped = await volume.stopScrub();
  assert.equal(stopped?.status, 'stopped');
  assert.equal((await running.finished).status, 'stopped');
  assert.equal(await volume.stopScrub(), null);

  const again = volume.startScrub({ repair: false });
  await volume.close({ clean: true });
  assert.equal((await again.finished).status, 'stopped');
});

test('a scrub is refused without redundancy, on a degraded volume, and during a rebuild', async () => {
  {
    const { record, members } = await createTestVolume({ level: 'raid0', chunkCount: 2, stripSizeBytes: 64 * KiB, chunkDataSizeBytes: MiB }, 180);
    const { volume } = openVolume(record, members);
    assert.throws(() => volume.startScrub({ repair: false }), /RAID 0 has no redundancy to scrub/);
  }
  const { record, members } = await createTestVolume({ level: 'raid1', chunkCount: 2, chunkDataSizeBytes: MiB }, 181);
  const { volume } = openVolume(record, members);
  await volume.setChunkOffline(1);
  assert.throws(() => volume.startScrub({ repair: false }), /volume is Degraded/);
  const rebuild = await volume.startRebuild(1, new MemoryChunk('new', members[1]!.sizeBytes));
  assert.throws(() => volume.startScrub({ repair: false }), /rebuild in progress/);
  await rebuild.finished;
  assert.equal((await volume.startScrub({ repair: false }).finished).mismatchSectors, 0);
});

test('a repair rewrite follows the write rules: dirty and its write-intent bit durable first, the repaired bytes durable before the scrub ends', async () => {
  const { record, members, volume } = await filled({ level: 'raid5', chunkCount: 3, layout: 'left-symmetric', stripSizeBytes: 16 * KiB, chunkDataSizeBytes: 2 * MiB }, 91);
  await volume.close({ clean: true });
  // A clean volume, opened again: nothing on disk says dirty, no bit is set.
  const { assembleTestVolume } = await import('../../../tests/sim/harness.js');
  const { decodeMetadata } = await import('../metadata/codec.js');
  const { copyOffsetsBytes, copyBytesMax, reservedRegionsDefault } = await import('../metadata/layout.js');
  const { bitmapCopyOffsetBytes, bitmapSlotBytes, decodeBitmapCopy } = await import('../metadata/write-intent.js');
  const assembled = await assembleTestVolume(members);
  assert.equal(assembled.record.dirty, false);
  const reopened = openVolume(assembled.record, assembled.members);
  // Parity of row 5 sits on chunk 2 - (5 % 3) = 0 in a 3-chunk left-symmetric layout; damage one sector of it.
  const row = 5;
  const parityChunk = 2 - (row % 3);
  const chunkOffsetBytes = row * 16 * KiB + 4096;
  const disk = members[parityChunk]!;
  disk.durable[record.dataOffsetBytes + chunkOffsetBytes]! ^= 0x77;
  disk.current[record.dataOffsetBytes + chunkOffsetBytes]! ^= 0x77;
  const newest = (bytesAt: (offset: number, length: number) => Uint8Array): { dirty: boolean; bitSet: boolean } => {
    let best = -1;
    let dirty = false;
    for (const offset of copyOffsetsBytes) {
      const decoded = decodeMetadata(bytesAt(offset, copyBytesMax), disk.name);
      if (decoded.status === 'found' && decoded.record.eventCounter > best) { best = decoded.record.eventCounter; dirty = decoded.record.dirty; }
    }
    const region = reservedRegionsDefault.bitmap;
    let sequence = -1;
    let bitSet = false;
    const bit = Math.floor(chunkOffsetBytes / assembled.record.writeIntentRegionBytes!);
    for (let copy = 0; copy < 2; copy++) {
      const copyBytes = decodeBitmapCopy(bytesAt(bitmapCopyOffsetBytes(region, copy), bitmapSlotBytes(region)), record.uuid);
      if (copyBytes !== null && copyBytes.sequence > sequence) { sequence = copyBytes.sequence; bitSet = (copyBytes.bits[bit >> 3]! & (1 << (bit & 7))) !== 0; }
    }
    return { dirty, bitSet };
  };
  let seenAtRewrite: { dirty: boolean; bitSet: boolean } | null = null;
  disk.beforeOperation = (operation, offsetBytes) => {
    if (operation === 'write' && offsetBytes === record.dataOffsetBytes + chunkOffsetBytes) {
      seenAtRewrite ??= newest((offset, length) => disk.durable.subarray(offset, offset + length));
    }
  };
  const result = await reopened.volume.startScrub({ repair: true }).finished;
  disk.beforeOperation = null;
  assert.equal(result.repairedSectors, 1);
  assert.deepEqual(seenAtRewrite, { dirty: true, bitSet: true }, 'dirty and the bit were durable when the rewrite reached the disk');
  assert.equal(firstDifference(disk.durable, disk.current), -1, 'the repair is durable when the scrub ends');
  assert.equal(checkRedundancy(assembled.record, members), null);
});

test('RAID 6: a wrong P, a wrong Q and a wrong data strip are each counted and repaired where they lie; media errors on two chunks of one block are regenerated, three are reported lost', async () => {
  const spec = { level: 'raid6', chunkCount: 5, stripSizeBytes: 16 * KiB, layout: 'left-symmetric', chunkDataSizeBytes: MiB } as const;
  const { record, members } = await createTestVolume(spec, 170);
  for (const index of [2, 3]) {
    const disk = new RemappingChunk(`remapping${index}`, members[index]!.sizeBytes);
    disk.current.set(members[index]!.current);
    members[index] = disk;
  }
  const { volume } = openVolume(record, members);
  const model = randomBytes(seededRandom(171), volume.sizeBytes);
  await volume.write(0, model, { fua: false });
  const strip = spec.stripSizeBytes;
  // Row 4: P on chunk 0, Q on chunk 1, data strips on 2, 3, 4. Row 7: P on 2, Q on 3, data strip 0 on 4.
  const damaged = [
    { member: 0, at: 4 * strip + 512 }, // P
    { member: 1, at: 4 * strip + 4096 }, // Q
    { member: 4, at: 7 * strip + 8192 }, // data strip 0 of row 7
  ];
  const originals = damaged.map(({ member, at }) => members[member]!.current.slice(record.dataOffsetBytes + at, record.dataOffsetBytes + at + 512));
  for (const { member, at } of damaged) corrupt(members[member]!, record, at);
  const check = await volume.startScrub({ repair: false }).finished;
  assert.equal(check.status, 'finished');
  assert.equal(check.mismatchSectors, 3);
  const repair = await volume.startScrub({ repair: true }).finished;
  assert.deepEqual({ mismatch: repair.mismatchSectors, repaired: repair.repairedSectors }, { mismatch: 3, repaired: 3 });
  damaged.forEach(({ member, at }, i) => {
    assert.deepEqual(members[member]!.current.slice(record.dataOffsetBytes + at, record.dataOffsetBytes + at + 512), originals[i], `chunk ${member} repaired in place`);
  });
  assert.equal(checkRedundancy(record, members), null);
  assert.equal(firstDifference(model, await readAll(volume)), -1);

  // Media errors: one 512-byte block unreadable on chunks 2 and 3 is regenerated on both.
  const at = 9 * strip + 2048;
  const lostBytes = members.slice(2, 4).map((member) => member.current.slice(record.dataOffsetBytes + at, record.dataOffsetBytes + at + 512));
  for (const member of members.slice(2, 4)) {
    member.current.fill(0, record.dataOffsetBytes + at, record.dataOffsetBytes + at + 512);
    member.faults = { badRanges: [{ offsetBytes: record.dataOffsetBytes + at, lengthBytes: 512, operations: ['read'] }] };
  }
  const healed = await volume.startScrub({ repair: false }).finished;
  assert.deepEqual({ status: healed.status, media: healed.mediaErrorSectors, rewritten: healed.mediaErrorSectorsRewritten, lost: healed.unreadableRanges },
    { status: 'finished', media: 2, rewritten: 2, lost: [] });
  members.slice(2, 4).forEach((member, i) => assert.deepEqual(member.current.slice(record.dataOffsetBytes + at, record.dataOffsetBytes + at + 512), lostBytes[i]));
  // Three chunks of one block: past RAID 6, reported as the data strips' volume bytes, nothing written.
  const at3 = 10 * strip; // row 10: P on 4, Q on 0, data strips 0, 1, 2 on chunks 1, 2, 3
  for (const member of members.slice(1, 4)) member.faults = { badRanges: [{ offsetBytes: record.dataOffsetBytes + at3, lengthBytes: 512, operations: ['read'] }] };
  const lost = await volume.startScrub({ repair: true }).finished;
  assert.equal(lost.status, 'finished');
  assert.deepEqual(lost.unreadableRanges, [0, 1, 2].map((k) => ({ offsetBytes: (10 * 3 + k) * strip, lengthBytes: 512 })));
  assert.deepEqual(volume.info().chunks.map((chunk) => chunk.state), ['Online', 'Online', 'Online', 'Online', 'Online']);
});
