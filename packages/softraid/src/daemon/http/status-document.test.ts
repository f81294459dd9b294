import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeController } from '@openbsd38/bio/testing/fake-controller.js';
import { EventLog } from './event-log.js';
import { statusDocument } from './status-document.js';

test('status document: members, progress, spares, events newest first, sensors, and the commands to run next', async () => {
  const controller = new FakeController();
  controller.volumes.push({
    volumeIndex: 0, deviceName: 'sd0', uuid: '00000000-0000-4000-8000-000000000001', level: 'raid1', layout: null, stripSizeBytes: 0,
    state: 'Degraded', sizeBytes: 1 << 30, noAutoAssemble: false, progress: null, lastScrub: null,
    chunks: [
      { chunkIndex: 0, name: '/dev/sdb', state: 'Online', sizeBytes: 1 << 30, ioErrors: 0 },
      { chunkIndex: 1, name: '', state: 'Offline', sizeBytes: 0 },
    ],
  });
  controller.hotSpares.push({ name: '/dev/sdd', sizeBytes: 2 << 30 });
  const eventLog = new EventLog(10, () => Date.UTC(2026, 11, 2, 3, 4, 5));
  eventLog.record('softraid0', { name: 'Fail', device: 'sd0', member: '/dev/sdc' });
  eventLog.record('softraid0', { name: 'DegradedArray', device: 'sd0' });
  const document = await statusDocument({
    controllers: () => [controller], ioHistory: null, eventLog, hostname: 'nas', startedAtMs: 0,
    machineSensors: async () => { throw new Error('/sys/class/hwmon: permission denied'); },
  }, Date.UTC(2026, 11, 2, 3, 4, 6));

  assert.equal(document.status_version, 1);
  assert.equal(document.generated_at, '2026-12-02T03:04:06.000Z');
  const [softraid0] = document.controllers;
  assert.equal(softraid0!.name, 'softraid0');
  const volume = softraid0!.volumes[0]!;
  assert.equal(volume.state, 'Degraded');
  assert.deepEqual(volume.members, [
    { slot: 0, name: '/dev/sdb', state: 'Online', size_bytes: 1 << 30, io_errors: 0, flags: [] },
    { slot: 1, name: '', state: 'Offline', size_bytes: 0, io_errors: null, flags: [] },
  ]);
  assert.equal(volume.io, null);
  const commands = volume.commands.map((hint) => hint.command);
  assert.ok(commands.includes('bioctl -R NEWDISK sd0'), commands.join('; '));
  assert.ok(commands.includes('bioctl -H NEWDISK sd0'));
  assert.ok(!commands.includes('bioctl -t start sd0'), 'no scrub offered on a degraded volume');
  assert.match(volume.commands[0]!.label, /the missing disk in slot 1/);
  assert.deepEqual(softraid0!.hot_spares, [{ name: '/dev/sdd', size_bytes: 2 << 30 }]);
  assert.equal(softraid0!.spare_pool, true);
  assert.deepEqual(document.events.map((event) => [event.sequence, event.name, event.member]), [[2, 'DegradedArray', null], [1, 'Fail', '/dev/sdc']]);
  assert.equal(document.events[0]!.at, '2026-12-02T03:04:05.000Z');
  // The machine's sensors failed to read: said, and the volumes' sensors are still there.
  assert.equal(document.sensors_problem, '/sys/class/hwmon: permission denied');
  assert.deepEqual(document.sensors.map((sensor) => `${sensor.name}=${sensor.value} ${sensor.status}`),
    ['sd0.drive0=online ok', 'sd0.drive1=failed critical', 'softraid0.drive0=degraded warning']);

  controller.volumes[0]!.state = 'Online';
  controller.volumes[0]!.chunks[1] = { chunkIndex: 1, name: '/dev/sdc', state: 'Online', sizeBytes: 1 << 30 };
  controller.setProgress('sd0', 40);
  const rebuilding = (await statusDocument({
    controllers: () => [controller], ioHistory: null, eventLog, hostname: 'nas', startedAtMs: 0, machineSensors: async () => [],
  })).controllers[0]!.volumes[0]!;
  assert.equal(rebuilding.progress?.percent, 40);
  assert.equal(rebuilding.members[1]!.state, 'Online');
});
