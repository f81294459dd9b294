// Linux hwmon chips (Documentation/hwmon/sysfs-interface.rst) and thermal
// zones as OpenBSD sensors, in OpenBSD's units. Each /sys/class/hwmon/hwmonN
// is a sensor device named after its chip ("coretemp0", "nct6798_0": a name
// ending in a digit gets "_" before the unit); its attributes sit in the
// hwmon directory or, for older drivers, in its device/ directory.
//
//   temp*_input   m°C  -> temp (µK)        in*_input    mV -> volt (µV)
//   fan*_input    RPM  -> fan (RPM)        power*_input µW -> power (µW)
//   curr*_input   mA   -> current (µA)     humidity*_input m%RH -> humidity (m%)
//   energy*_input µJ   -> energy (µJ)      intrusion*_alarm     -> indicator
//
// Labels become descriptions. Status: CRITICAL when a crit alarm is raised
// or the value is at or past crit; WARNING for any other alarm or a value
// outside min/max; OK when the chip gives limits or alarms and none is
// raised; otherwise no status, as OpenBSD's lm(4) prints none. An attribute
// that cannot be read (EIO from a flaky bus) gives an unknown value and
// status UNKNOWN; the other sensors are unaffected.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { zeroCelsiusMicrokelvin, type Sensor, type SensorStatus, type SensorType } from './sensor.js';

interface AttributeKind {
  prefix: string;
  type: SensorType;
  /** Multiplier from the hwmon unit to OpenBSD's. */
  scale: number;
  offset?: number;
}

const kinds: readonly AttributeKind[] = [
  { prefix: 'temp', type: 'temp', scale: 1000, offset: zeroCelsiusMicrokelvin },
  { prefix: 'fan', type: 'fan', scale: 1 },
  { prefix: 'in', type: 'volt', scale: 1000 },
  { prefix: 'power', type: 'power', scale: 1 },
  { prefix: 'curr', type: 'current', scale: 1000 },
  { prefix: 'humidity', type: 'humidity', scale: 1 },
  { prefix: 'energy', type: 'energy', scale: 1 },
];

/** What reading one attribute gave: a number, nothing there, or an error (EIO). */
type Reading = { value: number } | { missing: true } | { error: string };

async function readAttribute(path: string): Promise<Reading> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { missing: true };
    return { error: code ?? (error as Error).message };
  }
  const value = Number(text.trim());
  return Number.isFinite(value) && text.trim() !== '' ? { value } : { error: `not a number: ${JSON.stringify(text.trim().slice(0, 40))}` };
}

async function readLabel(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim().slice(0, 31);
  } catch {
    return '';
  }
}

/** A sensor device name from a chip or zone type: lowercase, [a-z0-9_], "_" before the unit after a digit. */
export function deviceNameFor(kind: string, unit: number): string {
  const base = kind.toLowerCase().replace(/[^a-z0-9_]/g, '_') || 'hwmon';
  return /\d$/.test(base) ? `${base}_${unit}` : `${base}${unit}`;
}

async function listDirectory(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}

/** The directory holding a chip's attributes: the hwmon directory, or its device/ when only that has them. */
async function attributeDirectory(hwmonPath: string): Promise<{ path: string; files: string[] }> {
  const own = await listDirectory(hwmonPath);
  if (own.some((file) => /^[a-z]+\d+_(input|alarm)$/.test(file))) return { path: hwmonPath, files: own };
  const parent = join(hwmonPath, 'device');
  return { path: parent, files: await listDirectory(parent) };
}

function statusFrom(value: number | null, limits: { min?: number; max?: number; crit?: number }, alarms: { any: boolean; crit: boolean; seen: boolean }): SensorStatus {
  if (alarms.crit || (value !== null && limits.crit !== undefined && value >= limits.crit)) return 'critical';
  if (alarms.any || (value !== null && ((limits.max !== undefined && value > limits.max) || (limits.min !== undefined && value < limits.min)))) return 'warning';
  return alarms.seen || limits.min !== undefined || limits.max !== undefined || limits.crit !== undefined ? 'ok' : 'unspec';
}

async function chipSensors(device: string, directory: { path: string; files: string[] }): Promise<Sensor[]> {
  const sensors: Sensor[] = [];
  const files = new Set(directory.files);
  for (const kind of kinds) {
    const numbers = [...new Set(directory.files.map((file) => new RegExp(`^${kind.prefix}(\\d+)_input$`).exec(file)?.[1]).filter((n): n is string => n !== undefined))]
      .map(Number).sort((a, b) => a - b);
    let index = 0;
    for (const number of numbers) {
      const base = `${kind.prefix}${number}`;
      const attribute = async (suffix: string): Promise<Reading> => files.has(`${base}_${suffix}`)
        ? readAttribute(join(directory.path, `${base}_${suffix}`)) : { missing: true };
      const convert = (raw: number): number => raw * kind.scale + (kind.offset ?? 0);
      const input = await attribute('input');
      const limit = async (suffix: string): Promise<number | undefined> => {
        const reading = await attribute(suffix);
        return 'value' in reading ? convert(reading.value) : undefined;
      };
      const limits = { min: await limit('min'), max: await limit('max'), crit: await limit('crit') };
      const alarmReadings = await Promise.all(['alarm', 'min_alarm', 'max_alarm', 'crit_alarm', 'lcrit_alarm'].map((suffix) => attribute(suffix)));
      const raised = alarmReadings.map((reading) => 'value' in reading && reading.value !== 0);
      const alarms = { any: raised.some(Boolean), crit: raised[3]! || raised[4]!, seen: alarmReadings.some((reading) => 'value' in reading) };
      const description = files.has(`${base}_label`) ? await readLabel(join(directory.path, `${base}_label`)) : '';
      const sensor: Sensor = { device, type: kind.type, index, value: 0, description, status: 'unspec' };
      if ('value' in input) {
        sensor.value = convert(input.value);
        sensor.status = statusFrom(sensor.value, limits, alarms);
      } else {
        sensor.unknown = true;
        sensor.status = 'unknown';
      }
      const known = { low: limits.min, high: limits.max, critical: limits.crit };
      if (known.low !== undefined || known.high !== undefined || known.critical !== undefined) {
        sensor.limits = Object.fromEntries(Object.entries(known).filter(([, v]) => v !== undefined));
      }
      sensors.push(sensor);
      index++;
    }
  }
  // Chassis intrusion: an alarm without an input.
  const intrusions = directory.files.map((file) => /^intrusion(\d+)_alarm$/.exec(file)?.[1]).filter((n): n is string => n !== undefined).map(Number).sort((a, b) => a - b);
  for (const [index, number] of intrusions.entries()) {
    const reading = await readAttribute(join(directory.path, `intrusion${number}_alarm`));
    const sensor: Sensor = { device, type: 'indicator', index, value: 0, description: 'intrusion', status: 'unknown' };
    if ('value' in reading) {
      sensor.value = reading.value !== 0 ? 1 : 0;
      sensor.status = reading.value !== 0 ? 'critical' : 'ok';
    } else {
      sensor.unknown = true;
    }
    sensors.push(sensor);
  }
  return sensors;
}

/** Every hwmon chip under <sysfsRoot>/class/hwmon, in hwmonN order. */
export async function hwmonSensors(sysfsRoot: string): Promise<Sensor[]> {
  const classDirectory = join(sysfsRoot, 'class', 'hwmon');
  const entries = (await listDirectory(classDirectory)).filter((name) => /^hwmon\d+$/.test(name)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  const units = new Map<string, number>();
  const sensors: Sensor[] = [];
  for (const entry of entries) {
    const path = join(classDirectory, entry);
    const directory = await attributeDirectory(path);
    const chip = (await readLabel(join(path, 'name'))) || (await readLabel(join(path, 'device', 'name'))) || 'hwmon';
    const unit = units.get(chip) ?? 0;
    units.set(chip, unit + 1);
    sensors.push(...await chipSensors(deviceNameFor(chip, unit), directory));
  }
  return sensors;
}

/** Every thermal zone under <sysfsRoot>/class/thermal: one temp sensor each, CRITICAL at or past its critical trip point, WARNING past a hot one. */
export async function thermalSensors(sysfsRoot: string): Promise<Sensor[]> {
  const classDirectory = join(sysfsRoot, 'class', 'thermal');
  const zones = (await listDirectory(classDirectory)).filter((name) => /^thermal_zone\d+$/.test(name)).sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)));
  const units = new Map<string, number>();
  const sensors: Sensor[] = [];
  for (const zone of zones) {
    const path = join(classDirectory, zone);
    const kind = (await readLabel(join(path, 'type'))) || 'thermal';
    const unit = units.get(kind) ?? 0;
    units.set(kind, unit + 1);
    const sensor: Sensor = { device: deviceNameFor(kind, unit), type: 'temp', index: 0, value: 0, description: zone, status: 'unspec' };
    const input = await readAttribute(join(path, 'temp'));
    const trips: { type: string; value: number }[] = [];
    for (const file of (await listDirectory(path)).filter((name) => /^trip_point_\d+_type$/.test(name))) {
      const number = file.slice(11, -5);
      const tripType = await readLabel(join(path, file));
      const tripTemp = await readAttribute(join(path, `trip_point_${number}_temp`));
      if ('value' in tripTemp) trips.push({ type: tripType, value: tripTemp.value * 1000 + zeroCelsiusMicrokelvin });
    }
    const critical = Math.min(...trips.filter((trip) => trip.type === 'critical').map((trip) => trip.value));
    const hot = Math.min(...trips.filter((trip) => trip.type === 'hot').map((trip) => trip.value));
    if ('value' in input) {
      sensor.value = input.value * 1000 + zeroCelsiusMicrokelvin;
      if (Number.isFinite(critical) || Number.isFinite(hot)) {
        sensor.status = sensor.value >= critical ? 'critical' : sensor.value >= hot ? 'warning' : 'ok';
        sensor.limits = Number.isFinite(critical) ? { critical } : { high: hot };
      }
    } else {
      sensor.unknown = true;
      sensor.status = 'unknown';
    }
    sensors.push(sensor);
  }
  return sensors;
}

/** The machine's own sensors: every hwmon chip, then every thermal zone. */
export async function machineSensors(sysfsRoot: string): Promise<Sensor[]> {
  const [hwmon, thermal] = await Promise.all([hwmonSensors(sysfsRoot), thermalSensors(sysfsRoot)]);
  return [...hwmon, ...thermal];
}
