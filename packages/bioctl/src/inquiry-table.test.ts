import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatInquiry } from './inquiry-table.js';
import type { ChunkView, InquiryView, VolumeView } from '@openbsd38/bio/controller.js';

// The examples of the reference §2.4, byte for byte ("|" marks line ends),
// from equivalent views.
const golden = (text: string): string => text.split('\n').filter((line) => line.length > 0).map((line) => `${line.replace(/\|$/, '')}\n`).join('');

function chunk(chunkIndex: number, name: string, sizeBytes: number, state: ChunkView['state'] = 'Online'): ChunkView {
  return { chunkIndex, name, state, sizeBytes };
}

function volume(volumeIndex: number, deviceName: string, level: VolumeView['level'], state: VolumeView['state'], sizeBytes: number, chunks: ChunkView[]): VolumeView {
  return { volumeIndex, deviceName, uuid: '', level, layout: null, stripSizeBytes: 65536, state, sizeBytes, noAutoAssemble: false, chunks, progress: null };
}

const plain = { volumeFilter: undefined, human: false, verbose: false };

test('healthy RAID 1 with a hot spare, bioctl softraid0', () => {
  const view: InquiryView = {
    controllerName: 'softraid0',
    volumes: [volume(0, 'sd2', 'raid1', 'Online', 2000396018176, [chunk(0, 'sd0a', 2000396018176), chunk(1, 'sd1a', 2000396018176)])],
    hotSpares: [{ volumeIndex: 1, name: 'sd4a', sizeBytes: 2000396018176 }],
  };
  assert.equal(formatInquiry(view, plain), golden(`
Volume      Status               Size Device  |
softraid0 0 Online      2000396018176 sd2     RAID1 |
          0 Online      2000396018176 0:0.0   noencl <sd0a>|
          1 Online      2000396018176 0:1.0   noencl <sd1a>|
softraid0 1 Hot spare   2000396018176 1:0.0   noencl <sd4a>|
`));
});

test('RAID 1 during rebuild, bioctl sd2 hides the hot spares', () => {
  const rebuilding = volume(0, 'sd2', 'raid1', 'Rebuild', 2000396018176, [chunk(0, 'sd0a', 2000396018176), chunk(1, 'sd3a', 2000396018176, 'Rebuild')]);
  rebuilding.progress = { operation: 'rebuild', percent: 42, bytesDone: 0, bytesTotal: 0, rateBytesPerSecond: 0, etaSeconds: null };
  const view: InquiryView = { controllerName: 'softraid0', volumes: [rebuilding], hotSpares: [{ volumeIndex: 1, name: 'sd4a', sizeBytes: 1 }] };
  assert.equal(formatInquiry(view, { ...plain, volumeFilter: 'sd2' }), golden(`
Volume      Status               Size Device  |
softraid0 0 Rebuild     2000396018176 sd2     RAID1 42% done |
          0 Online      2000396018176 0:0.0   noencl <sd0a>|
          1 Rebuild     2000396018176 0:1.0   noencl <sd3a>|
`));
});

test('a resync after a crash is named in the level column (the status shows the volume state, Degraded here)', () => {
  const resyncing = volume(0, 'sd0', 'raid5', 'Degraded', 4096, [chunk(0, 'sd0a', 2048), chunk(1, '', 2048, 'Offline'), chunk(2, 'sd2a', 2048)]);
  resyncing.progress = { operation: 'resync', percent: 34.9, bytesDone: 0, bytesTotal: 0, rateBytesPerSecond: 0, etaSeconds: null };
  const view: InquiryView = { controllerName: 'softraid0', volumes: [resyncing], hotSpares: [] };
  assert.equal(formatInquiry(view, plain).split('\n')[1], 'softraid0 0 Degraded             4096 sd0     RAID5 resync 34% done ');
});

test('CRYPTO with a key disk and a degraded RAID 5, with -h', () => {
  const view: InquiryView = {
    controllerName: 'softraid0',
    volumes: [
      volume(0, 'sd3', 'crypto', 'Online', 499558383104, [chunk(0, 'sd0a', 499558383104), chunk(1, 'sd1d', 0)]),
      volume(1, 'sd4', 'raid5', 'Degraded', 3000592982016, [
        chunk(0, 'sd5a', 1000204886016), chunk(1, 'sd6a', 1000204886016, 'Offline'), chunk(2, 'sd7a', 1000204886016), chunk(3, 'sd8a', 1000204886016),
      ]),
    ],
    hotSpares: [],
  };
  assert.equal(formatInquiry(view, { ...plain, human: true }), golden(`
Volume      Status               Size Device  |
softraid0 0 Online               465G sd3     CRYPTO|
          0 Online               465G 0:0.0   noencl <sd0a>|
          1 Online           key disk 0:1.0   noencl <sd1d>|
softraid0 1 Degraded             2.7T sd4     RAID5 |
          0 Online               932G 1:0.0   noencl <sd5a>|
          1 Offline              932G 1:1.0   noencl <sd6a>|
          2 Online               932G 1:2.0   noencl <sd7a>|
          3 Online               932G 1:3.0   noencl <sd8a>|
`));
});

test('-v adds the serial line; CONCAT and RAID 1C level names; no header when nothing matches', () => {
  const view: InquiryView = {
    controllerName: 'softraid0',
    volumes: [volume(0, 'sd0', 'concat', 'Online', 2048, [chunk(0, '/dev/loop0', 2048)]), volume(1, 'sd1', 'raid1c', 'Online', 1024, [])],
    hotSpares: [],
  };
  assert.equal(formatInquiry(view, { ...plain, verbose: true }), golden(`
Volume      Status               Size Device  |
softraid0 0 Online               2048 sd0     CONCAT|
          0 Online               2048 0:0.0   noencl </dev/loop0>|
                                                     'unknown serial'|
softraid0 1 Online               1024 sd1     RAID1C |
`));
  assert.equal(formatInquiry(view, { ...plain, volumeFilter: 'sd9' }), '');
});
