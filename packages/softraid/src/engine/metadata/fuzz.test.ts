// Fuzzed metadata: bit flips, zeroed and random ranges, truncation, and
// field stamps re-sealed with a valid checksum. Every case must be refused
// with a MetadataError, read as "no metadata" (magic hit), or - only when
// re-sealed - accepted as a record that round-trips canonically. Through a
// chunk with two copies, damaging one copy must always recover the other.
// Replay with FUZZ_SEED=<seed>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetadataError } from '../errors.js';
import { MemoryChunk } from '../../chunk/memory.js';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { decodeMetadata, encodeMetadata } from './codec.js';
import { crc32c } from './crc32c.js';
import { readChunkMetadata, writeChunkMetadata } from './io.js';
import { copyOffsetsBytes } from './layout.js';
import type { VolumeRecord } from './record.js';

const MiB = 1024 * 1024;
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

function record(kind: 'raid1' | 'raid5', chunkCount: number): VolumeRecord {
  const usable = 63 * MiB;
  return {
    formatVersion: 1, uuid: '11111111-2222-4333-8444-555555555555', kind,
    layout: kind === 'raid5' ? 'left-asymmetric' : null, stripSizeBytes: kind === 'raid5' ? 65536 : 0, chunkCount,
    dataOffsetBytes: MiB, chunkDataSizeBytes: usable, volumeSizeBytes: kind === 'raid5' ? usable * (chunkCount - 1) : usable,
    eventCounter: 42, eventCounterFloor: 41, deviceName: 'sd0', noAutoAssemble: false, dirty: true, rebuildCheckpointBytes: 0,
    chunks: Array.from({ length: chunkCount }, (_, index) => ({ index, state: 'Online' as const, usableSizeBytes: usable, name: `/dev/loop${index}` })),
    reservedRegions: {
      bitmap: { offsetBytes: 128 * 1024, lengthBytes: 128 * 1024 },
      journal: { offsetBytes: 256 * 1024, lengthBytes: 512 * 1024 },
      crypto: { offsetBytes: 768 * 1024, lengthBytes: 64 * 1024 },
    },
  };
}

type Mutation = { bytes: Uint8Array; resealed: boolean; what: string };

function mutate(original: Uint8Array, random: () => number): Mutation {
  const bytes = original.slice();
  const at = (): number => Math.floor(random() * bytes.length);
  const kind = Math.floor(random() * 6);
  switch (kind) {
    case 0: { const bit = Math.floor(random() * bytes.length * 8); bytes[bit >> 3]! ^= 1 << (bit & 7); return { bytes, resealed: false, what: `flip bit ${bit}` }; }
    case 1: { const flips = 2 + Math.floor(random() * 30); for (let i = 0; i < flips; i++) bytes[at()]! ^= 1 << Math.floor(random() * 8); return { bytes, resealed: false, what: `${flips} flips` }; }
    case 2: { const start = at(); const end = Math.min(bytes.length, start + 1 + Math.floor(random() * 600)); bytes.fill(0, start, end); return { bytes: bytes, resealed: false, what: `zero ${start}..${end}` }; }
    case 3: { const start = at(); const end = Math.min(bytes.length, start + 1 + Math.floor(random() * 64)); for (let i = start; i < end; i++) bytes[i] = Math.floor(random() * 256); return { bytes, resealed: false, what: `random ${start}..${end}` }; }
    case 4: { const length = Math.floor(random() * bytes.length); return { bytes: bytes.slice(0, length), resealed: false, what: `truncate to ${length}` }; }
    default: {
      // Stamp a random value on a random aligned field, then fix the checksum: validation must hold on its own.
      const offset = Math.floor(random() * 260) * 4;
      const view = new DataView(bytes.buffer);
      const value = random() < 0.5 ? Math.floor(random() * 2 ** 32) : Math.floor(random() * 16);
      view.setUint32(offset, value, true);
      if (offset !== 20) { view.setUint32(20, 0, true); view.setUint32(20, crc32c(bytes.subarray(0, view.getUint32(16, true) <= bytes.length ? view.getUint32(16, true) : bytes.length)), true); }
      return { bytes, resealed: true, what: `stamp ${value} at ${offset}` };
    }
  }
}

test(`fuzzed single copies are refused, not misread (seed ${seed})`, () => {
  const random = seededRandom(seed);
  const originals = [record('raid5', 3), record('raid1', 2), record('raid5', 40)].map((r) => ({ r, bytes: encodeMetadata(r, 1) }));
  const outcomes = { refused: 0, none: 0, acceptedSame: 0, acceptedResealed: 0 };
  for (let i = 0; i < 10_000; i++) {
    const { r, bytes } = originals[i % originals.length]!;
    const mutation = mutate(bytes, random);
    const context = `case ${i}, ${mutation.what}; replay with FUZZ_SEED=${seed}`;
    let decoded;
    try {
      decoded = decodeMetadata(mutation.bytes, '/dev/fuzz');
    } catch (error) {
      assert.ok(error instanceof MetadataError, `${context}: threw ${String(error)}`);
      assert.match(error.message, /\/dev\/fuzz/, context);
      outcomes.refused++;
      continue;
    }
    if (decoded.status === 'none') {
      assert.ok(mutation.bytes.length < 8 || !mutation.bytes.subarray(0, 8).every((b, k) => b === bytes[k]), `${context}: none with intact magic`);
      outcomes.none++;
      continue;
    }
    if (!mutation.resealed) {
      // Without a fresh checksum only a no-op mutation may pass (e.g. zeroing bytes already zero).
      assert.deepEqual(mutation.bytes, bytes, `${context}: accepted a damaged copy`);
      assert.deepEqual(decoded.record, r, context);
      outcomes.acceptedSame++;
      continue;
    }
    // A re-sealed copy is a different but valid record: it must survive a canonical round trip.
    const again = decodeMetadata(encodeMetadata(decoded.record, decoded.chunkIndex), '/dev/fuzz');
    assert.ok(again.status === 'found', context);
    assert.deepEqual(again.record, decoded.record, context);
    outcomes.acceptedResealed++;
  }
  assert.ok(outcomes.refused > 6000, `too few refusals: ${JSON.stringify(outcomes)}`);
  assert.ok(outcomes.acceptedResealed > 0 && outcomes.none > 0, `fuzz did not reach every outcome: ${JSON.stringify(outcomes)}`);
});

test(`one fuzzed copy on a chunk always recovers from the other (seed ${seed})`, async () => {
  const random = seededRandom(seed ^ 0x5eed);
  const r = record('raid5', 3);
  const chunk = new MemoryChunk('/dev/fuzzchunk', 2 * MiB);
  await writeChunkMetadata(chunk, r, 2);
  const pristine = chunk.current.slice(0, 128 * 1024);
  const copyBytes = 4096;
  for (let i = 0; i < 1500; i++) {
    chunk.current.set(pristine);
    const damaged = i % 2;
    const offset = copyOffsetsBytes[damaged]!;
    const mutation = mutate(pristine.subarray(offset, offset + copyBytes), random);
    if (mutation.resealed) continue;
    chunk.current.fill(0, offset, offset + copyBytes);
    chunk.current.set(mutation.bytes, offset);
    const context = `case ${i}, copy ${damaged}, ${mutation.what}; replay with FUZZ_SEED=${seed}`;
    const found = await readChunkMetadata(chunk);
    assert.ok(found !== null, context);
    assert.deepEqual(found.record, r, context);
    assert.equal(found.chunkIndex, 2, context);
    if (!chunk.current.subarray(offset, offset + copyBytes).every((b, k) => b === pristine[offset + k])) {
      assert.equal(found.copiesValid[damaged], false, context);
      assert.ok(found.copyProblems[damaged] !== null, context);
    }
  }
});
