import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sysctlLine, sysctlListing } from './format.js';
import { sortSensors, zeroCelsiusMicrokelvin, type Sensor } from './sensor.js';

const sensor = (fields: Partial<Sensor> & Pick<Sensor, 'type' | 'value'>): Sensor =>
  ({ device: 'lm0', index: 0, description: '', status: 'unspec', ...fields });

test('lines as sysctl prints hw.sensors: value, description, status', () => {
  assert.equal(sysctlLine(sensor({ type: 'temp', value: zeroCelsiusMicrokelvin + 45_000_000, description: 'CPU', status: 'ok' })),
    'hw.sensors.lm0.temp0=45.00 degC (CPU), OK');
  assert.equal(sysctlLine(sensor({ type: 'volt', index: 3, value: 5_020_000 })), 'hw.sensors.lm0.volt3=5.02 VDC');
  assert.equal(sysctlLine(sensor({ type: 'fan', index: 1, value: 1500, status: 'warning' })), 'hw.sensors.lm0.fan1=1500 RPM, WARNING');
  assert.equal(sysctlLine({ device: 'softraid0', type: 'drive', index: 0, value: 4, description: 'sd2', status: 'ok' }), 'hw.sensors.softraid0.drive0=online (sd2), OK');
  assert.equal(sysctlLine({ device: 'softraid0', type: 'drive', index: 0, value: 10, description: 'sd2', status: 'warning' }), 'hw.sensors.softraid0.drive0=degraded (sd2), WARNING');
  assert.equal(sysctlLine({ device: 'softraid0', type: 'drive', index: 1, value: 7, description: 'sd3', status: 'warning' }), 'hw.sensors.softraid0.drive1=rebuilding (sd3), WARNING');
  assert.equal(sysctlLine({ device: 'softraid0', type: 'drive', index: 0, value: 9, description: 'sd2', status: 'critical' }), 'hw.sensors.softraid0.drive0=failed (sd2), CRITICAL');
  assert.equal(sysctlLine(sensor({ type: 'drive', value: 0, status: 'unknown' })), 'hw.sensors.lm0.drive0=unknown, UNKNOWN');
  assert.equal(sysctlLine(sensor({ type: 'power', value: 12_345_678 })), 'hw.sensors.lm0.power0=12.35 W');
  assert.equal(sysctlLine(sensor({ type: 'current', value: 1_500_000 })), 'hw.sensors.lm0.current0=1.50 A');
  assert.equal(sysctlLine(sensor({ type: 'humidity', value: 45_500 })), 'hw.sensors.lm0.humidity0=45.50%');
  assert.equal(sysctlLine(sensor({ type: 'percent', value: 99_000 })), 'hw.sensors.lm0.percent0=99.00%');
  assert.equal(sysctlLine(sensor({ type: 'indicator', value: 1, description: 'intrusion', status: 'critical' })), 'hw.sensors.lm0.indicator0=On (intrusion), CRITICAL');
  assert.equal(sysctlLine(sensor({ type: 'timedelta', value: -1_500_000 })), 'hw.sensors.lm0.timedelta0=-0.001500 secs');
  assert.equal(sysctlLine(sensor({ type: 'energy', value: 2_000_000 })), 'hw.sensors.lm0.energy0=2.00 J');
  assert.equal(sysctlLine(sensor({ type: 'temp', value: 0, unknown: true, status: 'unknown' })), 'hw.sensors.lm0.temp0=unknown, UNKNOWN');
  assert.equal(sysctlLine(sensor({ type: 'temp', value: zeroCelsiusMicrokelvin - 5_250_000 })), 'hw.sensors.lm0.temp0=-5.25 degC');
});

test('the listing leaves invalid sensors out; sorting is by device, type order, index', () => {
  const sensors = sortSensors([
    sensor({ device: 'softraid0', type: 'drive', value: 4, description: 'sd0', status: 'ok' }),
    sensor({ device: 'lm10', type: 'temp', value: zeroCelsiusMicrokelvin }),
    sensor({ device: 'lm2', type: 'fan', value: 900 }),
    sensor({ device: 'lm2', type: 'temp', index: 1, value: zeroCelsiusMicrokelvin }),
    sensor({ device: 'lm2', type: 'temp', value: zeroCelsiusMicrokelvin, invalid: true }),
  ]);
  assert.equal(sysctlListing(sensors), [
    'hw.sensors.lm2.temp1=0.00 degC',
    'hw.sensors.lm2.fan0=900 RPM',
    'hw.sensors.lm10.temp0=0.00 degC',
    'hw.sensors.softraid0.drive0=online (sd0), OK',
    '',
  ].join('\n'));
});

test('a device without a unit number sorts before the same name with one (md before md0), never interleaved', () => {
  const sensors = sortSensors([
    sensor({ device: 'md0', type: 'drive', index: 0, value: 4, description: '/dev/sdb', status: 'ok' }),
    sensor({ device: 'md', type: 'drive', index: 1, value: 4, description: 'md1', status: 'ok' }),
    sensor({ device: 'md0', type: 'drive', index: 1, value: 4, description: '/dev/sdc', status: 'ok' }),
    sensor({ device: 'md', type: 'drive', index: 0, value: 4, description: 'md0', status: 'ok' }),
  ]);
  assert.deepEqual(sensors.map((one) => `${one.device}.drive${one.index}`), ['md.drive0', 'md.drive1', 'md0.drive0', 'md0.drive1']);
});
