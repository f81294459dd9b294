// Test helpers: a network namespace of the test's own (deleted after the test,
// and at exit if the test dies first), and ifstated running inside it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repositoryRoot = resolve(import.meta.dirname, '..', '..', '..', '..');
export const ifstatedPath = join(repositoryRoot, 'bin', 'ifstated');

const live = new Set<string>();
process.on('exit', () => {
  for (const name of live) spawnSync('ip', ['netns', 'del', name]);
});

export function run(file: string, args: readonly string[]): string {
  const result = spawnSync(file, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')}: ${result.stderr}${result.error?.message ?? ''}`);
  return result.stdout;
}

export interface Namespace {
  name: string;
  directory: string;
  ip(...args: string[]): string;
  remove(): void;
}

/** A namespace with veth pairs: each [a, b] is created, both ends up (a's carrier follows b). */
export function createNamespace(label: string, pairs: readonly (readonly [string, string])[]): Namespace {
  const name = `ifstated-${label}-${process.pid}`;
  run('ip', ['netns', 'add', name]);
  live.add(name);
  const directory = mkdtempSync(join(tmpdir(), `ifstated-${label}-`));
  const namespace: Namespace = {
    name, directory,
    ip: (...args) => run('ip', ['-n', name, ...args]),
    remove(): void {
      spawnSync('ip', ['netns', 'del', name]);
      live.delete(name);
      rmSync(directory, { recursive: true, force: true });
    },
  };
  for (const [a, b] of pairs) {
    namespace.ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    namespace.ip('link', 'set', a, 'up');
    namespace.ip('link', 'set', b, 'up');
  }
  return namespace;
}

export async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function readLines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((line) => line !== '') : [];
}

export interface IfstatedProcess {
  child: ChildProcess;
  /** Everything it logged so far (stdout, -d), and stderr apart. */
  output(): string;
  errors(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<number | null>;
}

/** ifstated -d inside the namespace (ip netns exec gives it the namespace's /sys too). */
export async function startIfstated(namespace: Namespace, args: readonly string[]): Promise<IfstatedProcess> {
  const child = spawn('ip', ['netns', 'exec', namespace.name, process.execPath, ifstatedPath, '-d', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (data: Buffer) => { stdout += data.toString('utf8'); });
  child.stderr!.on('data', (data: Buffer) => { stderr += data.toString('utf8'); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const process_: IfstatedProcess = {
    child,
    output: () => stdout,
    errors: () => stderr,
    waitFor: (pattern, timeoutMs) => until(`${pattern} in ifstated's log:\n${stdout}${stderr}`, () => pattern.test(stdout), timeoutMs),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  await Promise.race([process_.waitFor(/ifstated: started\n/), exited.then((code) => { throw new Error(`ifstated exited (${code}): ${stderr}${stdout}`); })]);
  return process_;
}
