// OpenBSD's sensor framework (sys/sys/sensors.h) as data: a sensor belongs
// to a device ("lm0", "softraid0"), has a type and its index within that
// type (temp0, temp1, drive0), a value in the type's integer unit (µK, µV,
// RPM, µW, µA, m%, a drive state), an optional description (sd0, CPU), a
// status, and flags. The name is <device>.<type><index>, as sysctl shows it.

/** Sensor types in sensors.h's enum order, with the userland names. */
export const sensorTypes = [
  'temp', 'fan', 'volt', 'acvolt', 'resistance', 'power', 'current', 'watthour', 'amphour',
  'indicator', 'raw', 'percent', 'illuminance', 'drive', 'timedelta', 'humidity', 'frequency',
  'angle', 'distance', 'pressure', 'acceleration', 'velocity', 'energy',
] as const;
export type SensorType = (typeof sensorTypes)[number];

/** SENSOR_S_*: UNSPEC prints no status. */
export type SensorStatus = 'unspec' | 'ok' | 'warning' | 'critical' | 'unknown';

/** SENSOR_DRIVE_* values. */
export const driveState = {
  empty: 1, ready: 2, powerup: 3, online: 4, idle: 5, active: 6, rebuild: 7, powerdown: 8, fail: 9, pfail: 10,
} as const;
export type DriveStateName = keyof typeof driveState;

export interface Sensor {
  /** The sensor device (OpenBSD's xname): lm0, softraid0, acpitz0. */
  device: string;
  type: SensorType;
  /** Index within the device's sensors of this type (numt). */
  index: number;
  /**
   * In the type's unit: µK (temp), RPM (fan), µV (volt, acvolt), Ω, µW, µA, µWh, µAh,
   * 0/1 (indicator), m% (percent, humidity), µlx, a driveState (drive), ns (timedelta),
   * µHz, µdegrees, µm, mPa, µm/s², µm/s, µJ.
   */
  value: number;
  description: string;
  status: SensorStatus;
  /** SENSOR_FUNKNOWN: the value is not known (printed as "unknown"). */
  unknown?: boolean;
  /** SENSOR_FINVALID: not listed, not monitored. */
  invalid?: boolean;
  /** Limits the source knows (hwmon's min/max/crit), in the value's unit. Not part of OpenBSD's sensor. */
  limits?: { low?: number; high?: number; critical?: number };
}

/** softraid0.drive0 */
export function sensorName(sensor: Pick<Sensor, 'device' | 'type' | 'index'>): string {
  return `${sensor.device}.${sensor.type}${sensor.index}`;
}

/** Kelvin offset of the µK unit: 0 °C is 273150000 µK. */
export const zeroCelsiusMicrokelvin = 273_150_000;

/** A list of sensors as the kernel holds them: devices in order, then by type and index. */
export function sortSensors(sensors: readonly Sensor[]): Sensor[] {
  return [...sensors].sort((a, b) => compareDevices(a.device, b.device)
    || sensorTypes.indexOf(a.type) - sensorTypes.indexOf(b.type) || a.index - b.index);
}

/** lm0 < lm1 < lm10 < softraid0: by name, then by unit number. */
function compareDevices(a: string, b: string): number {
  const [, nameA = a, unitA = '0'] = /^(.*?)(\d+)$/.exec(a) ?? [];
  const [, nameB = b, unitB = '0'] = /^(.*?)(\d+)$/.exec(b) ?? [];
  // md (no unit) before md0: a controller's sensors before its volumes' own.
  return nameA < nameB ? -1 : nameA > nameB ? 1 : Number(unitA) - Number(unitB) || (a < b ? -1 : a > b ? 1 : 0);
}
