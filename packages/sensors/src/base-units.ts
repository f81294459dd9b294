// Sensor values in the units monitoring systems expect (Prometheus: base SI
// units), from OpenBSD's integer units: degrees Celsius, volts, watts,
// amperes, joules, seconds, percent, RPM; a drive sensor keeps its state
// number (4 online, 7 rebuilding, 9 failed, 10 degraded).
import { zeroCelsiusMicrokelvin, type Sensor, type SensorType } from './sensor.js';

const units: Readonly<Record<SensorType, { unit: string; toBase: (value: number) => number }>> = {
  temp: { unit: 'celsius', toBase: (v) => (v - zeroCelsiusMicrokelvin) / 1e6 },
  fan: { unit: 'rpm', toBase: (v) => v },
  volt: { unit: 'volts', toBase: (v) => v / 1e6 },
  acvolt: { unit: 'volts', toBase: (v) => v / 1e6 },
  resistance: { unit: 'ohms', toBase: (v) => v },
  power: { unit: 'watts', toBase: (v) => v / 1e6 },
  current: { unit: 'amperes', toBase: (v) => v / 1e6 },
  watthour: { unit: 'watt_hours', toBase: (v) => v / 1e6 },
  amphour: { unit: 'ampere_hours', toBase: (v) => v / 1e6 },
  indicator: { unit: '', toBase: (v) => (v !== 0 ? 1 : 0) },
  raw: { unit: '', toBase: (v) => v },
  percent: { unit: 'percent', toBase: (v) => v / 1e3 },
  illuminance: { unit: 'lux', toBase: (v) => v / 1e6 },
  drive: { unit: 'state', toBase: (v) => v },
  timedelta: { unit: 'seconds', toBase: (v) => v / 1e9 },
  humidity: { unit: 'percent', toBase: (v) => v / 1e3 },
  frequency: { unit: 'hertz', toBase: (v) => v / 1e6 },
  angle: { unit: 'degrees', toBase: (v) => v / 1e6 },
  distance: { unit: 'meters', toBase: (v) => v / 1e6 },
  pressure: { unit: 'pascals', toBase: (v) => v / 1e3 },
  acceleration: { unit: 'meters_per_second_squared', toBase: (v) => v / 1e6 },
  velocity: { unit: 'meters_per_second', toBase: (v) => v / 1e6 },
  energy: { unit: 'joules', toBase: (v) => v / 1e6 },
};

/** The value in base units, and the unit's name; null for an unknown value. */
export function baseUnitValue(sensor: Sensor): { value: number | null; unit: string } {
  const { unit, toBase } = units[sensor.type];
  return { value: sensor.unknown === true ? null : toBase(sensor.value), unit };
}
