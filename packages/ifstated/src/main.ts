// ifstated(8): the flags, -n's check, the daemon's signals and its log.
import { MacroDefinitionError, parseArgs, UsageError, usageText } from './args.js';
import { IfstatedConfigError } from './config/errors.js';
import { ConfigFileError, loadConfig, startIfstated } from './daemon.js';
import { LogLevel } from './machine/log-level.js';

export interface IfstatedIo {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** A `run` command's default time limit (IFSTATED_COMMAND_TIMEOUT seconds overrides it; 0: none). */
export const commandTimeoutSecondsDefault = 60;

export async function runIfstated(argv: readonly string[], io: IfstatedIo): Promise<number> {
  let invocation;
  try {
    invocation = parseArgs(argv);
  } catch (error) {
    if (error instanceof MacroDefinitionError) {
      io.stderr(`ifstated: ${error.message}\n`);
      return 1;
    }
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`${error.message === '' ? '' : `ifstated: ${error.message}\n`}${usageText}`);
    return 1;
  }
  const problem = (error: unknown): number => {
    if (!(error instanceof IfstatedConfigError) && !(error instanceof ConfigFileError)) throw error;
    io.stderr(error instanceof ConfigFileError ? `ifstated: ${error.message}\n` : `${error.message}\n`);
    return 1;
  };
  // parse.y's -v and -vv output, with -n and when the daemon reads its file.
  const macroHooks = {
    onMacro: invocation.verbose ? (name: string, value: string) => io.stdout(`${name} = "${value}"\n`) : undefined,
    onUnusedMacro: invocation.logLevel >= LogLevel.debug ? (name: string) => io.stderr(`warning: macro '${name}' not used\n`) : undefined,
  };
  if (invocation.checkOnly) {
    try {
      loadConfig(invocation.configFile, { commandLineMacros: invocation.macros, ...macroHooks });
    } catch (error) {
      return problem(error);
    }
    io.stderr('ifstated: configuration OK\n');
    return 0;
  }
  const timeoutText = io.env.IFSTATED_COMMAND_TIMEOUT;
  const timeoutSeconds = timeoutText === undefined || timeoutText === '' ? commandTimeoutSecondsDefault : Number(timeoutText);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) {
    io.stderr(`ifstated: IFSTATED_COMMAND_TIMEOUT=${timeoutText}: not a number of seconds\n`);
    return 1;
  }
  // -d: the log on stdout, as OpenBSD's; otherwise on stderr, which a service manager keeps (no syslog socket from Node).
  const write = invocation.foreground ? io.stdout : io.stderr;
  const log = (level: LogLevel, line: string): void => {
    if (level <= invocation.logLevel) write(`ifstated: ${line}\n`);
  };
  // The handlers before the daemon starts: a signal during start-up (or a second one while
  // stopping) must not meet Node's default action, which kills the process on the spot.
  let running: Awaited<ReturnType<typeof startIfstated>> | null = null;
  process.on('SIGHUP', () => running?.reload());
  const stopRequested = new Promise<void>((resolve) => {
    process.on('SIGTERM', () => resolve());
    process.on('SIGINT', () => resolve());
  });
  let daemon;
  try {
    daemon = await startIfstated({
      configFile: invocation.configFile, macros: invocation.macros, ignoreInitial: invocation.ignoreInitial,
      commandTimeoutMs: timeoutSeconds === 0 ? undefined : timeoutSeconds * 1000, log, ...macroHooks,
    });
  } catch (error) {
    if (error instanceof IfstatedConfigError || error instanceof ConfigFileError) {
      problem(error);
      log(LogLevel.normal, 'unable to load config');
      return 1;
    }
    io.stderr(`ifstated: ${(error as Error).message}\n`);
    return 1;
  } finally {
    if (running === null && daemon === undefined) {
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      process.removeAllListeners('SIGHUP');
    }
  }
  running = daemon;
  await stopRequested;
  await daemon.close();
  log(LogLevel.normal, 'stopped');
  return 0;
}
