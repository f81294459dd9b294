// sensorsd's command line: OpenBSD's flags, and -l, an addition (Linux's
// sysctl is procps', so the hw.sensors listing is sensorsd's).
//   sensorsd [-d] [-c check] [-f file]
//   sensorsd -l [--json] [name-prefix]
import { getopt } from '@openbsd38/libutil/getopt.js';

export const checkSecondsDefault = 20;
export const checkSecondsMax = 600;
export const defaultConfigFile = '/etc/sensorsd.conf';

export const usageText = 'usage: sensorsd [-d] [-c check] [-f file]\n       sensorsd -l [--json] [name-prefix]\n';

export type Invocation =
  | { mode: 'daemon'; foreground: boolean; checkSeconds: number; configFile: string }
  | { mode: 'list'; json: boolean; prefix: string | null };

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseArgs(argv: readonly string[]): Invocation {
  const parsed = getopt(argv, 'c:df:l', [{ name: 'json', hasArgument: false }]);
  if (!parsed.ok) throw new UsageError(parsed.diagnostic);
  let foreground = false;
  let checkSeconds = checkSecondsDefault;
  let configFile = defaultConfigFile;
  let list = false;
  let json = false;
  for (const option of parsed.options) {
    switch (option.name) {
      case 'c': {
        const value = option.value ?? '';
        const seconds = /^\d+$/.test(value) ? Number(value) : NaN;
        // OpenBSD's strtonum(optarg, 1, 600): "check is too small", "too large", "invalid".
        if (Number.isNaN(seconds)) throw new UsageError(`check is invalid: ${value}`);
        if (seconds < 1) throw new UsageError(`check is too small: ${value}`);
        if (seconds > checkSecondsMax) throw new UsageError(`check is too large: ${value}`);
        checkSeconds = seconds;
        break;
      }
      case 'd': foreground = true; break;
      case 'f': configFile = option.value ?? ''; break;
      case 'l': list = true; break;
      case 'json': json = true; break;
    }
  }
  if (list) {
    if (parsed.operands.length > 1) throw new UsageError('');
    return { mode: 'list', json, prefix: parsed.operands[0] ?? null };
  }
  if (json || parsed.operands.length > 0) throw new UsageError('');
  return { mode: 'daemon', foreground, checkSeconds, configFile };
}
