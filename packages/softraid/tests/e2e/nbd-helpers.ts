// Shared by the tests/e2e/nbd-*.test.ts scenarios: an in-memory BlockDevice
// with fault injection, a server on a temporary Unix socket, and a runner
// for the real peers (qemu-io, nbdinfo, fio, nbdkit...) with a time limit.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockDevice, WriteOptions, WriteZeroesOptions } from '@openbsd38/bio/block-device.js';
import { type Errno } from '@openbsd38/libutil/errors.js';
import { VolumeIoError } from '../../src/engine/errors.js';
import { MapExportRegistry } from '../../src/nbd/export-registry.js';
import { NbdServer, type NbdServerOptions } from '../../src/nbd/server.js';

export class MemoryBlockDevice implements BlockDevice {
  readonly data: Uint8Array;
  readonly blockSizeMinBytes: number;
  readonly blockSizePreferredBytes: number;
  readonly requestBytesMax: number;
  readonly readOnly: boolean;
  readonly flushIsGlobal = true;
  /** When set, every read/write fails with this errno (a volume gone Offline). */
  failing: Errno | undefined;
  readonly counters = { reads: 0, writes: 0, flushes: 0, fuaWrites: 0, trims: 0, zeroes: 0 };
  /** Bytes written since the last flush are not durable. */
  unflushedWrites = 0;

  constructor(readonly sizeBytes: number, options: { blockSizeMinBytes?: number; blockSizePreferredBytes?: number; requestBytesMax?: number; readOnly?: boolean } = {}) {
    this.data = new Uint8Array(sizeBytes);
    this.blockSizeMinBytes = options.blockSizeMinBytes ?? 512;
    this.blockSizePreferredBytes = options.blockSizePreferredBytes ?? 4096;
    this.requestBytesMax = options.requestBytesMax ?? 32 * 1024 * 1024;
    this.readOnly = options.readOnly ?? false;
  }

  private check(offsetBytes: number, lengthBytes: number): void {
    if (this.failing !== undefined) throw new VolumeIoError(this.failing, 'injected failure');
    if (offsetBytes + lengthBytes > this.sizeBytes || offsetBytes % this.blockSizeMinBytes !== 0 || lengthBytes % this.blockSizeMinBytes !== 0) {
      throw new Error(`MemoryBlockDevice: bad range ${offsetBytes}+${lengthBytes}`);
    }
  }

  async read(offsetBytes: number, into: Uint8Array): Promise<void> {
    await Promise.resolve();
    this.check(offsetBytes, into.length);
    this.counters.reads++;
    into.set(this.data.subarray(offsetBytes, offsetBytes + into.length));
  }

  async write(offsetBytes: number, data: Uint8Array, options: WriteOptions): Promise<void> {
    await Promise.resolve();
    this.check(offsetBytes, data.length);
    if (this.readOnly) throw new Error('write on a read-only device reached the device');
    this.counters.writes++;
    if (options.fua) this.counters.fuaWrites++;
    else this.unflushedWrites++;
    this.data.set(data, offsetBytes);
  }

  async writeZeroes(offsetBytes: number, lengthBytes: number, _options: WriteZeroesOptions): Promise<void> {
    await Promise.resolve();
    this.check(offsetBytes, lengthBytes);
    this.counters.zeroes++;
    this.unflushedWrites++;
    this.data.fill(0, offsetBytes, offsetBytes + lengthBytes);
  }

  async trim(offsetBytes: number, lengthBytes: number): Promise<void> {
    await Promise.resolve();
    this.check(offsetBytes, lengthBytes);
    this.counters.trims++;
    this.data.fill(0, offsetBytes, offsetBytes + lengthBytes);
  }

  async flush(): Promise<void> {
    await Promise.resolve();
    if (this.failing !== undefined) throw new VolumeIoError(this.failing, 'injected failure');
    this.counters.flushes++;
    this.unflushedWrites = 0;
  }
}

export interface ServerFixture {
  dir: string;
  socketPath: string;
  server: NbdServer;
  registry: MapExportRegistry;
  protocolErrors: string[];
  cleanup(): Promise<void>;
}

export async function startServer(options: Partial<NbdServerOptions> = {}): Promise<ServerFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'nbd-e2e-'));
  const socketPath = join(dir, 'nbd.sock');
  const registry = new MapExportRegistry();
  const protocolErrors: string[] = [];
  const server = new NbdServer({ exports: registry, onProtocolError: (reason) => protocolErrors.push(reason), ...options });
  await server.listenUnix(socketPath);
  return {
    dir, socketPath, server, registry, protocolErrors,
    async cleanup() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a peer tool to completion; kills it (and fails) after `timeoutMs`. */
export function run(command: string, args: string[], options: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} timed out after ${options.timeoutMs ?? 60000} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 60000);
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    // A tool that exits before reading its input must not turn into an EPIPE on our side.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Starts a long-running peer (nbdkit, nbdfuse); the caller stops it with stopProcess. */
export function startProcess(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

export function nbdUnixUri(socketPath: string, exportName: string): string {
  return `nbd+unix:///${encodeURIComponent(exportName)}?socket=${encodeURIComponent(socketPath)}`;
}

/** Starts nbdkit on a Unix socket and waits until it accepts connections. */
export async function startNbdkit(socketPath: string, args: string[]): Promise<ChildProcess> {
  const child = startProcess('nbdkit', ['-f', '--exit-with-parent', '-U', socketPath, ...args]);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { existsSync } = await import('node:fs');
    if (existsSync(socketPath)) return child;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nbdkit ${args.join(' ')} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface FioJob {
  error: number;
  write: { io_bytes: number };
  read: { io_bytes: number };
}

/** fio's nbd engine with verify=crc32c against `uri`: its job report, after checking that fio succeeded. */
export async function fioVerify(uri: string, args: string[]): Promise<FioJob> {
  const result = await run('fio', [
    '--ioengine=nbd', `--uri=${uri}`, '--iodepth=16', '--verify=crc32c', '--verify_fatal=1', '--do_verify=1', '--verify_state_save=0',
    '--output-format=json', ...args,
  ], { timeoutMs: 60_000 });
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const [job] = (JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as { jobs: FioJob[] }).jobs;
  assert(job !== undefined);
  assert.equal(job.error, 0);
  return job;
}
