// npm run bench: softraid's volumes against nbdkit's file plugin, in one run
// on one machine (issue 6). Everything lives on a tmpfs; each server is a
// process of its own (bench/serve-volume.ts for ours) so its RSS and CPU are
// its own; fio's nbd engine drives both, the repetitions interleaved
// (ours, nbdkit; then nbdkit, ours; ...) so load drift hits both alike.
// Then the parity kernels next to memcpy, and rebuild throughput.
// Options: npm run bench -- --help
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, readdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { formatProfileSummary, readProfileSummary } from './cpuprofile-summary.js';
import { residentBytes } from './volume-setup.js';
import { PerfRecording, drawRecording, removeSymbolMap } from './flame/perf-record.js';

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;
const tmpfsMagic = 0x01021994;
const serverStartTimeoutMs = 30_000;
const serverStopTimeoutMs = 15_000;
const clockTicksPerSecond = 100;

// ---- what is measured ----

interface ConfigSpec {
  /** none: no volume, the NBD layer alone over a device that stores nothing (bench/null-device.ts). */
  level: 'raid0' | 'raid1' | 'raid5' | 'raid6' | 'crypto' | 'raid1c' | 'none';
  memberCount: number;
  /** Chunk indexes left out after creation: the volume runs degraded. */
  missing: number[];
}

const configSpecs: Record<string, ConfigSpec> = {
  raid0: { level: 'raid0', memberCount: 4, missing: [] },
  raid1: { level: 'raid1', memberCount: 2, missing: [] },
  raid5: { level: 'raid5', memberCount: 4, missing: [] },
  'raid5-degraded': { level: 'raid5', memberCount: 4, missing: [3] },
  // Four data strips per row, as the P+Q row of bench/parity.ts; degraded: two members pulled, so each
  // row loses two of data, P and Q (the layout rotates: every pair of kinds occurs).
  raid6: { level: 'raid6', memberCount: 6, missing: [] },
  'raid6-degraded': { level: 'raid6', memberCount: 6, missing: [4, 5] },
  // Encrypted: AES-XTS-256 of every sector in softraidd's process, against nbdkit's file plugin storing plaintext.
  crypto: { level: 'crypto', memberCount: 1, missing: [] },
  raid1c: { level: 'raid1c', memberCount: 2, missing: [] },
  // The ceiling: what this process model serves with no member I/O at all, against nbdkit-file.
  'nbd-only': { level: 'none', memberCount: 0, missing: [] },
};
/** The no-op device's size: as large as RAID 0's volume. */
const nbdOnlyMemberCount = 4;

interface WorkloadSpec {
  rw: 'read' | 'write' | 'randread' | 'randwrite';
  blockSize: string;
  iodepth: number;
}

const workloadSpecs: Record<string, WorkloadSpec> = {
  seqread: { rw: 'read', blockSize: '1M', iodepth: 16 },
  seqwrite: { rw: 'write', blockSize: '1M', iodepth: 16 },
  randread: { rw: 'randread', blockSize: '4k', iodepth: 32 },
  randwrite: { rw: 'randwrite', blockSize: '4k', iodepth: 32 },
};

/** The RAID 6 issue's targets (healthy volume; none stated for the degraded one). */
const raid6TargetRatios: Record<string, number> = { seqread: 0.8, seqwrite: 0.5 };
/** The same issue's targets for CRYPTO (sequential read and write); it names none for RAID 1C, shown beside it. */
const cryptoTargetRatios: Record<string, number> = { seqread: 0.5, seqwrite: 0.5 };

/** Issue 6's targets: the minimum ratio to nbdkit-file (throughput, which is IOPS × block size). */
function targetRatio(config: string, workload: string): number | null {
  const level = configSpecs[config]!.level;
  if (level === 'none') return null;
  const degraded = configSpecs[config]!.missing.length > 0;
  if (level === 'raid6') return degraded ? null : raid6TargetRatios[workload] ?? null;
  if (level === 'crypto') return cryptoTargetRatios[workload] ?? null;
  if (level === 'raid1c') return null;
  if (degraded) return workload === 'seqread' ? 0.6 : null;
  if (workload === 'randread') return 0.8;
  if (workload === 'seqread') return 1.0;
  if (workload === 'seqwrite') return level === 'raid5' ? 0.8 : 1.0;
  return null;
}

const xorTargetRatio = 0.7;
/** P+Q of four data strips, in bytes of one strip per second, against memcpy of one strip. */
const raid6SyndromeTargetRatio = 0.25;
const rebuildTargetBytesPerSecond = 1e9;
const rebuildLimitTolerance = 0.1;
const rssTargetBytes = 256 * MiB;

// ---- options ----

const usage = `usage: npm run bench -- [options]
  --quick                  2 s runs, 1 repetition, 256 MiB rebuild member (about a minute)
  --configs LIST           comma-separated: ${Object.keys(configSpecs).join(',')} (default all)
  --workloads LIST         comma-separated: ${Object.keys(workloadSpecs).join(',')} (default all)
  --runtime SECONDS        fio time per run (default 4)
  --reps N                 repetitions per server, interleaved (default 3)
  --warmup SECONDS         unrecorded sequential write per server before a config's runs (default 1; 0 skips)
  --member-mib N           member file size for the I/O configurations (default 256)
  --rebuild-mib N          member size for the rebuild measurement (default 1024; 0 skips)
  --rebuild-levels LIST    raid1,raid5 (default both)
  --rebuild-limit-mbps N   rate limit for the limited rebuild, 10^6 B/s (default 100)
  --latency-ms N           also run volumes over members with N ms of latency (bench/latency.ts;
                           needs nbdfuse and FUSE; off by default)
  --no-parity              skip the parity kernels
  --no-io                  skip the fio runs
  --cpu-prof DIR           profile each serving process (node --cpu-prof) and summarize it
  --perf DIR               perf record both servers during each workload's first run and draw
                           flame graphs (DIR/CONFIG-WORKLOAD-SERVER.svg; needs perf)
  --dir PATH               working directory on a tmpfs (default /dev/shm/softraid-bench-PID)
  --json FILE              write every measurement as JSON
`;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    configs: { type: 'string' },
    workloads: { type: 'string' },
    runtime: { type: 'string' },
    reps: { type: 'string' },
    warmup: { type: 'string' },
    'member-mib': { type: 'string' },
    'rebuild-mib': { type: 'string' },
    'rebuild-levels': { type: 'string' },
    'rebuild-limit-mbps': { type: 'string' },
    'latency-ms': { type: 'string' },
    'no-parity': { type: 'boolean', default: false },
    'no-io': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    perf: { type: 'string' },
    dir: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (flags.help) {
  process.stdout.write(usage);
  process.exit(0);
}

function positive(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`bench: ${what} must be a non-negative number, got ${text}`);
  return value;
}

function listOf(text: string | undefined, known: Record<string, unknown>, what: string): string[] {
  const names = text === undefined ? Object.keys(known) : text.split(',').filter((name) => name !== '');
  for (const name of names) if (!(name in known)) throw new Error(`bench: unknown ${what} ${name}; known: ${Object.keys(known).join(', ')}`);
  return names;
}

const options = {
  configs: listOf(flags.configs, configSpecs, 'configuration'),
  workloads: listOf(flags.workloads, workloadSpecs, 'workload'),
  runtimeSeconds: positive(flags.runtime, flags.quick ? 2 : 4, '--runtime'),
  reps: Math.max(1, Math.round(positive(flags.reps, flags.quick ? 1 : 3, '--reps'))),
  warmupSeconds: positive(flags.warmup, 1, '--warmup'),
  memberBytes: positive(flags['member-mib'], 256, '--member-mib') * MiB,
  rebuildMemberBytes: positive(flags['rebuild-mib'], flags.quick ? 256 : 1024, '--rebuild-mib') * MiB,
  rebuildLevels: listOf(flags['rebuild-levels'], { raid1: 0, raid5: 0 }, 'rebuild level'),
  rebuildLimitBytesPerSecond: positive(flags['rebuild-limit-mbps'], 100, '--rebuild-limit-mbps') * 1e6,
  latencyMs: flags['latency-ms'] === undefined ? 0 : positive(flags['latency-ms'], 0, '--latency-ms'),
  parity: !flags['no-parity'],
  io: !flags['no-io'],
  cpuProfileDir: flags['cpu-prof'],
  perfDir: flags.perf,
  dir: flags.dir ?? `/dev/shm/softraid-bench-${process.pid}`,
  json: flags.json,
};

// ---- small helpers ----

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const distDir = fileURLToPath(new URL('.', import.meta.url));

async function allocate(path: string, bytes: number): Promise<void> {
  await rm(path, { force: true });
  // fallocate gives tmpfs real pages: reads copy memory instead of mapping the zero page.
  await execFileAsync('fallocate', ['-l', String(bytes), path]);
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
async function cpuSecondsOf(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5) are utime and stime; here the list starts at field 3.
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / clockTicksPerSecond;
}

async function versionOf(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args);
    return stdout.split('\n')[0]!.trim();
  } catch {
    return 'not found';
  }
}

// ---- servers ----

interface Server {
  name: 'softraid' | 'nbdkit';
  process: ChildProcess;
  pid: number;
  uri: string;
  exited: Promise<unknown>;
  stderr: string[];
}

const running = new Set<Server>();

function track(name: Server['name'], child: ChildProcess, uri: string): Server {
  if (child.pid === undefined) throw new Error(`bench: ${name} did not start`);
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 200) stderr.shift();
  });
  const server: Server = { name, process: child, pid: child.pid, uri, exited: once(child, 'exit'), stderr };
  running.add(server);
  void server.exited.then(() => running.delete(server));
  return server;
}

/** bin/softraidd's default libuv thread pool (32), or UV_THREADPOOL_SIZE from the environment. */
const threadPoolSize = process.env.UV_THREADPOOL_SIZE ?? '32';

async function startOurs(config: string, memberPaths: string[], socketPath: string): Promise<{ server: Server; sizeBytes: number }> {
  const spec = configSpecs[config]!;
  const nodeFlags = [
    ...(options.cpuProfileDir === undefined ? []
      : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=softraid-${config}-${Date.now()}.cpuprofile`]),
    // JavaScript frames by name in perf's samples.
    ...(options.perfDir === undefined ? [] : ['--perf-basic-prof', '--interpreted-frames-native-stack']),
  ];
  const args = [...nodeFlags, join(distDir, 'serve-volume.js'), '--level', spec.level, '--socket', socketPath,
    ...memberPaths.flatMap((path) => ['--chunk', path]), ...spec.missing.flatMap((index) => ['--missing', String(index)]),
    ...(spec.level === 'none' ? ['--size-bytes', String(nbdOnlyMemberCount * options.memberBytes)] : [])];
  // The thread pool softraidd's launcher (bin/softraidd) gives the daemon, unless the environment says otherwise.
  const env = { ...process.env, UV_THREADPOOL_SIZE: threadPoolSize };
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const server = track('softraid', child, `nbd+unix:///sd0?socket=${socketPath}`);
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<{ sizeBytes: number; state: string }>((resolve, reject) => {
    lines.on('line', (line) => {
      const message = JSON.parse(line) as { ready?: boolean; sizeBytes: number; state: string };
      if (message.ready === true) resolve(message);
    });
    void server.exited.then(() => reject(new Error(`serve-volume exited before it was ready: ${server.stderr.join('')}`)));
    setTimeout(() => reject(new Error('serve-volume did not become ready')), serverStartTimeoutMs).unref();
  });
  const message = await ready;
  const expectedState = spec.missing.length > 0 ? 'Degraded' : 'Online';
  if (message.state !== expectedState) throw new Error(`bench: ${config} came up ${message.state}, expected ${expectedState}`);
  return { server, sizeBytes: message.sizeBytes };
}

async function startNbdkit(filePath: string, socketPath: string): Promise<Server> {
  await rm(socketPath, { force: true });
  const child = spawn('nbdkit', ['--foreground', '--exit-with-parent', '--unix', socketPath, 'file', `file=${filePath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const server = track('nbdkit', child, `nbd+unix:///?socket=${socketPath}`);
  const deadline = Date.now() + serverStartTimeoutMs;
  for (;;) {
    const found = await stat(socketPath).then((info) => info.isSocket(), () => false);
    if (found) return server;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nbdkit did not start: ${server.stderr.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopServer(server: Server): Promise<void> {
  if (server.process.exitCode !== null || server.process.signalCode !== null) return;
  server.process.kill('SIGTERM');
  const timer = setTimeout(() => server.process.kill('SIGKILL'), serverStopTimeoutMs);
  await server.exited;
  clearTimeout(timer);
}

// ---- fio ----

interface FioResult {
  mibPerSecond: number;
  iops: number;
  p99Ms: number;
}

interface FioDirection {
  io_bytes: number;
  bw_bytes: number;
  iops: number;
  clat_ns: { percentile?: Record<string, number> };
}

async function runFio(uri: string, workload: WorkloadSpec, runtimeSeconds: number, outputPath: string): Promise<FioResult> {
  const args = ['--name=bench', '--ioengine=nbd', `--uri=${uri}`, `--rw=${workload.rw}`, `--bs=${workload.blockSize}`,
    `--iodepth=${workload.iodepth}`, '--time_based', `--runtime=${runtimeSeconds}`, '--norandommap', '--randrepeat=0',
    '--output-format=json', `--output=${outputPath}`];
  try {
    await execFileAsync('fio', args, { timeout: (runtimeSeconds + 60) * 1000 });
  } catch (error) {
    throw new Error(`fio failed (${args.join(' ')}): ${(error as { stderr?: string }).stderr ?? String(error)}`);
  }
  const text = await readFile(outputPath, 'utf8');
  const report = JSON.parse(text.slice(text.indexOf('{'))) as { jobs: { error: number; read: FioDirection; write: FioDirection }[] };
  const job = report.jobs[0]!;
  if (job.error !== 0) throw new Error(`fio job error ${job.error}`);
  const direction = workload.rw.endsWith('read') ? job.read : job.write;
  return {
    mibPerSecond: direction.bw_bytes / MiB,
    iops: direction.iops,
    p99Ms: (direction.clat_ns.percentile?.['99.000000'] ?? Number.NaN) / 1e6,
  };
}

// ---- the I/O part ----

interface Sample extends FioResult {
  config: string;
  workload: string;
  server: Server['name'];
  rep: number;
  /** CPU used by the server during the run, as a percentage of one core. */
  cpuPercent: number;
}

interface ConfigOutcome {
  config: string;
  volumeSizeBytes: number;
  samples: Sample[];
  peakRssBytes: { softraid: number | null; nbdkit: number | null };
  profile: string | null;
  /** Per flame graph drawn (--perf): its path and how busy each kind of thread was. */
  flameGraphs: string[];
}

async function measured(server: Server, workload: WorkloadSpec, runtimeSeconds: number): Promise<FioResult & { cpuPercent: number }> {
  const cpuBefore = await cpuSecondsOf(server.pid);
  const startMs = performance.now();
  const result = await runFio(server.uri, workload, runtimeSeconds, join(options.dir, 'fio.json'));
  const elapsedSeconds = (performance.now() - startMs) / 1000;
  const cpuPercent = (100 * (await cpuSecondsOf(server.pid) - cpuBefore)) / elapsedSeconds;
  return { ...result, cpuPercent };
}

async function benchConfig(config: string): Promise<ConfigOutcome> {
  const spec = configSpecs[config]!;
  const memberPaths = Array.from({ length: spec.memberCount }, (_v, index) => join(options.dir, `${config}-member${index}`));
  // Every byte of the members and of nbdkit's file written before the servers start, as a disk has
  // its blocks: tmpfs pages that were fallocated but never written read as the zero page, about 40%
  // cheaper than written ones (nbdkit, 1 GiB, 1 MiB reads: 3561 against 2545 MiB/s), and the
  // warm-up below does not reach every block of the larger volumes in its second.
  for (const path of memberPaths) await allocateWritten(path, options.memberBytes);
  const { server: ours, sizeBytes } = await startOurs(config, memberPaths, join(options.dir, `${config}.sock`));
  const baselinePath = join(options.dir, `${config}-baseline`);
  await allocateWritten(baselinePath, sizeBytes);
  const nbdkit = await startNbdkit(baselinePath, join(options.dir, `${config}-nbdkit.sock`));
  const samples: Sample[] = [];
  const recordings: { recording: PerfRecording; server: Server; workload: string; result: FioResult & { cpuPercent: number } }[] = [];
  let profile: string | null = null;
  const peakRssBytes: ConfigOutcome['peakRssBytes'] = { softraid: null, nbdkit: null };
  try {
    // Warm-up, not recorded: the JIT compiles the data path.
    if (options.warmupSeconds > 0) {
      for (const server of [ours, nbdkit]) await runFio(server.uri, workloadSpecs.seqwrite!, options.warmupSeconds, join(options.dir, 'fio.json'));
    }
    for (const workload of options.workloads) {
      for (let rep = 0; rep < options.reps; rep++) {
        const order = rep % 2 === 0 ? [ours, nbdkit] : [nbdkit, ours];
        for (const server of order) {
          const recording = options.perfDir !== undefined && rep === 0
            ? await PerfRecording.start(server.pid, join(options.perfDir, `${config}-${workload}-${server.name}.perf.data`))
            : null;
          const result = await measured(server, workloadSpecs[workload]!, options.runtimeSeconds);
          if (recording !== null) {
            await recording.stop();
            recordings.push({ recording, server, workload, result });
          }
          samples.push({ config, workload, server: server.name, rep, ...result });
          process.stderr.write(`  ${config} ${workload} rep ${rep + 1}/${options.reps} ${server.name.padEnd(8)} `
            + `${result.mibPerSecond.toFixed(0).padStart(6)} MiB/s ${result.iops.toFixed(0).padStart(7)} IOPS `
            + `p99 ${result.p99Ms.toFixed(2)} ms cpu ${result.cpuPercent.toFixed(0)}%\n`);
        }
      }
    }
    peakRssBytes.softraid = (await residentBytes(ours.pid))?.peakBytes ?? null;
    peakRssBytes.nbdkit = (await residentBytes(nbdkit.pid))?.peakBytes ?? null;
  } finally {
    await stopServer(ours);
    await stopServer(nbdkit);
    await Promise.all([...memberPaths, baselinePath].map((path) => rm(path, { force: true })));
  }
  const flameGraphs: string[] = [];
  for (const { recording, server, workload, result } of recordings) {
    const svgPath = recording.dataPath.replace(/\.perf\.data$/, '.svg');
    const title = `${server.name === 'softraid' ? `softraid ${config}` : 'nbdkit file plugin'}: ${workload}, fio nbd engine`;
    const subtitle = `${result.mibPerSecond.toFixed(0)} MiB/s, ${result.iops.toFixed(0)} IOPS, server CPU ${result.cpuPercent.toFixed(0)}% of a core; perf record -g, CPU-clock samples`;
    const busy = await drawRecording(recording, server.pid, svgPath, title, subtitle);
    await rm(recording.dataPath, { force: true });
    flameGraphs.push(`${svgPath}: ${busy.map(({ role, coreShare }) => `${role} ${(100 * coreShare).toFixed(0)}%`).join(', ')}`);
  }
  // Every workload's graph of a server reads its symbol map: removed only after the last.
  if (recordings.length > 0) await Promise.all([ours, nbdkit].map((server) => removeSymbolMap(server.pid)));
  if (options.cpuProfileDir !== undefined) {
    const files = (await readdir(options.cpuProfileDir)).filter((name) => name.startsWith(`softraid-${config}-`)).sort();
    const latest = files.at(-1);
    if (latest !== undefined) profile = formatProfileSummary(await readProfileSummary(join(options.cpuProfileDir, latest)), 15);
  }
  return { config, volumeSizeBytes: sizeBytes, samples, peakRssBytes, profile, flameGraphs };
}

interface Row {
  config: string;
  workload: string;
  ours: Picked;
  nbdkit: Picked;
  /** Median of the per-repetition ratios (each pair measured back to back). */
  ratio: number;
  target: number | null;
}

/**
 * A server's medians. CPU seconds per GiB moved is the steadiest figure on a
 * shared machine: throughput swings with the other processes' load, the CPU
 * a server spends per byte much less.
 */
type Picked = FioResult & { cpuPercent: number; cpuSecondsPerGiB: number };

function summarize(outcomes: ConfigOutcome[]): Row[] {
  const rows: Row[] = [];
  for (const outcome of outcomes) {
    for (const workload of options.workloads) {
      const of = (server: Server['name']): Sample[] => outcome.samples.filter((s) => s.workload === workload && s.server === server);
      const pick = (samples: Sample[]): Picked => ({
        mibPerSecond: median(samples.map((s) => s.mibPerSecond)),
        iops: median(samples.map((s) => s.iops)),
        p99Ms: median(samples.map((s) => s.p99Ms)),
        cpuPercent: median(samples.map((s) => s.cpuPercent)),
        cpuSecondsPerGiB: median(samples.map((s) => (s.cpuPercent / 100) / (s.mibPerSecond / 1024))),
      });
      const ours = of('softraid');
      const theirs = of('nbdkit');
      const ratios = ours.map((sample) => sample.iops / (theirs.find((other) => other.rep === sample.rep)?.iops ?? Number.NaN));
      rows.push({ config: outcome.config, workload, ours: pick(ours), nbdkit: pick(theirs), ratio: median(ratios), target: targetRatio(outcome.config, workload) });
    }
  }
  return rows;
}

function verdict(met: boolean): string {
  return met ? 'met' : '**missed**';
}

function ioTable(rows: Row[]): string {
  const lines = [
    '| config | workload | softraid MiB/s | IOPS | p99 ms | CPU % | CPU s/GiB | nbdkit MiB/s | IOPS | p99 ms | CPU % | CPU s/GiB | ratio | target |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const row of rows) {
    const target = row.target === null ? '–' : `≥ ${row.target.toFixed(1)}× ${verdict(row.ratio >= row.target)}`;
    const server = (picked: Picked): string => `${picked.mibPerSecond.toFixed(0)} | ${picked.iops.toFixed(0)} | ${picked.p99Ms.toFixed(2)} `
      + `| ${picked.cpuPercent.toFixed(0)} | ${picked.cpuSecondsPerGiB.toFixed(2)}`;
    lines.push(`| ${row.config} | ${row.workload} | ${server(row.ours)} | ${server(row.nbdkit)} | ${row.ratio.toFixed(2)}× | ${target} |`);
  }
  return lines.join('\n');
}

// ---- parity ----

interface ParityRow {
  name: string;
  gigabytesPerSecond: number;
  /** The median of the row's runs over memcpy's straight before each (bench/parity.ts). */
  ratioToMemcpy: number;
}

async function benchParity(): Promise<{ kernel: string; rows: ParityRow[] }> {
  const { stdout } = await execFileAsync(process.execPath, [join(distDir, 'parity.js'), '1024'], { maxBuffer: 1 * MiB });
  const kernel = /parity kernel: ([^;]+);/.exec(stdout)?.[1] ?? 'unknown';
  const rows: ParityRow[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^ {2}(\S.*?)\s+([\d.]+)\s+([\d.]+)$/.exec(line);
    if (match) rows.push({ name: match[1]!, gigabytesPerSecond: Number(match[2]), ratioToMemcpy: Number(match[3]) });
  }
  return { kernel, rows };
}

function parityTable(parity: { kernel: string; rows: ParityRow[] }): string {
  const lines = [`parity kernel in use: ${parity.kernel}; 1 MiB buffers, same process; GB/s the median of bench/parity.ts's runs, `
    + '× memcpy the median of its pairs (each run after a run of memcpy)', '',
    '| operation | GB/s | × memcpy | target |', '|---|--:|--:|---|'];
  for (const row of parity.rows) {
    const ratio = row.ratioToMemcpy;
    const targetRatio = row.name.startsWith('WASM xorInto, arena') ? xorTargetRatio
      : row.name.startsWith('WASM RAID 6 P+Q, 4 data, arena') ? raid6SyndromeTargetRatio : null;
    const dataStrips = /P\+Q, (\d+) data/.exec(row.name)?.[1];
    const dataNote = dataStrips === undefined ? ''
      : ` (per byte of data encoded: ${(row.gigabytesPerSecond * Number(dataStrips)).toFixed(2)} GB/s, ${(ratio * Number(dataStrips)).toFixed(2)}×)`;
    const target = (targetRatio === null ? '' : `≥ ${targetRatio}× ${verdict(ratio >= targetRatio)}`) + dataNote;
    lines.push(`| ${row.name} | ${row.gigabytesPerSecond.toFixed(2)} | ${ratio.toFixed(2)} | ${target} |`);
  }
  return lines.join('\n');
}

// ---- rebuild ----

interface RebuildResult {
  level: string;
  chunkCount: number;
  outcome: string;
  limitBytesPerSecond: number | null;
  bytesTotal: number;
  seconds: number;
  bytesPerSecond: number;
  cpuSeconds: number;
  peakRssBytes: number | null;
}

/**
 * A member or spare for the rebuild, every byte written once, as a disk has
 * its blocks. fallocate alone is not enough on tmpfs: it reserves pages
 * without touching them, reads of such pages return zeros (cached, a hole's
 * read) without touching them either, and the first write into each page
 * pays for providing it.
 * On this machine (a KVM guest) that first touch cost 3-4× the CPU of the
 * copy itself (perf: the spare's write copy, copy_folio_from_iter_atomic,
 * 6× slower than onto pages written before), so a rebuild onto a
 * fallocated spare measured the guest's memory, not the rebuild. RAID 5,
 * 1 GiB, same code, same minutes: 526-538 MB/s (CPU 1.9-2.0 s) on
 * fallocated files, 755-772 MB/s (CPU 1.3-1.5 s) on written ones, though
 * its reads now copy real pages instead of zeros.
 */
async function allocateWritten(path: string, bytes: number): Promise<void> {
  await allocate(path, bytes);
  await execFileAsync('dd', ['if=/dev/zero', `of=${path}`, 'bs=1M', `count=${bytes}`, 'iflag=count_bytes', 'conv=notrunc', 'status=none']);
}

async function benchRebuild(level: string): Promise<RebuildResult[]> {
  const memberCount = level === 'raid1' ? 2 : 4;
  const paths = Array.from({ length: memberCount }, (_v, index) => join(options.dir, `rebuild-${level}-member${index}`));
  // One fresh spare per rebuild (unlimited, limited): a returning member would be rebuilt only where it went stale.
  const sparePaths = [0, 1].map((index) => join(options.dir, `rebuild-${level}-spare${index}`));
  for (const path of [...paths, ...sparePaths]) await allocateWritten(path, options.rebuildMemberBytes);
  try {
    const args = [join(distDir, 'rebuild.js'), '--level', level, ...sparePaths.flatMap((path) => ['--spare', path]),
      ...paths.flatMap((path) => ['--chunk', path]),
      '--limit-bytes-per-second', String(options.rebuildLimitBytesPerSecond)];
    const { stdout } = await execFileAsync(process.execPath, args, { maxBuffer: 1 * MiB });
    return stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as RebuildResult);
  } finally {
    await Promise.all([...paths, ...sparePaths].map((path) => rm(path, { force: true })));
  }
}

function unlimitedRate(results: RebuildResult[], level: string): number | undefined {
  return results.find((result) => result.level === level && result.limitBytesPerSecond === null)?.bytesPerSecond;
}

function rebuildTable(results: RebuildResult[]): string {
  const lines = ['| level | member | rate limit | achieved MB/s | seconds | CPU s | peak RSS MiB | target |', '|---|--:|--:|--:|--:|--:|--:|---|'];
  for (const result of results) {
    const achieved = result.bytesPerSecond / 1e6;
    let target: string;
    if (result.limitBytesPerSecond === null) {
      target = `≥ 1000 MB/s ${verdict(result.bytesPerSecond >= rebuildTargetBytesPerSecond)}`;
    } else if (result.limitBytesPerSecond > (unlimitedRate(results, result.level) ?? Number.POSITIVE_INFINITY)) {
      target = 'limit above the unlimited rate: not judged';
    } else {
      const error = Math.abs(result.bytesPerSecond - result.limitBytesPerSecond) / result.limitBytesPerSecond;
      target = `within 10%: ${(100 * error).toFixed(1)}% ${verdict(error <= rebuildLimitTolerance && result.outcome === 'finished')}`;
    }
    lines.push(`| ${result.level} (${result.chunkCount}) | ${(result.bytesTotal / MiB).toFixed(0)} MiB | `
      + `${result.limitBytesPerSecond === null ? 'none' : `${(result.limitBytesPerSecond / 1e6).toFixed(0)} MB/s`} | ${achieved.toFixed(0)} | `
      + `${result.seconds.toFixed(2)} | ${result.cpuSeconds.toFixed(2)} | ${((result.peakRssBytes ?? 0) / MiB).toFixed(0)} | ${target}${result.outcome === 'finished' ? '' : ` (${result.outcome})`} |`);
  }
  return lines.join('\n');
}

// ---- the machine ----

async function machine(): Promise<Record<string, string>> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return {
    cpu: `${model}, ${cpus().length} cores`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at start)`,
    kernel: `Linux ${release()}`,
    node: process.version,
    fio: await versionOf('fio', ['--version']),
    nbdkit: await versionOf('nbdkit', ['--version']),
    UV_THREADPOOL_SIZE: `${threadPoolSize} (the serving process)`,
    source: await sourceState(),
  };
}

/** The commit measured; dist/ is compiled from the work tree, so uncommitted source changes are named. */
async function sourceState(): Promise<string> {
  try {
    const head = (await execFileAsync('git', ['rev-parse', '--short', 'HEAD'])).stdout.trim();
    const dirty = (await execFileAsync('git', ['status', '--porcelain', '--', 'src'])).stdout.split('\n')
      .filter((line) => line.trim() !== '').map((line) => line.slice(3));
    return dirty.length === 0 ? `commit ${head}` : `commit ${head} plus uncommitted changes in ${dirty.join(', ')}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function loadText(): string {
  return loadavg().map((value) => value.toFixed(2)).join(' ');
}

// ---- main ----

async function main(): Promise<void> {
  await mkdir(options.dir, { recursive: true });
  if (options.cpuProfileDir !== undefined) await mkdir(options.cpuProfileDir, { recursive: true });
  if (options.perfDir !== undefined) await mkdir(options.perfDir, { recursive: true });
  const fsInfo = await statfs(options.dir);
  if (fsInfo.type !== tmpfsMagic) process.stderr.write(`bench: warning: ${options.dir} is not on a tmpfs; the figures will measure the disk\n`);
  const info = await machine();
  const loadStart = loadText();
  const started = new Date();
  console.log(`# softraid benchmark, ${started.toISOString()}\n`);
  for (const [key, value] of Object.entries(info)) console.log(`- ${key}: ${value}`);
  console.log(`- load average at start: ${loadStart}`);
  console.log(`- fio: ${options.runtimeSeconds} s per run, ${options.reps} repetition(s) per server, interleaved; members ${options.memberBytes / MiB} MiB on ${options.dir}\n`);

  const outcomes: ConfigOutcome[] = [];
  let parity: { kernel: string; rows: ParityRow[] } | null = null;
  const rebuilds: RebuildResult[] = [];
  try {
    if (options.io) {
      for (const config of options.configs) {
        process.stderr.write(`${config}: starting\n`);
        outcomes.push(await benchConfig(config));
      }
      const rows = summarize(outcomes);
      console.log('## Volumes over NBD (medians; ratio = median of back-to-back pairs)\n');
      console.log(ioTable(rows));
      console.log('\n| config | volume MiB | softraid peak RSS MiB | nbdkit peak RSS MiB | target ≤ 256 MiB |\n|---|--:|--:|--:|---|');
      for (const outcome of outcomes) {
        const ours = outcome.peakRssBytes.softraid ?? Number.NaN;
        console.log(`| ${outcome.config} | ${(outcome.volumeSizeBytes / MiB).toFixed(0)} | ${(ours / MiB).toFixed(0)} | ${((outcome.peakRssBytes.nbdkit ?? Number.NaN) / MiB).toFixed(0)} | ${verdict(ours <= rssTargetBytes)} |`);
      }
      const flameGraphs = outcomes.flatMap((outcome) => outcome.flameGraphs);
      if (flameGraphs.length > 0) console.log(`\n### Flame graphs (perf), and how busy each kind of thread was (% of one core)\n\n${flameGraphs.map((line) => `- ${line}`).join('\n')}`);
      for (const outcome of outcomes) if (outcome.profile !== null) console.log(`\n### CPU profile of the server, ${outcome.config}\n\n\`\`\`\n${outcome.profile}\n\`\`\``);
    }
    if (options.parity) {
      process.stderr.write('parity kernels\n');
      parity = await benchParity();
      console.log(`\n## Parity kernels\n\n${parityTable(parity)}`);
      // CRYPTO's cipher, in a process of its own whose context frees OpenSSL's outputs at once,
      // as a cipher thread's does (cipher.ts).
      process.stderr.write('cipher\n');
      const { stdout } = await execFileAsync(process.execPath, ['--harmony-rab-gsab-transfer', join(distDir, 'cipher.js')],
        { maxBuffer: 1 * MiB });
      console.log(`\n## XTS-AES-256 (CRYPTO, RAID 1C), same process as memcpy\n\n\`\`\`\n${stdout.trimEnd()}\n\`\`\``);
    }
    if (options.rebuildMemberBytes > 0) {
      for (const level of options.rebuildLevels) {
        process.stderr.write(`rebuild ${level}\n`);
        rebuilds.push(...await benchRebuild(level));
      }
      console.log(`\n## Rebuild of one ${options.rebuildMemberBytes / MiB} MiB member (idle volume)\n\n${rebuildTable(rebuilds)}`);
    }
    if (options.latencyMs > 0) {
      process.stderr.write('members with latency\n');
      const latency = await execFileAsync(process.execPath, [join(distDir, 'latency.js'), '--latency-ms', String(options.latencyMs),
        '--runtime', String(options.runtimeSeconds)], { timeout: 600_000 });
      console.log(`\n${latency.stdout.trimEnd()}`);
    }
  } finally {
    for (const server of [...running]) await stopServer(server);
    await rm(options.dir, { recursive: true, force: true });
  }
  const seconds = (Date.now() - started.getTime()) / 1000;
  console.log(`\nload average at end: ${loadText()}; took ${seconds.toFixed(0)} s`);
  if (options.json !== undefined) {
    await writeFile(options.json, `${JSON.stringify({ started, machine: info, loadStart, loadEnd: loadText(), options, outcomes, parity, rebuilds }, null, 1)}\n`);
  }
}

await main();
