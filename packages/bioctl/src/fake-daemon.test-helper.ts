// bioctl against bio's control server over a fake controller, in-process:
// runBioctl() with its output captured.
import { startFakeControlServer, type FakeControlServer } from '@openbsd38/bio/testing/control-harness.js';
import { runBioctl } from './run.js';

export interface BioctlResult { status: number; stdout: string; stderr: string }

export interface FakeDaemon extends FakeControlServer {
  bioctl(...argv: string[]): Promise<BioctlResult>;
}

export async function startFakeDaemon(): Promise<FakeDaemon> {
  const server = await startFakeControlServer();
  return {
    ...server,
    async bioctl(...argv) {
      let stdout = '';
      let stderr = '';
      const status = await runBioctl(argv, {
        env: { SOFTRAID_SOCKET: server.socketPath }, cwd: server.directory,
        stdout: (text) => { stdout += text; },
        stderr: (text) => { stderr += text; },
      });
      return { status, stdout, stderr };
    },
  };
}
