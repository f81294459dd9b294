// The key area: round trips, every field checked, the slot order of a write
// (a crash at any point leaves a whole record), and a seeded fuzz of the
// decoder (every damaged slot is a MetadataError naming the chunk or no key
// area at all, never a crash and never a record that was not written).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededSource } from '@openbsd38/libutil/random.js';
import { MetadataError } from '../errors.js';
import { MemoryChunk } from '../../chunk/memory.js';
import { reservedRegionsDefault } from './layout.js';
import { crc32c } from './crc32c.js';
import {
  dataKeysBytes, decodeKeyArea, encodeKeyArea, keyAreaField, keyAreaRegionBytesMin, keyAreaSlotBytes, keyAreaSlotOffsetsBytes,
  readKeyArea, wipeKeyArea, writeKeyArea, type KeyArea, type VolumeKeyArea,
} from './key-area.js';

const uuid = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

function volumeArea(generation: number, seed = 1): VolumeKeyArea {
  const random = seededSource(seed);
  return {
    kind: 'volume', uuid, generation,
    kdf: { type: 'bcrypt-pbkdf', rounds: 37, salt: random.fill(new Uint8Array(128)) },
    maskedKeys: random.fill(new Uint8Array(dataKeysBytes)),
    checkMac: random.fill(new Uint8Array(20)),
  };
}

test('key area: volume and key disk records round-trip, and the layout fits the crypto region', () => {
  assert.ok(reservedRegionsDefault.crypto.lengthBytes >= keyAreaRegionBytesMin);
  assert.ok(keyAreaField.reserved <= keyAreaSlotBytes);
  const areas: KeyArea[] = [
    volumeArea(1),
    { kind: 'volume', uuid, generation: 9, kdf: { type: 'keydisk' }, maskedKeys: new Uint8Array(dataKeysBytes).fill(7), checkMac: new Uint8Array(20).fill(3) },
    { kind: 'keydisk', uuid, generation: 1, maskKey: new Uint8Array(32).fill(0xa5) },
  ];
  for (const area of areas) assert.deepEqual(decodeKeyArea(encodeKeyArea(area), 'c0'), area);
  assert.equal(decodeKeyArea(new Uint8Array(keyAreaSlotBytes), 'c0'), null, 'zeroes: no key area');
});

test('key area: each broken rule is named', () => {
  const good = encodeKeyArea(volumeArea(1));
  const broken = (mutate: (bytes: Uint8Array, view: DataView) => void, fixChecksum = true): Uint8Array => {
    const bytes = good.slice();
    const view = new DataView(bytes.buffer);
    mutate(bytes, view);
    if (fixChecksum) {
      // Recompute as the encoder does, so the field check (not the checksum) answers.
      view.setUint32(keyAreaField.checksum, 0, true);
      view.setUint32(keyAreaField.checksum, crc32c(bytes), true);
    }
    return bytes;
  };
  const cases: [string, Uint8Array][] = [
    ['checksum mismatch', broken((bytes) => { bytes[keyAreaField.keys]! ^= 1; }, false)],
    ['unknown cipher 1', broken((_b, view) => view.setUint32(keyAreaField.cipher, 1, true))],
    ['unknown KDF 1', broken((_b, view) => view.setUint32(keyAreaField.kdf, 1, true))],
    ['bcrypt_pbkdf rounds 15 out of range', broken((_b, view) => view.setUint32(keyAreaField.kdfRounds, 15, true))],
    ['salt size 64', broken((_b, view) => view.setUint32(keyAreaField.kdfSaltBytes, 64, true))],
    ['generation 0 out of range', broken((_b, view) => view.setBigUint64(keyAreaField.generation, 0n, true))],
    ['reserved bytes are not zero', broken((bytes) => { bytes[keyAreaSlotBytes - 1] = 1; })],
    ['version 2', broken((_b, view) => view.setUint32(keyAreaField.version, 2, true))],
    ['unknown kind 3', broken((_b, view) => view.setUint32(keyAreaField.kind, 3, true))],
    ['truncated', good.slice(0, 100)],
  ];
  for (const [text, bytes] of cases) {
    assert.throws(() => decodeKeyArea(bytes, '/dev/sdq'), (error: unknown) => error instanceof MetadataError
      && error.message.startsWith('/dev/sdq: invalid key area: ') && error.message.includes(text), text);
  }
});

test('key area: a write goes to the slot not holding the current record first; a crash at any write leaves old or new', async () => {
  const region = reservedRegionsDefault.crypto;
  const chunk = new MemoryChunk('c', 2 * 1024 * 1024);
  assert.equal(await readKeyArea(chunk, region), null);
  await writeKeyArea(chunk, region, volumeArea(1, 1));
  assert.deepEqual(await readKeyArea(chunk, region), volumeArea(1, 1));
  // Crash points: after each write of the next change, nothing more reaches the chunk.
  for (let writesLanded = 0; writesLanded <= 2; writesLanded++) {
    const copy = new MemoryChunk('copy', chunk.sizeBytes);
    copy.current.set(chunk.current);
    copy.durable.set(chunk.durable);
    let writes = 0;
    const limited = {
      ...copy, name: 'copy', sizeBytes: copy.sizeBytes,
      read: (buffer: Uint8Array, at: number) => copy.read(buffer, at),
      write: async (buffer: Uint8Array, at: number) => {
        if (writes++ < writesLanded) await copy.write(buffer, at);
        else throw new Error('crashed');
      },
      flush: () => copy.flush(),
    } as unknown as MemoryChunk;
    await writeKeyArea(limited, region, volumeArea(2, 2)).catch((error: Error) => assert.equal(error.message, 'crashed'));
    const after = await readKeyArea(copy, region);
    assert.deepEqual(after, writesLanded === 0 ? volumeArea(1, 1) : volumeArea(2, 2), `after ${writesLanded} slot writes`);
  }
  await writeKeyArea(chunk, region, volumeArea(2, 2));
  // Both slots hold the new record: no copy of the keys masked the old way is left.
  for (const offset of keyAreaSlotOffsetsBytes) {
    const bytes = new Uint8Array(keyAreaSlotBytes);
    await chunk.read(bytes, region.offsetBytes + offset);
    assert.deepEqual(decodeKeyArea(bytes, 'c'), volumeArea(2, 2));
  }
  await wipeKeyArea(chunk, region);
  assert.equal(await readKeyArea(chunk, region), null);
});

test('key area: one damaged slot is survived, two are an error naming the chunk', async () => {
  const region = reservedRegionsDefault.crypto;
  const chunk = new MemoryChunk('/dev/loop7', 2 * 1024 * 1024);
  await writeKeyArea(chunk, region, volumeArea(4));
  chunk.current[region.offsetBytes + keyAreaField.keys]! ^= 0xff;
  assert.deepEqual(await readKeyArea(chunk, region), volumeArea(4));
  chunk.current[region.offsetBytes + keyAreaSlotOffsetsBytes[1]! + keyAreaField.keys]! ^= 0xff;
  await assert.rejects(readKeyArea(chunk, region), /^MetadataError: \/dev\/loop7: no valid key area: slot 0: invalid key area: checksum mismatch/);
});

test('key area: 3,000 seeded damaged slots each decode to an error, nothing, or exactly what was written', () => {
  const random = seededSource(20261202);
  const written = [encodeKeyArea(volumeArea(3)), encodeKeyArea({ kind: 'keydisk', uuid, generation: 2, maskKey: new Uint8Array(32).fill(9) })];
  let errors = 0;
  for (let round = 0; round < 3000; round++) {
    const original = written[round % 2]!;
    const bytes = original.slice(0, random.below(4) === 0 ? random.below(keyAreaSlotBytes) : keyAreaSlotBytes);
    const flips = 1 + random.below(8);
    for (let i = 0; i < flips && bytes.length > 0; i++) bytes[random.below(bytes.length)] = random.below(256);
    let decoded: KeyArea | null;
    try {
      decoded = decodeKeyArea(bytes, 'fuzz');
    } catch (error) {
      assert.ok(error instanceof MetadataError, String(error));
      assert.match(error.message, /^fuzz: invalid key area: /);
      errors++;
      continue;
    }
    // Not an error: either no magic left, or the bytes still equal what was written.
    if (decoded !== null) assert.deepEqual(encodeKeyArea(decoded), original);
  }
  assert.ok(errors > 2500, `the fuzz really damaged slots (${errors} errors)`);
});
