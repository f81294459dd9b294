// sensorsd's loop (sensorsd.c main): every check period, read every sensor,
// note sensor devices that appeared or disappeared, feed the monitor, log
// what it reports and run the commands it asks for — through /bin/sh, never
// waited for by the loop, killed (with their process group) past a time
// limit and logged, so a hung command never stops the monitoring. SIGHUP
// re-reads the configuration; a bad file keeps the running one and says why.
import { readFileSync } from 'node:fs';
import { commandProblem, runShellCommand } from '@openbsd38/libutil/run-command.js';
import { parseSensorsdConfig, SensorsdConfigError, type SensorsdConfig } from './config.js';
import { SensorMonitor } from './monitor.js';
import { readSensors, type SensorSources } from './sources.js';

export interface SensorsdOptions {
  checkSeconds: number;
  configFile: string;
  sources: SensorSources;
  /** A command still running after this long is killed. */
  commandTimeoutMs: number;
  log(line: string): void;
}

export interface RunningSensorsd {
  reload(): void;
  close(): Promise<void>;
}

/** The configuration in `file`; a missing file configures nothing (every sensor's own status is still watched). */
export function loadConfig(file: string): { config: SensorsdConfig; missing: boolean } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { config: parseSensorsdConfig('', file), missing: true };
    throw new SensorsdConfigError(file, 0, (error as Error).message);
  }
  return { config: parseSensorsdConfig(text, file), missing: false };
}

export async function startSensorsd(options: SensorsdOptions): Promise<RunningSensorsd> {
  const { log } = options;
  const loaded = loadConfig(options.configFile);
  if (loaded.missing) log(`no configuration file ${options.configFile}: watching every sensor's own status`);
  const monitor = new SensorMonitor(loaded.config);
  const commands = new Set<Promise<void>>();
  let devices = new Set<string>();
  let problems = '';
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<void> = Promise.resolve();

  const runCommand = (command: string): void => {
    const run = runShellCommand(command, { timeoutMs: options.commandTimeoutMs, captureOutput: false }).then((result) => {
      const problem = commandProblem(result);
      if (problem !== undefined) log(`command "${command}": ${problem}`);
    });
    commands.add(run);
    void run.finally(() => commands.delete(run));
  };

  // A record naming a sensor that is not there: said once per load, with its line (it may
  // appear later — a volume assembled after start, a hot-plugged chip — so it stays configured).
  let unmatchedReported = false;
  let currentConfig = loaded.config;
  const reportUnmatched = (names: ReadonlySet<string>): void => {
    if (unmatchedReported) return;
    unmatchedReported = true;
    for (const [name, rule] of currentConfig.bySensor) {
      if (!names.has(name)) log(`${options.configFile}:${rule.line}: no sensor hw.sensors.${name}: it is watched if it appears`);
    }
  };

  const check = async (first: boolean): Promise<void> => {
    const reading = await readSensors(options.sources);
    reportUnmatched(new Set(reading.sensors.map((sensor) => `${sensor.device}.${sensor.type}${sensor.index}`)));
    const text = reading.problems.join('\n');
    if (text !== problems) {
      for (const problem of reading.problems) log(problem);
      problems = text;
    }
    const now = new Set(reading.sensors.map((sensor) => sensor.device));
    if (first) {
      log(`startup, system has ${reading.sensors.length} sensors`);
    } else {
      for (const device of now) if (!devices.has(device)) log(`${device} has appeared`);
      for (const device of devices) if (!now.has(device)) log(`${device} has disappeared`);
    }
    devices = now;
    const result = monitor.check(reading.sensors.filter((sensor) => sensor.invalid !== true));
    for (const report of result.reports) log(report.line);
    for (const command of result.commands) runCommand(command);
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      checking = check(false).catch((error: unknown) => log(`check failed: ${(error as Error).message}`)).finally(schedule);
    }, options.checkSeconds * 1000);
  };

  await check(true);
  schedule();
  return {
    reload(): void {
      try {
        const next = loadConfig(options.configFile);
        monitor.reload(next.config);
        currentConfig = next.config;
        unmatchedReported = false;
        log('configuration reloaded');
      } catch (error) {
        if (!(error instanceof SensorsdConfigError)) throw error;
        log(`configuration not reloaded: ${error.message}`);
      }
    },
    async close(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await checking;
      await Promise.all([...commands]);
    },
  };
}
