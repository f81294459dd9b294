// sensorsd's watch over its sensors (sensorsd.c check/report), as a state
// machine the daemon feeds one reading of every sensor per check period:
//
// - two trackers per sensor: its own status (unless istatus) and, when low
//   or high is configured, its value against the limits (within, above,
//   below, invalid);
// - a change counts only once seen on four consecutive checks (OpenBSD's
//   debounce: the first sighting, then three confirmations), so with the
//   default 20 s period a change is reported 60 s after it first appears;
//   the first committed state after start-up counts as a change;
// - each committed change gives a log line in OpenBSD's words, and a
//   configured command runs once for the check in which either tracker of
//   its sensor changed, with %x %t %n %s %l %2 %3 %4 substituted.
import { formatValue } from '@openbsd38/sensors/format.js';
import { sensorName, type Sensor, type SensorStatus } from '@openbsd38/sensors/sensor.js';
import { ruleFor, type SensorsdConfig } from './config.js';

/** Confirmations after the first sighting before a change commits (sensorsd's 3). */
export const confirmationsNeeded = 3;

type LimitStatus = 'uninitialised' | 'invalid' | 'within' | 'above' | 'below';

interface Tracker<S> {
  committed: S;
  candidate: S | null;
  confirmations: number;
}

interface Watched {
  status: Tracker<SensorStatus | 'uninitialised'>;
  limit: Tracker<LimitStatus>;
  /** The value at the last commit (what %2 and the log line show). */
  value: Sensor;
}

export interface Report {
  /** A line for the log, e.g. "softraid0.drive0: pfail, WARN". */
  line: string;
  /** syslog priority: info when the new state is good, alert otherwise. */
  priority: 'info' | 'alert';
}

export interface CheckResult {
  reports: Report[];
  /** Commands to run, already expanded. */
  commands: string[];
}

const logStatus: Readonly<Record<SensorStatus, string>> = { unspec: '', ok: 'OK', warning: 'WARN', critical: 'CRITICAL', unknown: 'UNKNOWN' };
const commandStatus: Readonly<Record<SensorStatus | 'uninitialised', string>> = {
  uninitialised: 'UNSPEC', unspec: 'UNSPEC', ok: 'OK', warning: 'WARNING', critical: 'CRITICAL', unknown: 'UNKNOWN',
};
const driveWords: Readonly<Record<number, string>> = {
  1: 'empty', 2: 'ready', 3: 'powerup', 4: 'online', 5: 'idle', 6: 'active', 7: 'rebuild', 8: 'powerdown', 9: 'fail', 10: 'pfail',
};

/** A value as sensorsd prints it (its own formatter: drive states in one word, volts as "V DC"). */
export function sensorsdValue(sensor: Sensor): string {
  if (sensor.unknown === true) return 'unknown';
  if (sensor.type === 'drive') return driveWords[sensor.value] ?? `${sensor.value} ???`;
  if (sensor.type === 'volt') return `${(sensor.value / 1e6).toFixed(2)} V DC`;
  if (sensor.type === 'acvolt') return `${(sensor.value / 1e6).toFixed(2)} V AC`;
  return formatValue(sensor);
}

function limitText(sensor: Sensor, value: number | undefined): string {
  return value === undefined ? '' : sensorsdValue({ ...sensor, value, unknown: false });
}

/** Moves a tracker toward `seen`; true when a change committed. */
function observe<S>(tracker: Tracker<S>, seen: S): boolean {
  if (seen === tracker.committed) {
    tracker.candidate = null;
    tracker.confirmations = 0;
    return false;
  }
  if (seen !== tracker.candidate) {
    tracker.candidate = seen;
    tracker.confirmations = 0;
    return false;
  }
  tracker.confirmations++;
  if (tracker.confirmations < confirmationsNeeded) return false;
  tracker.committed = seen;
  tracker.candidate = null;
  tracker.confirmations = 0;
  return true;
}

export class SensorMonitor {
  private readonly watched = new Map<string, Watched>();

  constructor(private config: SensorsdConfig) {}

  /** SIGHUP: a new configuration; states seen so far are kept. */
  reload(config: SensorsdConfig): void {
    this.config = config;
  }

  /** One check period's readings of every sensor. */
  check(sensors: readonly Sensor[]): CheckResult {
    const result: CheckResult = { reports: [], commands: [] };
    for (const sensor of sensors) {
      const rule = ruleFor(this.config, sensor);
      const limited = rule !== undefined && (rule.low !== undefined || rule.high !== undefined);
      // istatus without limits: nothing to watch (sensorsd does not poll it).
      if (rule?.istatus === true && !limited) continue;
      const name = sensorName(sensor);
      let entry = this.watched.get(name);
      if (entry === undefined) {
        entry = {
          status: { committed: 'uninitialised', candidate: null, confirmations: 0 },
          limit: { committed: 'uninitialised', candidate: null, confirmations: 0 },
          value: sensor,
        };
        this.watched.set(name, entry);
      }
      let changed = false;
      if (rule?.istatus !== true && observe(entry.status, sensor.status)) {
        changed = true;
        entry.value = sensor;
        const status = logStatus[sensor.status];
        result.reports.push({ line: `${name}: ${sensorsdValue(sensor)}${status === '' ? '' : `, ${status}`}`, priority: sensor.status === 'ok' ? 'info' : 'alert' });
      }
      if (limited) {
        const seen: LimitStatus = sensor.invalid === true || sensor.unknown === true ? 'invalid'
          : rule.high !== undefined && sensor.value > rule.high ? 'above'
            : rule.low !== undefined && sensor.value < rule.low ? 'below' : 'within';
        if (observe(entry.limit, seen)) {
          changed = true;
          entry.value = sensor;
          const value = sensorsdValue(sensor);
          const line = seen === 'within' ? `${name}: within limits: ${value}`
            : seen === 'above' ? `${name}: exceeds limits: ${value} is above ${limitText(sensor, rule.high)}`
              : seen === 'below' ? `${name}: exceeds limits: ${value} is below ${limitText(sensor, rule.low)}`
                : `${name}: marked invalid`;
          result.reports.push({ line, priority: seen === 'within' ? 'info' : 'alert' });
        }
      }
      if (changed && rule?.command !== undefined) {
        result.commands.push(expandCommand(rule.command, entry.value, {
          status: entry.status.committed, limit: entry.limit.committed, low: limitText(sensor, rule.low), high: limitText(sensor, rule.high),
        }));
      }
    }
    return result;
  }
}

/** sensorsd's substitutions; any other %c is copied as it is. */
export function expandCommand(command: string, sensor: Sensor, state: { status: SensorStatus | 'uninitialised'; limit: LimitStatus; low: string; high: string }): string {
  return command.replace(/%(.)/gs, (whole, token: string) => {
    switch (token) {
      case 'x': return sensor.device;
      case 't': return sensor.type;
      case 'n': return String(sensor.index);
      case 's': return commandStatus[state.status];
      case 'l': return state.limit;
      case '2': return sensorsdValue(sensor);
      case '3': return state.low;
      case '4': return state.high;
      default: return whole;
    }
  });
}
