// Test harness: softraidd in-process over a FakeController, on sockets in a
// fresh temporary directory, and the checkout's bioctl run against it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../daemon.js';
import { FakeController } from '@openbsd38/bio/testing/fake-controller.js';
import { NbdServer } from '../../nbd/index.js';
import { execFile } from 'node:child_process';
import { bioctlLauncher } from './programs.js';
import type { DaemonConfig } from '../config.js';

export interface FakeDaemon {
  directory: string;
  socketPath: string;
  controller: FakeController;
  daemon: RunningDaemon;
  logLines: string[];
  /** Creates a member file of that size and tells the fake controller about it. */
  chunk(name: string, sizeBytes?: number): string;
  bioctl(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export async function startFakeDaemon(overrides: Partial<DaemonConfig> = {}): Promise<FakeDaemon> {
  const directory = mkdtempSync(join(tmpdir(), 'softraidd-test-'));
  const socketPath = join(directory, 'run', 'control.sock');
  const controller = new FakeController();
  const logLines: string[] = [];
  const config: DaemonConfig = {
    controlSocketPath: socketPath,
    nbd: { kind: 'unix', path: join(directory, 'run', 'nbd.sock') },
    stateDirectory: join(directory, 'state'),
    configFile: undefined,
    flagOverrides: {},
    scanPatterns: [],
    controlRequestTimeoutMs: 10_000,
    program: undefined,
    rebuildRateBytesPerSecondMin: 1024,
    rebuildRateBytesPerSecondMax: 1024 * 1024,
    http: null,
    httpCredentials: null,
    sysfsRoot: '/sys',
    ...overrides,
  };
  const daemon = await startDaemon(config, {
    controller,
    createNbdServer: (exports) => new NbdServer({ exports }),
    log: (line) => logLines.push(line),
  });
  return {
    directory, socketPath, controller, daemon, logLines,
    chunk(name, sizeBytes = 1 << 20) {
      const path = join(directory, name);
      writeFileSync(path, '');
      controller.chunkSizes.set(path, sizeBytes);
      return path;
    },
    bioctl(...argv) {
      // A child process, so the in-process daemon keeps answering meanwhile.
      return new Promise((resolve) => {
        execFile(process.execPath, [bioctlLauncher, ...argv], { cwd: directory, env: { ...process.env, SOFTRAID_SOCKET: socketPath }, encoding: 'utf8' },
          (error, stdout, stderr) => resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }));
      });
    },
    async close() {
      await daemon.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
