// Test harness: bio's control server in-process over a FakeController, on a
// socket in a fresh temporary directory — what a client of the common
// language (bioctl) is tested against without any real controller.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../server/control-server.js';
import { RequestHandler } from '../server/handler.js';
import { FakeController } from './fake-controller.js';

export interface FakeControlServer {
  directory: string;
  socketPath: string;
  controller: FakeController;
  logLines: string[];
  /** Creates a member file and tells the fake controller its size. */
  chunk(name: string, sizeBytes?: number): string;
  close(): Promise<void>;
}

export async function startFakeControlServer(): Promise<FakeControlServer> {
  const directory = mkdtempSync(join(tmpdir(), 'bio-test-'));
  mkdirSync(join(directory, 'run'), { mode: 0o700 });
  const socketPath = join(directory, 'run', 'control.sock');
  const controller = new FakeController();
  const logLines: string[] = [];
  const log = (line: string): void => { logLines.push(line); };
  const handler = new RequestHandler(controller, { afterChange: () => {}, clientsOf: () => 0, log });
  const server = new ControlServer(handler, controller.controllerName, log);
  await server.listen(socketPath);
  return {
    directory, socketPath, controller, logLines,
    chunk(name, sizeBytes = 1 << 20) {
      const path = join(directory, name);
      writeFileSync(path, '');
      controller.chunkSizes.set(path, sizeBytes);
      return path;
    },
    async close() {
      await server.close();
      await controller.shutdown();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
