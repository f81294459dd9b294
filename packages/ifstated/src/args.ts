// ifstated's command line, as OpenBSD's: ifstated [-dhinv] [-D macro=value] [-f file]
import { getopt } from '@openbsd38/libutil/getopt.js';
import { parseMacroDefinition } from './config/parser.js';
import { LogLevel } from './machine/log-level.js';

export const defaultConfigFile = '/etc/ifstated.conf';
export const usageText = 'usage: ifstated [-dhinv] [-D macro=value] [-f file]\n';

export interface Invocation {
  foreground: boolean;
  macros: Map<string, string>;
  configFile: string;
  checkOnly: boolean;
  ignoreInitial: boolean;
  logLevel: LogLevel;
  /** -v given (at least once): -n prints the macros it defines. */
  verbose: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** -D without '=': said alone, without the usage (OpenBSD's errx). */
export class MacroDefinitionError extends Error {
  override name = 'MacroDefinitionError';
}

export function parseArgs(argv: readonly string[]): Invocation {
  const parsed = getopt(argv, 'dD:f:hniv');
  if (!parsed.ok) throw new UsageError(parsed.diagnostic);
  const invocation: Invocation = {
    foreground: false, macros: new Map(), configFile: defaultConfigFile, checkOnly: false, ignoreInitial: false, logLevel: LogLevel.normal, verbose: false,
  };
  for (const option of parsed.options) {
    switch (option.name) {
      case 'd': invocation.foreground = true; break;
      case 'D': {
        const definition = parseMacroDefinition(option.value ?? '');
        if (definition === null) throw new MacroDefinitionError(`could not parse macro definition ${option.value ?? ''}`);
        invocation.macros.set(definition.name, definition.value);
        break;
      }
      case 'f': invocation.configFile = option.value ?? ''; break;
      case 'h': throw new UsageError('');
      case 'n': invocation.checkOnly = true; break;
      case 'i': invocation.ignoreInitial = true; break;
      case 'v':
        invocation.logLevel = invocation.verbose ? LogLevel.debug : LogLevel.verbose;
        invocation.verbose = true;
        break;
    }
  }
  if (parsed.operands.length > 0) throw new UsageError('');
  return invocation;
}
