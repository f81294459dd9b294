// softraidd as a process: configuration, the daemon, and signals. SIGTERM
// and SIGINT shut down cleanly (exit 0); SIGHUP reloads the configuration
// file. Log lines go to stderr, one per line, for the journal.
import type { Controller, BioMessage } from '@openbsd38/bio/controller.js';
import { NbdServer } from '../nbd/index.js';
import { ConfigError, parseDaemonArgs, softraiddUsage } from './config.js';
import { startDaemon } from './daemon.js';
import { SocketInUseError } from '@openbsd38/bio/server/socket-guard.js';
import { StateFileError } from './state-file.js';
import { StateDirectoryInUseError } from './state-lock.js';
import { mdControllerIfPresent } from './md-bridge.js';

export type ControllerFactory = (log: (message: BioMessage) => void) => Controller;

export async function runSoftraidd(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, createController: ControllerFactory): Promise<number> {
  const log = (line: string): void => {
    process.stderr.write(`softraidd: ${line}\n`);
  };
  let config;
  try {
    config = parseDaemonArgs(argv, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`softraidd: ${error.message}\n${softraiddUsage}`);
    return 1;
  }
  if (config === 'help') {
    process.stdout.write(softraiddUsage);
    return 0;
  }
  const controller = createController((message) => log(`${message.type === 'info' ? '' : `${message.type}: `}${message.text}`));
  let daemon;
  try {
    const md = mdControllerIfPresent(config.sysfsRoot, env, config.stateDirectory);
    daemon = await startDaemon(config, { controller, ...(md === undefined ? {} : { md }), createNbdServer: (exports) => new NbdServer({ exports, onProtocolError: (reason) => log(`nbd: ${reason}`) }), log });
  } catch (error) {
    if (!(error instanceof SocketInUseError) && !(error instanceof StateFileError) && !(error instanceof StateDirectoryInUseError)
      && (error as NodeJS.ErrnoException).code === undefined) throw error;
    log((error as Error).message);
    await controller.shutdown();
    return 1;
  }
  const running = daemon;
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      log(`${signal}: shutting down`);
      running.close().then(() => resolve(0), (error: unknown) => {
        log(`shutdown failed: ${(error as Error).message}`);
        resolve(1);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => running.reload());
  });
}
