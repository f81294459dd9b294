// Volumes whose members have latency, as real disks do: what tmpfs hides
// (how many member I/Os a volume keeps in flight). Each member is a file on
// an nbdfuse mount of an nbdkit memory disk behind the delay filter, so
// softraid reaches it through FileChunk like any file or block device; the
// baseline is nbdkit's file plugin serving one such file, so that both go
// through the same FUSE path (which itself bounds each file's I/O in flight,
// and serializes its writes). Spawned by
// `npm run bench -- --latency-ms N`, or by hand:
//   node dist/bench/latency.js --latency-ms 2 [--levels raid0,raid5] [--runtime 3]
// Prints a markdown table. The ratio is against ONE slow disk: a RAID 0 of
// four keeping all four busy approaches 4x on random I/O.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { createInterface } from 'node:readline';

const execFileAsync = promisify(execFile);
const distDir = fileURLToPath(new URL('.', import.meta.url));
const MiB = 1024 * 1024;
const memberCount = 4;
const startTimeoutMs = 15_000;

const { values } = parseArgs({
  options: {
    'latency-ms': { type: 'string', default: '2' },
    levels: { type: 'string', default: 'raid0,raid5' },
    runtime: { type: 'string', default: '3' },
    'member-mib': { type: 'string', default: '64' },
    dir: { type: 'string' },
  },
  strict: true,
});
const latencyMs = Number(values['latency-ms']);
const runtimeSeconds = Number(values.runtime);
const memberMiB = Number(values['member-mib']);
const levels = values.levels!.split(',');
if (!(latencyMs > 0) || !(runtimeSeconds > 0) || !(memberMiB >= 8) || levels.some((level) => level !== 'raid0' && level !== 'raid5')) {
  throw new Error('latency: --latency-ms and --runtime must be positive, --member-mib at least 8, --levels raid0 and/or raid5');
}
const root = values.dir ?? `/dev/shm/softraid-latency-${process.pid}`;

// Random I/O only: sequential reads of these files measure the page cache
// of the FUSE mounts (a 64 MiB baseline file is cached after one pass, four
// members take four), not how many I/Os a volume keeps in flight.
const workloads = [
  { name: 'randread', rw: 'randread', blockSize: '4k', iodepth: 32 },
  { name: 'randwrite', rw: 'randwrite', blockSize: '4k', iodepth: 32 },
] as const;

/** What runs, by the order it must stop in: volumes (they write metadata through the mounts), mounts, disks. */
const running = { volumes: [] as ChildProcess[], mounts: [] as string[], disks: [] as ChildProcess[] };

function start(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(what: string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`latency: ${what} not ready within ${startTimeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An nbdkit memory disk with `latencyMs` on every read and write, on a Unix socket. */
async function slowDisk(socketPath: string, sizeMiB: number): Promise<string> {
  running.disks.push(start('nbdkit', ['--foreground', '--exit-with-parent', '--unix', socketPath, '--filter=delay', 'memory', `size=${sizeMiB}M`,
    `rdelay=${latencyMs}ms`, `wdelay=${latencyMs}ms`]));
  await waitFor(socketPath, () => stat(socketPath).then((info) => info.isSocket(), () => false));
  return `nbd+unix:///?socket=${socketPath}`;
}

/** The slow disk as a file (nbdfuse): what FileChunk opens. */
async function slowFile(directory: string, index: number): Promise<string> {
  const uri = await slowDisk(join(directory, `disk${index}.sock`), memberMiB);
  const mountpoint = join(directory, `mount${index}`);
  await mkdir(mountpoint, { recursive: true });
  start('nbdfuse', [mountpoint, uri]);
  running.mounts.push(mountpoint);
  const file = join(mountpoint, 'nbd');
  await waitFor(file, () => stat(file).then((info) => info.size === memberMiB * MiB, () => false));
  return file;
}

async function fio(uri: string, workload: (typeof workloads)[number]): Promise<{ iops: number; mibPerSecond: number }> {
  const output = join(root, 'fio.json');
  await execFileAsync('fio', ['--name=latency', '--ioengine=nbd', `--uri=${uri}`, `--rw=${workload.rw}`, `--bs=${workload.blockSize}`,
    `--iodepth=${workload.iodepth}`, '--time_based', `--runtime=${runtimeSeconds}`, '--norandommap', '--randrepeat=0',
    '--output-format=json', `--output=${output}`], { timeout: (runtimeSeconds + 60) * 1000 });
  const job = (JSON.parse(await readFile(output, 'utf8')) as { jobs: { read: { iops: number; bw_bytes: number }; write: { iops: number; bw_bytes: number } }[] }).jobs[0]!;
  return { iops: job.read.iops + job.write.iops, mibPerSecond: (job.read.bw_bytes + job.write.bw_bytes) / MiB };
}

async function serveVolume(level: string, files: string[], socketPath: string): Promise<string> {
  // The thread pool bin/softraidd gives the daemon, unless the environment says otherwise.
  const env = { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '32' };
  const child = start(process.execPath, [join(distDir, 'serve-volume.js'), '--level', level, '--socket', socketPath,
    ...files.flatMap((file) => ['--chunk', file])], env);
  running.volumes.push(child);
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('latency: serve-volume did not start')), startTimeoutMs);
    lines.on('line', (line) => {
      if (line.includes('"ready":true')) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`latency: serve-volume exited with ${code}`)); });
  });
  return `nbd+unix:///sd0?socket=${socketPath}`;
}

async function cleanup(): Promise<void> {
  await Promise.all(running.volumes.map(stop));
  // nbdfuse exits once its mount is gone.
  for (const mountpoint of running.mounts) await execFileAsync('fusermount3', ['-u', mountpoint]).catch(() => {});
  await Promise.all(running.disks.map(stop));
  await rm(root, { recursive: true, force: true }).catch(() => {});
}

const rows: string[] = [];
try {
  await mkdir(root, { recursive: true });
  const baselineDirectory = join(root, 'baseline');
  await mkdir(baselineDirectory, { recursive: true });
  const baselineFile = await slowFile(baselineDirectory, 0);
  const baselineSocket = join(baselineDirectory, 'file.sock');
  const fileServer = start('nbdkit', ['--foreground', '--exit-with-parent', '--unix', baselineSocket, 'file', `file=${baselineFile}`]);
  running.volumes.push(fileServer);
  await waitFor(baselineSocket, () => stat(baselineSocket).then((info) => info.isSocket(), () => false));
  const baseline = `nbd+unix:///?socket=${baselineSocket}`;
  const alone: Record<string, { iops: number; mibPerSecond: number }> = {};
  for (const workload of workloads) alone[workload.name] = await fio(baseline, workload);
  await stop(fileServer);
  for (const level of levels) {
    const directory = join(root, level);
    await mkdir(directory, { recursive: true });
    const files: string[] = [];
    for (let index = 0; index < memberCount; index++) files.push(await slowFile(directory, index));
    const uri = await serveVolume(level, files, join(directory, 'volume.sock'));
    for (const workload of workloads) {
      const result = await fio(uri, workload);
      const one = alone[workload.name]!;
      rows.push(`| ${level} (${memberCount}) | ${workload.name} | ${result.iops.toFixed(0)} | ${result.mibPerSecond.toFixed(1)} `
        + `| ${one.iops.toFixed(0)} | ${one.mibPerSecond.toFixed(1)} | ${(result.iops / one.iops).toFixed(2)}× |`);
    }
  }
} finally {
  await cleanup();
}
console.log(`## Members with ${latencyMs} ms of latency (nbdkit memory + delay filter, each a file through nbdfuse)\n`);
console.log('Baseline: nbdkit\'s file plugin serving one such file. Ratio: softraid over four files ÷ one file.\n');
console.log(`UV_THREADPOOL_SIZE of the serving process: ${process.env.UV_THREADPOOL_SIZE ?? '32'}; ${runtimeSeconds} s per run\n`);
console.log('| volume | workload | softraid IOPS | MiB/s | nbdkit, one file IOPS | MiB/s | × one file |');
console.log('|---|---|--:|--:|--:|--:|--:|');
for (const row of rows) console.log(row);
