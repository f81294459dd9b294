// sensorsd.conf(5): which sensors sensorsd watches beyond their own status,
// and what it runs. A record is named by a full sensor name
// (hw.sensors.softraid0.drive0) or by a type (temp, drive, ...); for a
// sensor, the full-name record wins over its type's. Capabilities:
//
//   low=VALUE, high=VALUE   limits, in OpenBSD's units (get_val): temp needs
//                           C or F (80C, 176F), volt and acvolt need V
//                           (4.8V); percent, humidity and pressure are
//                           ×1000 internally; power, current, Wh, Ah, lux,
//                           frequency, distance, acceleration, velocity
//                           ×10^6; timedelta in seconds; fan, indicator,
//                           raw, drive and angle as plain numbers (drive
//                           compares with the drive states: 4 is online)
//   command=COMMAND         run by /bin/sh when the sensor's state changes,
//                           with %x %t %n %s %l %2 %3 %4 substituted
//   istatus                 ignore the sensor's own status
//
// OpenBSD exits on the first bad value with no place named; here every
// error names the file and the line, and a file with any error is refused
// as a whole (a running sensorsd keeps its configuration).
import { sensorTypes, type Sensor, type SensorType } from '@openbsd38/sensors/sensor.js';
import { zeroCelsiusMicrokelvin } from '@openbsd38/sensors/sensor.js';
import { CapabilityError, parseCapabilityDatabase } from './getcap.js';

export class SensorsdConfigError extends Error {
  override name = 'SensorsdConfigError';
  constructor(readonly file: string, readonly line: number, problem: string) {
    super(`${file}:${line}: ${problem}`);
  }
}

export interface SensorRule {
  /** The record's name: a full sensor name or a type. */
  name: string;
  /** In the sensor's unit; undefined: that side is unbounded. */
  low?: number;
  high?: number;
  command?: string;
  istatus: boolean;
  line: number;
}

export interface SensorsdConfig {
  /** Rules by full sensor name (softraid0.drive0, without "hw.sensors."). */
  bySensor: Map<string, SensorRule>;
  byType: Map<SensorType, SensorRule>;
}

const fullName = /^hw\.sensors\.([a-z0-9_]+)\.([a-z]+)(\d+)$/;
const knownCapabilities = new Set(['low', 'high', 'command', 'istatus']);

/** get_val: a limit in the type's unit, or why not. */
export function limitValue(text: string, type: SensorType): number | string {
  const match = /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(.*)$/.exec(text);
  if (match === null) return 'incorrect value';
  const number = Number(match[1]);
  const unit = match[2]!.trim();
  switch (type) {
    case 'temp':
      if (unit === 'C') return Math.round(number * 1e6 + zeroCelsiusMicrokelvin);
      if (unit === 'F') return Math.round(((number + 459.67) * 5 / 9) * 1e6);
      return unit === '' ? 'no unit for temp sensor (C or F)' : `unknown unit ${unit} for temp sensor`;
    case 'volt':
    case 'acvolt':
      if (unit !== 'V') return unit === '' ? 'no unit for voltage sensor (V)' : `unknown unit ${unit} for voltage sensor`;
      return Math.round(number * 1e6);
    case 'percent':
    case 'humidity':
    case 'pressure':
      return Math.round(number * 1e3);
    case 'power': case 'current': case 'watthour': case 'amphour': case 'illuminance':
    case 'frequency': case 'acceleration': case 'distance': case 'velocity':
      return Math.round(number * 1e6);
    case 'timedelta':
      return Math.round(number * 1e9);
    case 'fan': case 'indicator': case 'raw': case 'drive': case 'angle':
      return Math.trunc(number);
    case 'resistance':
    case 'energy':
      return 'unsupported sensor type';
  }
}

export function parseSensorsdConfig(text: string, file: string): SensorsdConfig {
  let records;
  try {
    records = parseCapabilityDatabase(text);
  } catch (error) {
    if (error instanceof CapabilityError) throw new SensorsdConfigError(file, error.line, error.message);
    throw error;
  }
  const config: SensorsdConfig = { bySensor: new Map(), byType: new Map() };
  for (const record of records) {
    for (const name of record.names) {
      const fail = (problem: string): never => { throw new SensorsdConfigError(file, record.line, problem); };
      let type: SensorType;
      let key: string | null = null;
      const full = fullName.exec(name);
      if (full !== null) {
        if (!(sensorTypes as readonly string[]).includes(full[2]!)) fail(`unknown sensor type ${full[2]} in ${name}`);
        type = full[2] as SensorType;
        key = `${full[1]}.${full[2]}${Number(full[3])}`;
      } else if ((sensorTypes as readonly string[]).includes(name)) {
        type = name as SensorType;
      } else {
        return fail(`${name} is neither a sensor (hw.sensors.<device>.<type><n>) nor a sensor type`);
      }
      const rule: SensorRule = { name, istatus: false, line: record.line };
      for (const [capability, value] of record.capabilities) {
        if (!knownCapabilities.has(capability)) fail(`unknown capability ${capability} for ${name}`);
        if (value.kind === 'cancelled') continue;
        if (capability === 'istatus') {
          if (value.kind !== 'flag') fail('istatus takes no value');
          rule.istatus = true;
          continue;
        }
        if (value.kind !== 'string') fail(`${capability} needs a value (${capability}=...)`);
        const text = (value as { value: string }).value;
        if (capability === 'command') {
          if (text.trim() === '') fail('empty command');
          rule.command = text;
          continue;
        }
        const limit = limitValue(text, type);
        if (typeof limit === 'string') fail(`${capability}=${text}: ${limit}`);
        rule[capability as 'low' | 'high'] = limit as number;
      }
      if (rule.low !== undefined && rule.high !== undefined && rule.low > rule.high) fail(`low is above high for ${name}`);
      const table = key === null ? config.byType : config.bySensor;
      const id = key ?? type;
      // cgetent finds the first record of a name: later duplicates are refused rather than ignored.
      if ((table as Map<string, SensorRule>).has(id)) fail(`${name} is configured twice (first on line ${(table as Map<string, SensorRule>).get(id)!.line})`);
      (table as Map<string, SensorRule>).set(id, rule);
    }
  }
  return config;
}

/** The rule that applies to a sensor: its own record, else its type's, else none. */
export function ruleFor(config: SensorsdConfig, sensor: Pick<Sensor, 'device' | 'type' | 'index'>): SensorRule | undefined {
  return config.bySensor.get(`${sensor.device}.${sensor.type}${sensor.index}`) ?? config.byType.get(sensor.type);
}
