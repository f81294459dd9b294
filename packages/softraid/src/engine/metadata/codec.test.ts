import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetadataError } from '../errors.js';
import { AssertionError } from '@openbsd38/libutil/assert.js';
import { decodeMetadata, encodeMetadata } from './codec.js';
import { crc32c } from './crc32c.js';
import type { VolumeRecord } from './record.js';
import { MetadataVersionError } from './version-error.js';

const MiB = 1024 * 1024;

/** A RAID 5 record, 3 chunks of 63 MiB usable, strip 64 KiB. */
function sampleRecord(): VolumeRecord {
  const usable = 63 * MiB;
  return {
    formatVersion: 1,
    uuid: '0123abcd-4567-489a-bcde-f0123456789a',
    kind: 'raid5',
    layout: 'left-symmetric',
    stripSizeBytes: 65536,
    chunkCount: 3,
    dataOffsetBytes: MiB,
    chunkDataSizeBytes: usable,
    volumeSizeBytes: usable * 2,
    eventCounter: 0x1_0000_0007, // above 2^32: both u64 halves matter
    eventCounterFloor: 5,
    deviceName: 'sd3',
    noAutoAssemble: true,
    dirty: true,
    rebuildCheckpointBytes: 4096,
    chunks: [
      { index: 0, state: 'Online', usableSizeBytes: usable, name: '/dev/loop0' },
      { index: 1, state: 'Offline', usableSizeBytes: usable, name: 'nbd://host/é' },
      { index: 2, state: 'Rebuild', usableSizeBytes: usable + 512, name: '' },
    ],
    reservedRegions: {
      bitmap: { offsetBytes: 128 * 1024, lengthBytes: 128 * 1024 },
      journal: { offsetBytes: 256 * 1024, lengthBytes: 512 * 1024 },
      crypto: { offsetBytes: 768 * 1024, lengthBytes: 64 * 1024 },
    },
  };
}

/** The same record as bytes, assembled field by field from docs/on-disk-format.md, not by the encoder. */
function handBuiltFixture(chunkIndex: number): Uint8Array {
  const copy = new Uint8Array(4096); // 1024 + 3 * 128, rounded up to 4 KiB
  const v = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  copy.set([0x53, 0x4f, 0x46, 0x54, 0x52, 0x41, 0x49, 0x44], 0); // "SOFTRAID"
  v.setUint32(8, 1, true); // version
  v.setUint32(12, 1024, true); // header bytes
  v.setUint32(16, 4096, true); // copy bytes
  copy.set([0x01, 0x23, 0xab, 0xcd, 0x45, 0x67, 0x48, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a], 24);
  v.setUint32(40, chunkIndex, true);
  v.setUint32(44, 3, true);
  v.setUint32(48, 5, true); // RAID 5
  v.setUint32(52, 2, true); // left-symmetric
  v.setUint32(56, 65536, true);
  v.setUint32(60, 1, true); // noauto
  v.setUint32(64, 1, true); // dirty
  v.setUint32(68, 128, true); // chunk entry bytes
  v.setUint32(72, MiB, true); // data offset (low half; high half zero)
  v.setUint32(80, 63 * MiB, true);
  v.setUint32(88, 126 * MiB, true);
  v.setUint32(96, 7, true); v.setUint32(100, 1, true); // event counter 0x1_0000_0007
  v.setUint32(104, 5, true); // floor
  v.setUint32(112, 4096, true); // rebuild checkpoint
  copy.set([0x73, 0x64, 0x33], 120); // "sd3"
  v.setUint32(152, 128 * 1024, true); v.setUint32(160, 128 * 1024, true);
  v.setUint32(168, 256 * 1024, true); v.setUint32(176, 512 * 1024, true);
  v.setUint32(184, 768 * 1024, true); v.setUint32(192, 64 * 1024, true);
  const entries: [number, number, number, number[]][] = [
    [0, 0x00, 63 * MiB, [...'/dev/loop0'].map((c) => c.charCodeAt(0))],
    [1, 0x01, 63 * MiB, [...'nbd://host/'].map((c) => c.charCodeAt(0)).concat([0xc3, 0xa9])],
    [2, 0x03, 63 * MiB + 512, []],
  ];
  for (const [index, state, usable, name] of entries) {
    const at = 1024 + index * 128;
    v.setUint32(at, index, true);
    v.setUint32(at + 4, state, true);
    v.setUint32(at + 8, usable, true);
    copy.set(name, at + 16);
  }
  v.setUint32(20, crc32c(copy), true); // checksum field was zero while computing
  return copy.slice();
}

test('the encoder produces exactly the hand-built bytes, and the decoder reads them back', () => {
  for (const chunkIndex of [0, 2]) {
    const fixture = handBuiltFixture(chunkIndex);
    assert.deepEqual(encodeMetadata(sampleRecord(), chunkIndex), fixture);
    const decoded = decodeMetadata(fixture, 'fixture');
    assert.equal(decoded.status, 'found');
    if (decoded.status !== 'found') return;
    assert.equal(decoded.chunkIndex, chunkIndex);
    assert.deepEqual(decoded.record, sampleRecord());
  }
});

test('round trips: every level, hot spare, optional fields defaulted', () => {
  const base = sampleRecord();
  const variants: VolumeRecord[] = [
    base,
    { ...base, kind: 'raid0', layout: null, dirty: false, noAutoAssemble: false, volumeSizeBytes: 63 * MiB * 3 },
    { ...base, kind: 'raid1', layout: null, stripSizeBytes: 0, volumeSizeBytes: 63 * MiB },
    { ...base, kind: 'concat', layout: null, stripSizeBytes: 0, volumeSizeBytes: 63 * MiB * 3 + 512 },
    { ...base, kind: 'raid5', layout: 'left-asymmetric', stripSizeBytes: 4096 },
    {
      ...base, kind: 'hotspare', layout: null, stripSizeBytes: 0, chunkCount: 1, deviceName: '', volumeSizeBytes: 63 * MiB,
      rebuildCheckpointBytes: 0, chunks: [{ index: 0, state: 'Hot spare', usableSizeBytes: 63 * MiB, name: 'x' }],
    },
  ];
  for (const record of variants) {
    const decoded = decodeMetadata(encodeMetadata(record, 0), 'c');
    assert.ok(decoded.status === 'found');
    assert.deepEqual(decoded.record, record);
  }
  const bare: VolumeRecord = { ...base };
  delete bare.eventCounterFloor;
  delete bare.reservedRegions;
  const decoded = decodeMetadata(encodeMetadata(bare, 1), 'c');
  assert.ok(decoded.status === 'found');
  assert.equal(decoded.record.eventCounterFloor, base.eventCounter);
  assert.deepEqual(decoded.record.reservedRegions, base.reservedRegions);
});

test('no magic is "no metadata", not an error', () => {
  assert.deepEqual(decodeMetadata(new Uint8Array(4096), 'zero'), { status: 'none' });
  assert.deepEqual(decodeMetadata(new Uint8Array(3), 'short'), { status: 'none' });
  const other = encodeMetadata(sampleRecord(), 0);
  other[0] = 0x73;
  assert.deepEqual(decodeMetadata(other, 'x'), { status: 'none' });
});

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => decodeMetadata(bytes, '/dev/chunkX'), (error: unknown) => {
    assert.ok(error instanceof MetadataError, `not a MetadataError: ${String(error)}`);
    assert.match(error.message, /\/dev\/chunkX/);
    assert.match(error.message, pattern);
    return true;
  });
}

test('truncated, zeroed and damaged copies are refused with a message naming the chunk', () => {
  const good = encodeMetadata(sampleRecord(), 0);
  rejects(good.subarray(0, 100), /truncated/);
  rejects(good.subarray(0, 2000), /truncated/);
  const zeroedTail = good.slice();
  zeroedTail.fill(0, 8);
  rejects(zeroedTail, /copy size 0 is out of range/);
  const flipped = good.slice();
  flipped[1100]! ^= 0x10;
  rejects(flipped, /checksum mismatch/);
});

test('a damaged version field is damage, not a newer version', () => {
  const flipped = encodeMetadata(sampleRecord(), 0);
  flipped[9]! ^= 1;
  rejects(flipped, /checksum mismatch/);
  rejects(resealed((v) => v.setUint32(8, 0, true)), /format version 0 does not exist/);
});

test('a newer version is refused with softraid wording', () => {
  const newer = resealed((v) => v.setUint32(8, 2, true));
  assert.throws(() => decodeMetadata(newer, '/dev/sdb1'), (error: unknown) => {
    assert.ok(error instanceof MetadataVersionError);
    assert.equal(error.message, 'cannot read metadata version 2 on /dev/sdb1, expected version 1 or earlier');
    return true;
  });
});

/** Re-checksums a copy after editing a field, so validation (not the checksum) must catch the edit. */
function resealed(edit: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const bytes = encodeMetadata(sampleRecord(), 0);
  const view = new DataView(bytes.buffer);
  edit(view, bytes);
  view.setUint32(20, 0, true);
  view.setUint32(20, crc32c(bytes), true);
  return bytes;
}

test('fields with a valid checksum but invalid values are refused', () => {
  rejects(resealed((v) => v.setUint32(48, 0x42, true)), /unknown level code/);
  rejects(resealed((v) => v.setUint32(52, 9, true)), /unknown layout code/);
  rejects(resealed((v) => v.setUint32(52, 0, true)), /layout null/);
  rejects(resealed((v) => v.setUint32(56, 3000, true)), /strip size 3000/);
  rejects(resealed((v) => v.setUint32(56, 2 * MiB, true)), /strip size/);
  rejects(resealed((v) => v.setUint32(60, 2, true)), /unknown volume flags/);
  rejects(resealed((v) => v.setUint32(64, 0x80, true)), /unknown state flags/);
  rejects(resealed((v) => v.setUint32(72, MiB + 4096, true)), /data offset/);
  rejects(resealed((v) => v.setUint32(88, 5, true)), /volume size/);
  rejects(resealed((v) => v.setUint32(80, 64 * MiB, true)), /exceeds a chunk's usable size/);
  rejects(resealed((v) => v.setUint32(40, 3, true)), /chunk index 3/);
  rejects(resealed((v) => v.setUint32(44, 2, true)), /copy size|chunk entries|needs 3/);
  rejects(resealed((v) => v.setUint32(1024 + 4, 0x42, true)), /unknown state code/);
  rejects(resealed((v) => v.setUint32(1024 + 128, 0, true)), /claims index 0/);
  rejects(resealed((v) => v.setUint32(1024 + 4, 0x04, true)), /Hot spare is not valid/);
  rejects(resealed((v) => v.setUint32(1024 + 12, 0x20_0000, true)), /too large/);
  rejects(resealed((v) => v.setUint32(104, 0, true)), /floor/);
  rejects(resealed((v) => v.setUint32(112, 64 * MiB, true)), /rebuild checkpoint/);
  rejects(resealed((v) => v.setUint32(152, 4096, true)), /bitmap region/);
  rejects(resealed((v) => v.setUint32(168, 200 * 1024, true)), /journal region/);
  rejects(resealed((_, b) => b.set([0xff, 0xfe], 120)), /device name is not valid UTF-8/);
  rejects(resealed((_, b) => b.set([0x61, 0, 0x62], 120)), /after its terminating NUL/);
  rejects(resealed((_, b) => b.set([0x61, 0x0a], 1024 + 16)), /control character/);
  rejects(resealed((_, b) => b.fill(0x61, 120, 152)), /device name is 32 bytes/);
  rejects(resealed((_, b) => b.set([0x2f], 120)), /device name "\/d3"/);
  rejects(resealed((_, b) => b.fill(0, 24, 40)), /uuid/);
});

test('the encoder refuses an invalid record: a bug, not an operating error', () => {
  assert.throws(() => encodeMetadata({ ...sampleRecord(), stripSizeBytes: 1000 }, 0), AssertionError);
  assert.throws(() => encodeMetadata(sampleRecord(), 3), AssertionError);
  assert.throws(() => encodeMetadata({ ...sampleRecord(), deviceName: 'x'.repeat(40) }, 0), AssertionError);
});
