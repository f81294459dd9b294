// A crash campaign: the deterministic crash simulator (crash-world.ts) over
// fresh random seeds, round robin over configurations, on every core, until
// a number of crash points (or runs) is reached. It prints the totals and,
// for every failure, the configuration and seed that replay it; it exits 1
// on any failure, and also when the runs went quiet (no crash, no torn
// write, no member failure, no ordering check or byte compared: a simulator
// that checks nothing must not pass). docs/RELIABILITY.md, "Campaigns".
//
//   npm run sim -- --crash-points 10000 --configs all
//   npm run sim -- --replay raid5-n4-ls-16k:3061868772
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { emptyStats, quietProblems, runSimulation, type SimConfig, type SimStats } from './crash-world.js';
import { allConfigs, configName, parseConfigs } from './configs.js';
import { seededRandom } from '@openbsd38/libutil/random.js';

interface Task {
  configName: string;
  seed: number;
  steps: number;
}

type Reply = { ok: true; stats: SimStats } | { ok: false; message: string };

interface Options {
  crashPoints: number;
  runs: number;
  configs: SimConfig[];
  steps: number;
  jobs: number;
  runTimeoutMs: number;
  replay: Task | null;
  /** Seeds the run seeds: the same campaign seed and options give the same runs. */
  campaignSeed: number;
}

const usage = `usage: npm run sim -- [--crash-points N] [--runs N] [--configs ci|all|NAME,...] [--steps N] [--jobs N]
                    [--run-timeout SECONDS] [--seed N] | --replay NAME:SEED [--steps N]
  --crash-points N   stop once N crashes have been injected (default 10000)
  --runs N           stop after N runs instead (whichever comes first when both are given)
  --configs          ci (the five npm test runs), all (default: ${allConfigs.length} configurations) or names:
                     ${allConfigs.map(configName).join(' ')}
  --steps N          steps per run (default 40)
  --jobs N           runs at once, one process each (default: the number of cores)
  --run-timeout S    a run that takes longer fails as a hang (default 300)
  --seed N           the campaign's seed (default: random, printed): the same seed runs the same seeds
  --replay NAME:SEED one run, in this process, with its failure in full`;

function parseArguments(argv: readonly string[]): Options {
  const options: Options = { crashPoints: 10000, runs: Number.POSITIVE_INFINITY, configs: [...allConfigs], steps: 40,
    jobs: availableParallelism(), runTimeoutMs: 300_000, replay: null, campaignSeed: (Math.random() * 2 ** 32) >>> 0 };
  let crashPointsGiven = false;
  let runsGiven = false;
  const count = (flag: string, text: string | undefined): number => {
    const value = Number(text);
    if (text === undefined || !Number.isSafeInteger(value) || value < 1) throw new Error(`${flag} needs a whole number of at least 1, not '${text ?? ''}'`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    switch (flag) {
      case '--crash-points': options.crashPoints = count(flag, value); crashPointsGiven = true; i++; break;
      case '--runs': options.runs = count(flag, value); runsGiven = true; i++; break;
      case '--configs': options.configs = parseConfigs(value ?? ''); i++; break;
      case '--steps': options.steps = count(flag, value); i++; break;
      case '--jobs': options.jobs = count(flag, value); i++; break;
      case '--run-timeout': options.runTimeoutMs = count(flag, value) * 1000; i++; break;
      case '--seed': options.campaignSeed = count(flag, value) >>> 0; i++; break;
      case '--replay': {
        const match = /^([a-z0-9-]+):(\d+)$/.exec(value ?? '');
        if (match === null) throw new Error(`--replay needs NAME:SEED, not '${value ?? ''}'`);
        parseConfigs(match[1]!);
        options.replay = { configName: match[1]!, seed: Number(match[2]) >>> 0, steps: 0 };
        i++;
        break;
      }
      case '-h': case '--help': console.log(usage); process.exit(0); break;
      default: throw new Error(`unknown argument '${flag}'`);
    }
  }
  if (runsGiven && !crashPointsGiven) options.crashPoints = Number.POSITIVE_INFINITY;
  if (options.replay !== null) options.replay.steps = options.steps;
  return options;
}

async function runTask(task: Task): Promise<Reply> {
  const config = parseConfigs(task.configName)[0]!;
  try {
    return { ok: true, stats: await runSimulation(config, task.seed, task.steps) };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? `${error.message}${error.cause instanceof Error ? `\n  cause: ${error.cause.message}` : ''}` : String(error) };
  }
}

/** A worker process: runs the tasks it is sent, one at a time. */
function serveTasks(): void {
  process.on('message', (task: Task) => {
    void runTask(task).then((reply) => process.send!(reply));
  });
}

interface Failure {
  task: Task;
  message: string;
}

interface Totals extends SimStats {
  runs: number;
}

function add(totals: Totals, stats: SimStats): void {
  totals.runs++;
  for (const key of Object.keys(stats) as (keyof SimStats)[]) totals[key] += stats[key];
}

function replayLine(task: Task): string {
  return `npm run sim -- --replay ${task.configName}:${task.seed} --steps ${task.steps}`;
}

async function campaign(options: Options): Promise<number> {
  const totals: Totals = { ...emptyStats(), runs: 0 };
  const perConfig = new Map(options.configs.map((config) => [configName(config), { runs: 0, crashes: 0, failures: 0 }]));
  const failures: Failure[] = [];
  const startedMs = Date.now();
  const random = seededRandom(options.campaignSeed);
  let next = 0;
  let issued = 0;
  const enough = (): boolean => totals.crashes >= options.crashPoints || issued >= options.runs;
  const nextTask = (): Task => {
    const config = options.configs[next++ % options.configs.length]!;
    issued++;
    return { configName: configName(config), seed: (random() * 2 ** 32) >>> 0, steps: options.steps };
  };
  const progress = setInterval(() => {
    console.log(`sim: ${totals.runs} runs, ${totals.crashes} crash points, ${failures.length} failures, ${Math.round((Date.now() - startedMs) / 1000)} s`);
  }, 15_000);
  const script = fileURLToPath(import.meta.url);
  const worker = async (): Promise<void> => {
    let child: ChildProcess | null = null;
    const start = (): ChildProcess => fork(script, ['--worker'], { execArgv: process.execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    try {
      while (!enough()) {
        child ??= start();
        const task = nextTask();
        const running = child;
        const reply = await new Promise<Reply>((resolve) => {
          const timer = setTimeout(() => resolve({ ok: false, message: `no end after ${options.runTimeoutMs / 1000} s: a hang` }), options.runTimeoutMs);
          running.once('message', (message: Reply) => { clearTimeout(timer); resolve(message); });
          running.once('exit', (code, signal) => { clearTimeout(timer); resolve({ ok: false, message: `the run's process exited (${signal ?? code})` }); });
          running.send(task);
        });
        running.removeAllListeners('message');
        running.removeAllListeners('exit');
        const figures = perConfig.get(task.configName)!;
        figures.runs++;
        if (reply.ok) {
          add(totals, reply.stats);
          figures.crashes += reply.stats.crashes;
        } else {
          figures.failures++;
          failures.push({ task, message: reply.message });
          console.log(`sim: FAILED ${task.configName} seed ${task.seed}: ${reply.message.split('\n')[0]}\n  replay: ${replayLine(task)}`);
          // A process that failed may hold a hung run or a broken state: the next run gets a fresh one.
          running.kill('SIGKILL');
          child = null;
        }
      }
    } finally {
      child?.kill('SIGKILL');
    }
  };
  await Promise.all(Array.from({ length: options.jobs }, () => worker()));
  clearInterval(progress);

  const seconds = (Date.now() - startedMs) / 1000;
  console.log(`\ncrash campaign: ${options.configs.length} configurations, ${options.steps} steps per run, ${options.jobs} processes, `
    + `${seconds.toFixed(0)} s, campaign seed ${options.campaignSeed}`);
  const rows: [string, number][] = [
    ['runs', totals.runs], ['steps', totals.steps], ['crash points', totals.crashes], ['  with torn writes', totals.tornCrashes],
    ['clean restarts', totals.cleanRestarts], ['member failures', totals.memberFailures],
    ['rebuilds (partial / full)', totals.partialRebuilds + totals.fullRebuilds], ['dirty-and-degraded assemblies', totals.dirtyDegradedAssemblies],
    ['regions resynced', totals.resyncedRegions], ['log records replayed', totals.pplRecordsReplayed], ['rows gathered', totals.rowsGathered],
    ['write-zeroes requests', totals.zeroWrites], ['scrubs (finished)', totals.scrubs], ['parity sectors damaged / repaired', totals.paritySectorsDamaged],
    ['ordering checks', totals.orderingChecks], ['bytes read back and compared', totals.bytesChecked], ['failures', failures.length],
  ];
  const detail: Record<string, string> = {
    'rebuilds (partial / full)': `${totals.partialRebuilds} / ${totals.fullRebuilds}`,
    'scrubs (finished)': `${totals.scrubs} (${totals.scrubsFinished})`,
    'parity sectors damaged / repaired': `${totals.paritySectorsDamaged} / ${totals.paritySectorsRepaired}`,
  };
  for (const [label, value] of rows) console.log(`  ${label.padEnd(36)} ${detail[label] ?? value.toLocaleString('en-US')}`);
  console.log('  per configuration (runs, crash points, failures):');
  console.log(`    ${[...perConfig].map(([name, f]) => `${name} ${f.runs}/${f.crashes}/${f.failures}`).join('  ')}`);
  for (const failure of failures) {
    console.log(`\nFAILED ${failure.task.configName} seed ${failure.task.seed} (${failure.task.steps} steps)\n  ${failure.message}\n  replay: ${replayLine(failure.task)}`);
  }
  const quiet = quietProblems(totals, options.configs);
  for (const problem of quiet) console.log(`crash campaign went quiet: ${problem}`);
  return failures.length === 0 && quiet.length === 0 ? 0 : 1;
}

async function replay(task: Task): Promise<number> {
  const config = parseConfigs(task.configName)[0]!;
  try {
    const stats = await runSimulation(config, task.seed, task.steps);
    console.log(`replay ${task.configName} seed ${task.seed}: passed ${JSON.stringify(stats)}`);
    return 0;
  } catch (error) {
    console.error(`replay ${task.configName} seed ${task.seed}: FAILED`);
    console.error(error);
    return 1;
  }
}

if (process.argv[2] === '--worker') {
  serveTasks();
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let options: Options;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    console.error(`sim: ${error instanceof Error ? error.message : String(error)}\n${usage}`);
    process.exit(2);
  }
  process.exitCode = options.replay !== null ? await replay(options.replay) : await campaign(options);
}
