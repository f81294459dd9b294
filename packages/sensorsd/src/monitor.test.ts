import { test } from 'node:test';
import assert from 'node:assert/strict';
import { driveState, zeroCelsiusMicrokelvin, type Sensor } from '@openbsd38/sensors/sensor.js';
import { parseSensorsdConfig } from './config.js';
import { expandCommand, SensorMonitor } from './monitor.js';

const drive = (value: number, status: Sensor['status']): Sensor => ({ device: 'softraid0', type: 'drive', index: 0, value, description: 'sd0', status });
const temp = (celsius: number): Sensor => ({ device: 'lm0', type: 'temp', index: 0, value: zeroCelsiusMicrokelvin + celsius * 1e6, description: 'CPU', status: 'unspec' });

test('a volume that degrades: reported after four consecutive sightings, the command run with its substitutions, once', () => {
  const monitor = new SensorMonitor(parseSensorsdConfig('drive:command=/etc/sensorsd/drive %x %t %n %s %2 %l %%\n', 'f'));
  const online = drive(driveState.online, 'ok');
  const degraded = drive(driveState.pfail, 'warning');
  // Start-up: uninitialised -> OK is a change too, committed on the fourth check.
  for (let i = 0; i < 3; i++) assert.deepEqual(monitor.check([online]), { reports: [], commands: [] });
  assert.deepEqual(monitor.check([online]), {
    reports: [{ line: 'softraid0.drive0: online, OK', priority: 'info' }],
    commands: ['/etc/sensorsd/drive softraid0 drive 0 OK online uninitialised %%'],
  });
  // A blip of three checks is no change.
  for (let i = 0; i < 3; i++) assert.deepEqual(monitor.check([degraded]).reports, []);
  assert.deepEqual(monitor.check([online]).reports, []);
  // Degraded for good.
  for (let i = 0; i < 3; i++) assert.deepEqual(monitor.check([degraded]).reports, []);
  assert.deepEqual(monitor.check([degraded]), {
    reports: [{ line: 'softraid0.drive0: pfail, WARN', priority: 'alert' }],
    commands: ['/etc/sensorsd/drive softraid0 drive 0 WARNING pfail uninitialised %%'],
  });
  assert.deepEqual(monitor.check([degraded]), { reports: [], commands: [] });
});

test('limits: above, within, below and invalid, with the limits in the line and in %3 %4', () => {
  const monitor = new SensorMonitor(parseSensorsdConfig('hw.sensors.lm0.temp0:low=10C:high=80C:command=alert %l %2 %3 %4\n', 'f'));
  const run = (sensor: Sensor) => { let last; for (let i = 0; i < 4; i++) last = monitor.check([sensor]); return last!; };
  // The sensor's own status is UNSPEC: its tracker commits "uninitialised -> unspec" with no status word.
  assert.deepEqual(run(temp(85)).reports.map((report) => report.line), ['lm0.temp0: 85.00 degC', 'lm0.temp0: exceeds limits: 85.00 degC is above 80.00 degC']);
  assert.deepEqual(run(temp(40)), { reports: [{ line: 'lm0.temp0: within limits: 40.00 degC', priority: 'info' }], commands: ['alert within 40.00 degC 10.00 degC 80.00 degC'] });
  assert.deepEqual(run(temp(5)).reports, [{ line: 'lm0.temp0: exceeds limits: 5.00 degC is below 10.00 degC', priority: 'alert' }]);
  assert.deepEqual(run({ ...temp(0), unknown: true }).reports.map((report) => report.line), ['lm0.temp0: marked invalid']);
});

test('istatus: the sensor\'s own status is ignored; with no limits the sensor is not watched at all', () => {
  const monitor = new SensorMonitor(parseSensorsdConfig('drive:istatus\nfan:istatus:low=1000\n', 'f'));
  const fan: Sensor = { device: 'lm0', type: 'fan', index: 0, value: 500, description: '', status: 'critical' };
  let reports: string[] = [];
  for (let i = 0; i < 4; i++) reports = monitor.check([drive(driveState.fail, 'critical'), fan]).reports.map((report) => report.line);
  assert.deepEqual(reports, ['lm0.fan0: exceeds limits: 500 RPM is below 1000 RPM']);
});

test('sensors without a record: their own status is watched, no command runs; a reload keeps what was seen', () => {
  const monitor = new SensorMonitor(parseSensorsdConfig('', 'f'));
  for (let i = 0; i < 3; i++) monitor.check([drive(driveState.rebuild, 'warning')]);
  assert.deepEqual(monitor.check([drive(driveState.rebuild, 'warning')]), { reports: [{ line: 'softraid0.drive0: rebuild, WARN', priority: 'alert' }], commands: [] });
  monitor.reload(parseSensorsdConfig('drive:command=x %s\n', 'f'));
  assert.deepEqual(monitor.check([drive(driveState.rebuild, 'warning')]), { reports: [], commands: [] });
  assert.equal(expandCommand('%q%x%', drive(4, 'ok'), { status: 'ok', limit: 'uninitialised', low: '', high: '' }), '%qsoftraid0%');
});
