// ifstated's loop: the kernel's interface events and the test commands drive
// the state machine; its commands go to the queue. SIGHUP (reload) parses the
// file again: a good one replaces the machine (which starts over in its initial
// state, as ifstated.c's load_config), a bad one keeps the running machine and
// says why, line by line.
import { readFileSync } from 'node:fs';
import type { IfstatedConfig } from './config/ast.js';
import { IfstatedConfigError } from './config/errors.js';
import { parseIfstatedConfig, type ParseOptions } from './config/parser.js';
import { CommandQueue } from './commands/command-queue.js';
import { startExternalTest } from './commands/external-tests.js';
import { InterfaceTable, type InterfaceChange } from './kernel/interface-table.js';
import { interfaceExists, listInterfaces, startKernelMonitor } from './kernel/linux-interfaces.js';
import type { MonitorEvent } from './kernel/monitor-line.js';
import { LogLevel } from './machine/log-level.js';
import { IfstatedMachine, type MachineHost } from './machine/machine.js';

/** A file that cannot be read, as a one-line message. */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
}

const errnoText: Record<string, string> = { ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory' };

export function loadConfig(file: string, options: Omit<ParseOptions, 'interfaceExists'> & Partial<Pick<ParseOptions, 'interfaceExists'>> = {}): IfstatedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new ConfigFileError(`${file}: ${errnoText[code] ?? (error as Error).message}`);
  }
  return parseIfstatedConfig(text, file, { interfaceExists: (name) => interfaceExists(name), ...options });
}

export interface IfstatedOptions {
  configFile: string;
  macros: ReadonlyMap<string, string>;
  ignoreInitial: boolean;
  /** Each `run` command's time limit; undefined: none. */
  commandTimeoutMs: number | undefined;
  log(level: LogLevel, line: string): void;
  /** -v and -vv: the macros as parsed, at start and at each reload (as parse.y prints them). */
  onMacro?(name: string, value: string): void;
  onUnusedMacro?(name: string): void;
}

export interface RunningIfstated {
  reload(): void;
  close(): Promise<void>;
  /** The current state's name (for tests and the log). */
  readonly currentState: string | null;
}

function describe(change: InterfaceChange): string {
  return change.kind === 'link' ? `${change.name}: link ${change.state}` : `${change.name}: address ${change.present ? 'up' : 'down'}`;
}

export async function startIfstated(options: IfstatedOptions): Promise<RunningIfstated> {
  const { log } = options;
  const parse = (): IfstatedConfig => loadConfig(options.configFile, {
    commandLineMacros: options.macros, onMacro: options.onMacro, onUnusedMacro: options.onUnusedMacro,
  });
  let config = parse();
  const table = new InterfaceTable();
  const queue = new CommandQueue({ timeoutMs: options.commandTimeoutMs, log: (line) => log(LogLevel.normal, line) });
  const host: MachineHost = {
    log,
    run: (command) => queue.enqueue(command),
    startTest: (command, everySeconds, report) => startExternalTest(command, everySeconds, report, log),
  };
  let machine: IfstatedMachine | null = null;
  const dispatch = (changes: readonly InterfaceChange[]): void => {
    for (const change of changes) {
      log(LogLevel.debug, describe(change));
      if (change.kind === 'link') machine?.linkChanged(change.name, change.state);
      else machine?.addressChanged(change.name, change.present);
    }
  };
  // Until the listing is in the table, events wait: applied after it, in order, the last of
  // them leaves the table as the kernel is now (an event older than the listing changes nothing
  // for long: a newer one follows it).
  let early: MonitorEvent[] | null = [];
  const monitor = await startKernelMonitor({
    onEvent: (event) => {
      if (early !== null) early.push(event);
      else dispatch(table.apply(event));
    },
    onResync: (events) => dispatch(table.resync(events)),
    onProblem: (message) => log(LogLevel.quiet, message),
  });
  try {
    for (const event of await listInterfaces()) table.apply(event);
    for (const event of early) table.apply(event);
    early = null;
  } catch (error) {
    monitor.stop();
    throw error;
  }
  const begin = (): void => {
    machine = new IfstatedMachine(config, host, { ignoreInitial: options.ignoreInitial });
    machine.start(table.views());
  };
  begin();
  log(LogLevel.normal, 'started');
  return {
    get currentState() {
      return machine?.currentState ?? null;
    },
    reload(): void {
      log(LogLevel.normal, 'reloading config');
      try {
        config = parse();
      } catch (error) {
        if (!(error instanceof IfstatedConfigError) && !(error instanceof ConfigFileError)) throw error;
        for (const line of error.message.split('\n')) log(LogLevel.quiet, line);
        log(LogLevel.normal, 'unable to reload config');
        return;
      }
      machine?.stop();
      begin();
    },
    async close(): Promise<void> {
      monitor.stop();
      machine?.stop();
      const dropped = await queue.close();
      if (dropped > 0) log(LogLevel.normal, `${dropped} queued commands not run`);
    },
  };
}
