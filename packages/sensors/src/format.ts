// The listing OpenBSD's sysctl(8) prints for hw.sensors (sbin/sysctl
// print_sensor): hw.sensors.<device>.<type><index>=<value>[ (<desc>)][, STATUS].
// Invalid sensors are not listed; an unknown value prints "unknown".
import { sensorName, zeroCelsiusMicrokelvin, type Sensor } from './sensor.js';

const driveText: Readonly<Record<number, string>> = {
  1: 'empty', 2: 'ready', 3: 'powering up', 4: 'online', 5: 'idle', 6: 'active',
  7: 'rebuilding', 8: 'powering down', 9: 'failed', 10: 'degraded',
};

const statusText: Readonly<Record<Sensor['status'], string>> = {
  unspec: '', ok: ', OK', warning: ', WARNING', critical: ', CRITICAL', unknown: ', UNKNOWN',
};

const fixed = (value: number, digits: number): string => value.toFixed(digits);

/** The value as sysctl prints it. */
export function formatValue(sensor: Sensor): string {
  if (sensor.unknown === true) return 'unknown';
  const v = sensor.value;
  switch (sensor.type) {
    case 'temp': return `${fixed((v - zeroCelsiusMicrokelvin) / 1e6, 2)} degC`;
    case 'fan': return `${Math.trunc(v)} RPM`;
    case 'volt': return `${fixed(v / 1e6, 2)} VDC`;
    case 'acvolt': return `${fixed(v / 1e6, 2)} VAC`;
    case 'resistance': return `${Math.trunc(v)} ohm`;
    case 'power': return `${fixed(v / 1e6, 2)} W`;
    case 'current': return `${fixed(v / 1e6, 2)} A`;
    case 'watthour': return `${fixed(v / 1e6, 2)} Wh`;
    case 'amphour': return `${fixed(v / 1e6, 2)} Ah`;
    case 'indicator': return v !== 0 ? 'On' : 'Off';
    case 'raw': return `${Math.trunc(v)}`;
    case 'percent': return `${fixed(v / 1e3, 2)}%`;
    case 'illuminance': return `${fixed(v / 1e6, 2)} lx`;
    case 'drive': return driveText[v] ?? 'unknown';
    case 'timedelta': return `${fixed(v / 1e9, 6)} secs`;
    case 'humidity': return `${fixed(v / 1e3, 2)}%`;
    case 'frequency': return `${fixed(v / 1e6, 2)} Hz`;
    case 'angle': return `${fixed(v / 1e6, 4)} degrees`;
    case 'distance': return `${fixed(v / 1e3, 2)} mm`;
    case 'pressure': return `${fixed(v / 1e3, 2)} Pa`;
    case 'acceleration': return `${fixed(v / 1e6, 4)} m/s^2`;
    case 'velocity': return `${fixed(v / 1e6, 3)} m/s`;
    case 'energy': return `${fixed(v / 1e6, 2)} J`;
  }
}

/** One line of the listing, e.g. hw.sensors.softraid0.drive0=online (sd0), OK */
export function sysctlLine(sensor: Sensor): string {
  const description = sensor.description === '' ? '' : ` (${sensor.description})`;
  return `hw.sensors.${sensorName(sensor)}=${formatValue(sensor)}${description}${statusText[sensor.status]}`;
}

/** The listing: invalid sensors left out, as sysctl does. */
export function sysctlListing(sensors: readonly Sensor[]): string {
  return sensors.filter((sensor) => sensor.invalid !== true).map((sensor) => `${sysctlLine(sensor)}\n`).join('');
}
