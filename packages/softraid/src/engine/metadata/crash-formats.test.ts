// The write-intent bitmap copy, the partial parity log record and its
// retirement mark on disk: hand-checked byte positions, round trips, and
// damage (a torn write) read as absent, never misread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from './crc32c.js';
import { reservedRegionsDefault } from './layout.js';
import { bitmapBitsMax, bitmapCopyOffsetBytes, decodeBitmapCopy, encodeBitmapCopy, writeIntentRegionBytesFor } from './write-intent.js';
import {
  decodePplMark, decodePplRecord, encodePplMark, encodePplRecord, pplHeaderBytes, pplMarkOffsetBytes, pplRecordsStartBytes,
} from './partial-parity-log.js';
import { seededRandom } from '@openbsd38/libutil/random.js';

const uuid = '0123abcd-0000-4000-8000-0123456789ab';
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

test('write-intent region size: 4 MiB (or what is asked, 64 KiB at least), a strip at least, doubled until the bits fit a copy', () => {
  const region = reservedRegionsDefault.bitmap;
  assert.equal(bitmapBitsMax(region), (64 * KiB - 512) * 8);
  assert.equal(writeIntentRegionBytesFor(16 * MiB, 0, region), 4 * MiB);
  assert.equal(writeIntentRegionBytesFor(16 * MiB, 64 * KiB, region, 64 * KiB), 64 * KiB);
  assert.equal(writeIntentRegionBytesFor(16 * MiB, 1 * MiB, region, 64 * KiB), 1 * MiB);
  assert.equal(writeIntentRegionBytesFor(1 * TiB, 64 * KiB, region, 64 * KiB), 4 * MiB);
  assert.equal(writeIntentRegionBytesFor(4 * TiB, 64 * KiB, region), 16 * MiB);
  assert.throws(() => writeIntentRegionBytesFor(16 * MiB, 0, region, 32 * KiB), /below the format's minimum/);
  assert.equal(bitmapCopyOffsetBytes(region, 1), 128 * KiB + 64 * KiB);
  assert.equal(bitmapCopyOffsetBytes(region, 2), 128 * KiB);
});

test('bitmap copy: fields at their documented offsets, CRC32C with the field zero; damage reads as no copy', () => {
  const bits = Uint8Array.of(0b101, 0, 0x80);
  const bytes = encodeBitmapCopy({ uuid, sequence: 7, regionBytes: 64 * KiB, bitCount: 24, lastClearEventCounter: 42, bits }, reservedRegionsDefault.bitmap);
  const view = new DataView(bytes.buffer);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), 'SRBITMAP');
  assert.equal(bytes.length, 1024);
  assert.equal(view.getUint32(8, true), 1);
  assert.equal(view.getUint32(12, true), 512);
  assert.equal(view.getUint32(20, true), 1024);
  assert.equal(bytes[24], 0x01);
  assert.equal(view.getBigUint64(40, true), 7n);
  assert.equal(view.getBigUint64(48, true), 65536n);
  assert.equal(view.getUint32(56, true), 24);
  assert.equal(view.getBigUint64(64, true), 42n);
  assert.deepEqual([...bytes.subarray(512, 515)], [5, 0, 0x80]);
  const zeroed = bytes.slice();
  new DataView(zeroed.buffer).setUint32(16, 0, true);
  assert.equal(view.getUint32(16, true), crc32c(zeroed));
  assert.deepEqual(decodeBitmapCopy(bytes, uuid), { uuid, sequence: 7, regionBytes: 64 * KiB, bitCount: 24, lastClearEventCounter: 42, bits });
  for (let i = 0; i < bytes.length; i += 37) {
    const damaged = bytes.slice();
    damaged[i]! ^= 0x10;
    assert.equal(decodeBitmapCopy(damaged, uuid), null, `flip at ${i}`);
  }
  const torn = bytes.slice();
  torn.fill(0, 512); // the second sector never landed
  assert.equal(decodeBitmapCopy(torn, uuid), null);
  assert.equal(decodeBitmapCopy(bytes, '0123abcd-0000-4000-8000-0123456789ac'), null, 'another volume');
});

test('partial parity log record: header sector then partial parity; a torn record is no record', () => {
  const partialParity = new Uint8Array(1000).map((_, i) => i & 0xff);
  const record = { uuid, sequence: 99, parityChunkIndex: 2, chunkOffsetBytes: 5 * 4096 + 100, lengthBytes: 1000, modifiedChunkIndexes: [0, 9], partialParity };
  const bytes = encodePplRecord(record);
  const view = new DataView(bytes.buffer);
  assert.equal(bytes.length, pplHeaderBytes + 1024);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), 'SRPPLOG1');
  assert.equal(view.getUint32(12, true), 1536);
  assert.equal(view.getBigUint64(32, true), 99n);
  assert.equal(view.getUint32(40, true), 2);
  assert.equal(view.getUint32(44, true), 1);
  assert.equal(view.getBigUint64(48, true), BigInt(5 * 4096 + 100));
  assert.equal(view.getUint32(56, true), 1000);
  assert.equal(bytes[64], 0b1);
  assert.equal(bytes[65], 0b10);
  assert.deepEqual(decodePplRecord(bytes, uuid), record);
  const torn = bytes.slice();
  torn.fill(0, 1024, 1536);
  assert.equal(decodePplRecord(torn, uuid), null);
  const invalidated = bytes.slice();
  invalidated.fill(0, 0, pplHeaderBytes);
  assert.equal(decodePplRecord(invalidated, uuid), null);
  const full = encodePplRecord({ ...record, modifiedChunkIndexes: [0, 1], partialParity: null });
  assert.equal(full.length, pplHeaderBytes);
  assert.deepEqual(decodePplRecord(full, uuid)?.partialParity, null);
});

test('partial parity log retirement mark: one sector, fields at their offsets; damage, another volume or a record read as no mark', () => {
  assert.equal(pplMarkOffsetBytes(0), 0);
  assert.equal(pplMarkOffsetBytes(1), 512);
  assert.equal(pplRecordsStartBytes, 1024, 'records are placed after both copies');
  const bytes = encodePplMark(uuid, 2 ** 40 + 7);
  assert.equal(bytes.length, 512);
  const view = new DataView(bytes.buffer);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), 'SRPPLMK1');
  assert.equal(view.getUint32(12, true), 0);
  assert.equal(view.getBigUint64(32, true), BigInt(2 ** 40 + 7));
  assert.ok(bytes.subarray(40).every((byte) => byte === 0));
  // The checksum, computed here without the codec: CRC32C of the sector with its field zero.
  const scratch = bytes.slice();
  new DataView(scratch.buffer).setUint32(8, 0, true);
  assert.equal(view.getUint32(8, true), crc32c(scratch));
  assert.equal(decodePplMark(bytes, uuid), 2 ** 40 + 7);
  assert.equal(decodePplMark(bytes, '0123abcd-0000-4000-8000-0123456789ac'), null, 'another volume');
  assert.equal(decodePplMark(new Uint8Array(512), uuid), null, 'a wiped region');
  const record = encodePplRecord({ uuid, sequence: 5, parityChunkIndex: 0, chunkOffsetBytes: 0, lengthBytes: 512, modifiedChunkIndexes: [1], partialParity: null });
  assert.equal(decodePplMark(record, uuid), null, 'a record header');
  assert.equal(decodePplRecord(bytes, uuid), null, 'a mark is no record');
  for (let sector = 0; sector < 512; sector += 37) {
    const torn = bytes.slice();
    torn[sector] = torn[sector]! ^ 0x10;
    assert.equal(decodePplMark(torn, uuid), null, `a flipped bit at byte ${sector}`);
  }
});

test('fuzzed retirement marks are refused or read as the mark that was written, never another number', () => {
  const random = seededRandom(0x3a7c);
  for (let round = 0; round < 3000; round++) {
    const sequence = Math.floor(random() * 2 ** 48);
    const bytes = encodePplMark(uuid, sequence);
    const flips = 1 + Math.floor(random() * 4);
    for (let i = 0; i < flips; i++) {
      const at = Math.floor(random() * 512);
      bytes[at] = random() < 0.3 ? 0 : Math.floor(random() * 256);
    }
    const decoded = decodePplMark(bytes, uuid);
    assert.ok(decoded === null || decoded === sequence, `round ${round}: read ${decoded} from a mark of ${sequence}`);
  }
});

test('metadata: the additive feature flags and write-intent region size sit at header bytes 200 and 204, and read back', async () => {
  const { createTestVolume } = await import('../../../tests/sim/harness.js');
  const { encodeMetadata, decodeMetadata } = await import('./codec.js');
  const { record } = await createTestVolume({ level: 'raid5', chunkCount: 3, layout: 'left-symmetric', stripSizeBytes: 4096, chunkDataSizeBytes: MiB }, 7);
  const plain = encodeMetadata(record, 0);
  assert.deepEqual([...plain.subarray(200, 208)], [0, 0, 0, 0, 0, 0, 0, 0], 'absent: zero, as version-1 writers left it');
  const decodedPlain = decodeMetadata(plain, 'm0');
  assert.ok(decodedPlain.status === 'found' && decodedPlain.record.featureFlags === undefined);
  const bytes = encodeMetadata({ ...record, featureFlags: 3, writeIntentRegionBytes: 64 * KiB }, 0);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getUint32(200, true), 3);
  assert.equal(view.getUint32(204, true), 65536);
  const decoded = decodeMetadata(bytes, 'm0');
  assert.ok(decoded.status === 'found' && decoded.record.featureFlags === 3 && decoded.record.writeIntentRegionBytes === 64 * KiB);
});
