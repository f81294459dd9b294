// Shared by the bioctl-* and softraidd-* end-to-end tests: the checkout's
// ./bin/softraidd as a child process on sockets in a temporary directory, and
// its ./bin/bioctl run against it. Needs `npm run build` first (npm test does it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { repositoryRoot } from './programs.js';

export { repositoryRoot };
export const bioctlPath = join(repositoryRoot, 'bin', 'bioctl');
export const softraiddPath = join(repositoryRoot, 'bin', 'softraidd');
export const readyTimeoutMilliseconds = 15_000;

export interface Workspace {
  directory: string;
  socketPath: string;
  nbdPath: string;
  stateDirectory: string;
  env: Record<string, string>;
  /** nbd+unix URI of a volume's export. */
  nbdUri(device: string): string;
  remove(): void;
}

export function workspace(prefix: string): Workspace {
  const directory = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const socketPath = join(directory, 'run', 'control.sock');
  const nbdPath = join(directory, 'run', 'nbd.sock');
  const stateDirectory = join(directory, 'state');
  return {
    directory, socketPath, nbdPath, stateDirectory,
    env: { SOFTRAID_SOCKET: socketPath, SOFTRAID_NBD: nbdPath, SOFTRAID_STATE_DIR: stateDirectory, SOFTRAID_CONFIG: '/dev/null', SOFTRAID_HTTP: '127.0.0.1:0' },
    nbdUri: (device) => `nbd+unix:///${device}?socket=${nbdPath}`,
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}

export interface Daemon {
  child: ChildProcess;
  log(): string;
  /** Waits for a log line matching `pattern` (the daemon's output is read only while the test's event loop runs). */
  waitForLog(pattern: RegExp, timeoutMilliseconds?: number): Promise<void>;
  /** SIGTERM and wait: resolves to the exit code. */
  stop(): Promise<number | null>;
}

export async function startSoftraidd(space: Workspace, args: string[] = []): Promise<Daemon> {
  const child = spawn(process.execPath, [softraiddPath, ...args], { env: { ...process.env, ...space.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (bytes: Buffer) => { output += bytes.toString(); });
  child.stderr!.on('data', (bytes: Buffer) => { output += bytes.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`softraidd not ready:\n${output}`)), readyTimeoutMilliseconds);
    const check = (): void => {
      if (output.includes('softraidd: ready:')) { clearTimeout(timer); resolve(); }
    };
    child.stderr!.on('data', check);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`softraidd exited with ${code}:\n${output}`)); });
  });
  return {
    child,
    log: () => output,
    waitForLog: async (pattern, timeoutMilliseconds = 5000) => {
      const deadline = Date.now() + timeoutMilliseconds;
      while (!pattern.test(output)) {
        if (Date.now() >= deadline) throw new Error(`softraidd never logged ${pattern}:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * bioctl for another user: a copy of the compiled program in a directory
 * anyone can read, since the checkout may lie where only root can (/root,
 * a mode-0700 folder), and that user could not even load bioctl from it.
 */
let worldReadableBioctl: string | undefined;
function bioctlForAnyUser(): string {
  if (worldReadableBioctl === undefined) {
    const copy = mkdtempSync(join(tmpdir(), 'bioctl-copy-'));
    // bioctl's package and the packages it depends on, laid out as npm installs them.
    for (const name of ['bioctl', 'bio', 'libutil']) {
      const from = join(repositoryRoot, 'packages', name);
      const to = join(copy, 'node_modules', '@openbsd38', name);
      cpSync(join(from, 'package.json'), join(to, 'package.json'));
      cpSync(join(from, 'dist', 'src'), join(to, 'dist', 'src'), { recursive: true });
      if (name === 'bioctl') cpSync(join(from, 'bin'), join(to, 'bin'), { recursive: true });
    }
    spawnSync('chmod', ['-R', 'a+rX', copy]);
    worldReadableBioctl = join(copy, 'node_modules', '@openbsd38', 'bioctl', 'bin', 'bioctl');
    process.once('exit', () => rmSync(copy, { recursive: true, force: true }));
  }
  return worldReadableBioctl;
}

export function bioctl(space: Workspace, args: string[], options: { uid?: string; input?: string } = {}): Run {
  const command = options.uid === undefined ? [process.execPath, bioctlPath, ...args]
    : ['setpriv', `--reuid=${options.uid}`, '--regid=nogroup', '--clear-groups', process.execPath, bioctlForAnyUser(), ...args];
  const result = spawnSync(command[0]!, command.slice(1), {
    env: { ...process.env, ...space.env }, cwd: space.directory, encoding: 'utf8', ...(options.input === undefined ? {} : { input: options.input }),
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.error?.message}`);
  return result.stdout;
}

/** Polls bioctl until `predicate` holds on its table, or fails after `timeoutMilliseconds`. */
export async function waitForTable(space: Workspace, device: string, predicate: (table: string) => boolean, timeoutMilliseconds: number): Promise<string> {
  const deadline = Date.now() + timeoutMilliseconds;
  let table = '';
  while (Date.now() < deadline) {
    table = bioctl(space, [device]).stdout;
    if (predicate(table)) return table;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting; last table:\n${table}`);
}
