import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InquiryView, VolumeView } from '@openbsd38/bio/controller.js';
import { bioSensors } from './bio-sensors.js';
import { sysctlListing } from './format.js';

const volume = (deviceName: string, state: VolumeView['state'], chunks: VolumeView['chunks']): VolumeView => ({
  volumeIndex: 0, deviceName, uuid: '', level: 'raid1', layout: null, stripSizeBytes: 0, state, sizeBytes: 1, noAutoAssemble: false,
  chunks, progress: null, lastScrub: null,
});

test('volumes as softraid exports them (hw.sensors.softraid0.driveN), members as drive sensors of their own', () => {
  const inquiry: InquiryView = {
    controllerName: 'softraid0',
    volumes: [
      volume('sd0', 'Online', [{ chunkIndex: 0, name: '/dev/loop1', state: 'Online', sizeBytes: 1 }, { chunkIndex: 1, name: '/dev/loop2', state: 'Online', sizeBytes: 1 }]),
      volume('sd1', 'Degraded', [{ chunkIndex: 0, name: '/dev/loop3', state: 'Online', sizeBytes: 1 }, { chunkIndex: 1, name: '', state: 'Offline', sizeBytes: 1 }]),
      volume('sd2', 'Rebuild', [{ chunkIndex: 0, name: '/dev/loop5', state: 'Online', sizeBytes: 1 }, { chunkIndex: 1, name: '/dev/loop6', state: 'Rebuild', sizeBytes: 1 }]),
      volume('sd3', 'Offline', []),
      volume('sd4', 'Scrubbing', []),
      volume('sd5', 'Building', []),
    ],
    hotSpares: [],
  };
  assert.equal(sysctlListing(bioSensors(inquiry)), [
    'hw.sensors.softraid0.drive0=online (sd0), OK',
    'hw.sensors.softraid0.drive1=degraded (sd1), WARNING',
    'hw.sensors.softraid0.drive2=rebuilding (sd2), WARNING',
    'hw.sensors.softraid0.drive3=failed (sd3), CRITICAL',
    'hw.sensors.softraid0.drive4=online (sd4), OK',
    'hw.sensors.softraid0.drive5=unknown (sd5), UNKNOWN',
    'hw.sensors.sd0.drive0=online (/dev/loop1), OK',
    'hw.sensors.sd0.drive1=online (/dev/loop2), OK',
    'hw.sensors.sd1.drive0=online (/dev/loop3), OK',
    'hw.sensors.sd1.drive1=failed (missing), CRITICAL',
    'hw.sensors.sd2.drive0=online (/dev/loop5), OK',
    'hw.sensors.sd2.drive1=rebuilding (/dev/loop6), WARNING',
    '',
  ].join('\n'));
});
