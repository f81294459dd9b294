// Shared by the md scenarios that run inside user-mode Linux: bioctl's own
// code (runBioctl, as bin/bioctl runs it) with its output captured, polling
// with a deadline, and one "step: …" line per step for the host test.
import assert from 'node:assert/strict';
import { runBioctl } from '../../src/run.js';

export const deadlineMs = 60_000;

export interface Run { status: number; stdout: string; stderr: string }

/** Added to bioctl's environment (SOFTRAID_SOCKET for softraidd). */
const extraEnv: Record<string, string> = {};
export function setBioctlEnv(name: string, value: string): void {
  extraEnv[name] = value;
}

export async function bioctl(...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const status = await runBioctl(argv, { env: { ...process.env, ...extraEnv }, cwd: '/', stdout: (text) => { stdout += text; }, stderr: (text) => { stderr += text; } });
  return { status, stdout, stderr };
}

export async function ok(...argv: string[]): Promise<string> {
  const run = await bioctl(...argv);
  assert.equal(run.status, 0, `bioctl ${argv.join(' ')} exited ${run.status}: ${run.stderr}`);
  return run.stdout;
}

const startedMs = Date.now();
export function step(name: string, detail: string): void {
  process.stdout.write(`step: ${name}: ${detail.replace(/\n/g, ' | ')} [${Date.now() - startedMs} ms]\n`);
}

export interface JsonVolume {
  status: string;
  strip_size_bytes: number;
  layout: string | null;
  progress: { operation: string; percent: number } | null;
  extras: Record<string, unknown>;
  chunks: Array<{ name: string; status: string }>;
}

export async function json(device: string): Promise<Record<string, JsonVolume>> {
  return (JSON.parse(await ok('--json', device)) as { volumes: Record<string, JsonVolume> }).volumes;
}

/** Polls the volume's JSON (in-process: cheap) until `predicate`, keeping every table row seen. */
export async function waitFor(device: string, what: string, predicate: (volume: JsonVolume) => boolean, seen?: (row: string) => void): Promise<JsonVolume> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (seen !== undefined) seen((await ok(device)).split('\n')[1] ?? '');
    const volume = (await json(device))[device];
    assert.ok(volume !== undefined, `${device} vanished`);
    if (predicate(volume)) return volume;
    assert.ok(Date.now() < deadline, `${device}: no ${what} within ${deadlineMs} ms: ${JSON.stringify(volume)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Online with nothing running, and no member still coming in (md marks the array whole a moment before the member). */
export const idle = (volume: JsonVolume): boolean => volume.status === 'Online' && volume.progress === null
  && volume.chunks.every((chunk) => chunk.status !== 'Rebuild');
