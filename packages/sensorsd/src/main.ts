// sensorsd(8): the hardware sensors monitor, and (-l) the hw.sensors listing.
import { sysctlListing, formatValue } from '@openbsd38/sensors/format.js';
import { sensorName } from '@openbsd38/sensors/sensor.js';
import { defaultControlSocketPath } from '@openbsd38/bio/control/protocol.js';
import { parseArgs, UsageError, usageText } from './args.js';
import { SensorsdConfigError } from './config.js';
import { startSensorsd } from './daemon.js';
import { readSensors, type SensorSources } from './sources.js';

export interface SensorsdIo {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Default time limit of a configured command: long enough for a mail, short enough to notice a hung one. */
export const commandTimeoutSecondsDefault = 60;

function sourcesFrom(env: NodeJS.ProcessEnv): SensorSources {
  return {
    sysfsRoot: env.SOFTRAID_SYSFS_ROOT || '/sys',
    controlSocketPath: env.SOFTRAID_SOCKET || defaultControlSocketPath,
  };
}

/** "softraid0" or "hw.sensors.softraid0" selects that device's sensors; "softraid0.drive0" one sensor. */
function matches(name: string, prefix: string | null): boolean {
  if (prefix === null) return true;
  const wanted = prefix.replace(/^hw\.sensors\./, '').replace(/\.$/, '');
  return wanted === 'hw.sensors' || wanted === '' || name === wanted || name.startsWith(`${wanted}.`);
}

async function list(io: SensorsdIo, json: boolean, prefix: string | null): Promise<number> {
  const reading = await readSensors(sourcesFrom(io.env));
  for (const problem of reading.problems) io.stderr(`sensorsd: ${problem}\n`);
  const sensors = reading.sensors.filter((sensor) => sensor.invalid !== true && matches(sensorName(sensor), prefix));
  if (prefix !== null && sensors.length === 0) {
    io.stderr(`sensorsd: no sensor ${prefix}\n`);
    return 1;
  }
  if (json) {
    io.stdout(`${JSON.stringify({
      output_version: '1.0',
      sensors: sensors.map((sensor) => ({
        name: sensorName(sensor), device: sensor.device, type: sensor.type, index: sensor.index,
        value: sensor.unknown === true ? null : sensor.value, text: formatValue(sensor), description: sensor.description,
        status: sensor.status.toUpperCase(), ...(sensor.limits === undefined ? {} : { limits: sensor.limits }),
      })),
    }, null, 2)}\n`);
  } else {
    io.stdout(sysctlListing(sensors));
  }
  return 0;
}

export async function runSensorsd(argv: readonly string[], io: SensorsdIo): Promise<number> {
  let invocation;
  try {
    invocation = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`${error.message === '' ? '' : `sensorsd: ${error.message}\n`}${usageText}`);
    return 1;
  }
  if (invocation.mode === 'list') return list(io, invocation.json, invocation.prefix);
  const timeoutText = io.env.SENSORSD_COMMAND_TIMEOUT;
  const commandTimeoutSeconds = timeoutText === undefined || timeoutText === '' ? commandTimeoutSecondsDefault : Number(timeoutText);
  if (!Number.isFinite(commandTimeoutSeconds) || commandTimeoutSeconds <= 0) {
    io.stderr(`sensorsd: SENSORSD_COMMAND_TIMEOUT=${timeoutText}: not a positive number of seconds\n`);
    return 1;
  }
  const log = (line: string): void => io.stderr(`sensorsd: ${line}\n`);
  let daemon;
  try {
    daemon = await startSensorsd({
      checkSeconds: invocation.checkSeconds, configFile: invocation.configFile, sources: sourcesFrom(io.env),
      commandTimeoutMs: commandTimeoutSeconds * 1000, log,
    });
  } catch (error) {
    if (!(error instanceof SensorsdConfigError)) throw error;
    io.stderr(`sensorsd: ${error.message}\n`);
    return 1;
  }
  const running = daemon;
  process.on('SIGHUP', () => running.reload());
  await new Promise<void>((resolve) => {
    const stop = (): void => { resolve(); };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await running.close();
  log('stopped');
  return 0;
}
