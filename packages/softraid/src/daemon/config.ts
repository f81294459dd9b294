// softraidd's configuration: flags, then environment, then the optional
// configuration file (re-read on SIGHUP), then defaults.
import { readFileSync } from 'node:fs';
import { getopt } from '@openbsd38/libutil/getopt.js';
import { defaultControlSocketPath, requestTimeoutMsDefault } from '@openbsd38/bio/control/protocol.js';
import { checkListenAccess, HttpAccessError, loadCredentials, type HttpCredentials } from './http/access.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type NbdListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Settings that SIGHUP may change. */
export interface ReloadableSettings {
  /** mdadm-style PROGRAM run as `PROGRAM event device [member]`; undefined for none. */
  program: string | undefined;
  rebuildRateBytesPerSecondMin: number;
  rebuildRateBytesPerSecondMax: number;
}

export interface DaemonConfig extends ReloadableSettings {
  controlSocketPath: string;
  nbd: NbdListenAddress;
  stateDirectory: string;
  configFile: string | undefined;
  /** Flags given on the command line win over the file at every reload. */
  flagOverrides: Partial<ReloadableSettings>;
  /**
   * --scan PATTERN (repeatable): members to examine at start, shell-style globs
   * such as /dev/loop* or NBD URIs; every volume found is assembled (softraid's
   * boot-time assembly), noauto volumes excepted.
   */
  scanPatterns: string[];
  /** SOFTRAID_CONTROL_TIMEOUT: a control connection that sends no request for this long is closed. */
  controlRequestTimeoutMs: number;
  /** --http / SOFTRAID_HTTP: where the status page and /metrics are served; null: off. */
  http: HttpListenAddress | null;
  /** --http-auth / SOFTRAID_HTTP_AUTH: the credentials every HTTP request must carry; null: none (loopback only). */
  httpCredentials: HttpCredentials | null;
  /** SOFTRAID_SYSFS_ROOT: where hwmon and thermal zones are read for the sensor metrics. */
  sysfsRoot: string;
}

export interface HttpListenAddress {
  host: string;
  port: number;
}

/** Loopback only, unless told otherwise (and then with credentials): the page says which disks failed. */
export const defaultHttpAddress = '127.0.0.1:9797';

export const defaultNbdSocketPath = '/run/softraid/nbd.sock';
export const defaultStateDirectory = '/var/lib/softraid';
export const defaultConfigFile = '/etc/softraid/softraidd.conf';
/** md's defaults: speed_limit_min 1000 KB/s, speed_limit_max 200000 KB/s. */
export const defaultRebuildRateBytesPerSecondMin = 1000 * 1024;
export const defaultRebuildRateBytesPerSecondMax = 200_000 * 1024;
export const configFileBytesMax = 64 * 1024;

export const softraiddUsage =
  'usage: softraidd [--socket path] [--nbd path | host:port] [--state-dir dir]\n' +
  '\t[--config file] [--program path] [--rebuild-rate-min rate] [--rebuild-rate-max rate]\n' +
  '\t[--http host:port | off] [--http-auth file] [--scan pattern ...]\n';

/** host:port ([v6]:port), port 0 for any free one; "off" for no listener. */
export function parseHttpAddress(text: string): HttpListenAddress | null {
  if (text === 'off') return null;
  const match = /^(\[[^\]]+\]|[^:/]+):([0-9]{1,5})$/.exec(text);
  if (!match || Number(match[2]) > 65535) throw new ConfigError(`invalid HTTP address ${text}: host:port, or off`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

/** "10M", "512k", "1048576": bytes per second. */
export function parseRate(text: string, what: string): number {
  const match = /^([0-9]+)([kKmMgG]?)$/.exec(text.trim());
  if (!match) throw new ConfigError(`invalid ${what}: ${text}`);
  const multiplier = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase()] ?? 1;
  const value = Number(match[1]) * multiplier;
  if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`invalid ${what}: ${text}`);
  return value;
}

/** A path means a Unix socket; host:port (or [v6]:port) means TCP. */
export function parseNbdAddress(text: string): NbdListenAddress {
  if (text.startsWith('/') || text.startsWith('.')) return { kind: 'unix', path: text };
  const match = /^(\[[^\]]+\]|[^:]+):([0-9]{1,5})$/.exec(text);
  if (!match || Number(match[2]) > 65535) throw new ConfigError(`invalid NBD address ${text}: a socket path or host:port`);
  return { kind: 'tcp', host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

/** The file: `key = value` lines, `#` comments; keys program, rebuild-rate-min, rebuild-rate-max. */
export function parseConfigFile(text: string, path: string): Partial<ReloadableSettings> {
  const settings: Partial<ReloadableSettings> = {};
  for (const [index, rawLine] of text.split('\n').entries()) {
    const line = rawLine.replace(/#.*$/, '').trim();
    if (line.length === 0) continue;
    const match = /^([a-z-]+)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new ConfigError(`${path}:${index + 1}: expected key = value`);
    const [, key, value] = match as unknown as [string, string, string];
    switch (key) {
      case 'program': settings.program = value.length === 0 ? undefined : value; break;
      case 'rebuild-rate-min': settings.rebuildRateBytesPerSecondMin = parseRate(value, 'rebuild-rate-min'); break;
      case 'rebuild-rate-max': settings.rebuildRateBytesPerSecondMax = parseRate(value, 'rebuild-rate-max'); break;
      default: throw new ConfigError(`${path}:${index + 1}: unknown key ${key}`);
    }
  }
  return settings;
}

/** Reads the file (a missing default file is no error) and applies flags over it. */
export function loadReloadable(configFile: string | undefined, explicitFile: boolean, flags: Partial<ReloadableSettings>): ReloadableSettings {
  let fromFile: Partial<ReloadableSettings> = {};
  if (configFile !== undefined) {
    let text: string | undefined;
    try {
      text = readFileSync(configFile, 'utf8');
    } catch (error) {
      if (explicitFile || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`${configFile}: ${(error as Error).message}`);
    }
    if (text !== undefined) {
      if (text.length > configFileBytesMax) throw new ConfigError(`${configFile}: larger than ${configFileBytesMax} bytes`);
      fromFile = parseConfigFile(text, configFile);
    }
  }
  const merged: ReloadableSettings = {
    program: undefined,
    rebuildRateBytesPerSecondMin: defaultRebuildRateBytesPerSecondMin,
    rebuildRateBytesPerSecondMax: defaultRebuildRateBytesPerSecondMax,
    ...fromFile,
    ...flags,
  };
  if (merged.rebuildRateBytesPerSecondMin > merged.rebuildRateBytesPerSecondMax) {
    throw new ConfigError(`rebuild-rate-min (${merged.rebuildRateBytesPerSecondMin}) exceeds rebuild-rate-max (${merged.rebuildRateBytesPerSecondMax})`);
  }
  return merged;
}

export function parseDaemonArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): DaemonConfig | 'help' {
  const longOptions = ['socket', 'nbd', 'state-dir', 'config', 'program', 'rebuild-rate-min', 'rebuild-rate-max', 'scan', 'http', 'http-auth'].map((name) => ({ name, hasArgument: true }));
  const parsed = getopt(argv, 'h', [...longOptions, { name: 'help', hasArgument: false }]);
  if (!parsed.ok) throw new ConfigError(parsed.diagnostic);
  if (parsed.operands.length > 0) throw new ConfigError(`unexpected argument ${parsed.operands[0]}`);
  const flags = new Map(parsed.options.map((option) => [option.name, option.value ?? '']));
  if (flags.has('h') || flags.has('help')) return 'help';
  const flagOverrides: Partial<ReloadableSettings> = {};
  if (flags.has('program')) flagOverrides.program = flags.get('program');
  if (flags.has('rebuild-rate-min')) flagOverrides.rebuildRateBytesPerSecondMin = parseRate(flags.get('rebuild-rate-min')!, 'rebuild-rate-min');
  if (flags.has('rebuild-rate-max')) flagOverrides.rebuildRateBytesPerSecondMax = parseRate(flags.get('rebuild-rate-max')!, 'rebuild-rate-max');
  const http = parseHttpAddress(nonEmptyFlag(flags, 'http') ?? (env.SOFTRAID_HTTP || undefined) ?? defaultHttpAddress);
  const httpAuthFile = nonEmptyFlag(flags, 'http-auth') ?? (env.SOFTRAID_HTTP_AUTH || undefined);
  let httpCredentials: HttpCredentials | null = null;
  try {
    if (httpAuthFile !== undefined) httpCredentials = loadCredentials(httpAuthFile);
    if (http !== null) checkListenAccess(http.host, http.port, httpCredentials);
  } catch (error) {
    if (error instanceof HttpAccessError) throw new ConfigError(error.message);
    throw error;
  }
  const explicitFile = flags.get('config') ?? env.SOFTRAID_CONFIG;
  const configFile = explicitFile ?? defaultConfigFile;
  return {
    controlSocketPath: nonEmptyFlag(flags, 'socket') ?? (env.SOFTRAID_SOCKET || undefined) ?? defaultControlSocketPath,
    nbd: parseNbdAddress(nonEmptyFlag(flags, 'nbd') ?? (env.SOFTRAID_NBD || undefined) ?? defaultNbdSocketPath),
    stateDirectory: nonEmptyFlag(flags, 'state-dir') ?? (env.SOFTRAID_STATE_DIR || undefined) ?? defaultStateDirectory,
    configFile,
    flagOverrides,
    scanPatterns: parsed.options.filter((option) => option.name === 'scan').map((option) => option.value ?? ''),
    controlRequestTimeoutMs: parseControlTimeout(env.SOFTRAID_CONTROL_TIMEOUT),
    http,
    httpCredentials,
    sysfsRoot: env.SOFTRAID_SYSFS_ROOT || '/sys',
    ...loadReloadable(configFile, explicitFile !== undefined, flagOverrides),
  };
}

/** SOFTRAID_CONTROL_TIMEOUT: whole seconds, 1 to 3600; unset or empty: the default. */
function parseControlTimeout(text: string | undefined): number {
  if (text === undefined || text === '') return requestTimeoutMsDefault;
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > 3600) {
    throw new ConfigError(`SOFTRAID_CONTROL_TIMEOUT must be whole seconds from 1 to 3600, not '${text}'`);
  }
  return Number(text) * 1000;
}

/** A flag's value; an empty one is an error (an empty environment variable is as good as unset instead). */
function nonEmptyFlag(flags: ReadonlyMap<string, string>, name: string): string | undefined {
  const value = flags.get(name);
  if (value === '') throw new ConfigError(`--${name} needs a value`);
  return value;
}
