// perf record on a running server for the length of one fio run, then its
// flame graph: how `npm run bench -- --perf DIR` shows where each server's
// CPU time goes, JavaScript, Node, libuv and the kernel alike (node
// --cpu-prof sees only the event loop's JavaScript). Sampling is by CPU
// clock, so it works on virtual machines without hardware counters.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import { perfScriptText } from '../flamegraph.js';
import { foldSamples, parsePerfScript } from './fold-perf.js';
import { formatFolded } from './folded.js';
import { renderFlameGraph } from './svg.js';

/** Samples per second per CPU: enough for a 4 s run, little enough not to disturb it. */
const samplingHz = 499;

export class PerfRecording {
  private readonly startedMs = performance.now();
  /** Wall-clock seconds recorded, once stopped. */
  seconds = 0;

  private constructor(private readonly child: ChildProcess, private readonly exited: Promise<unknown>, readonly dataPath: string) {}

  /** Starts `perf record -g` on the process; resolves once perf is attached. */
  static async start(pid: number, dataPath: string): Promise<PerfRecording> {
    const child = spawn('perf', ['record', '-F', String(samplingHz), '-g', '-p', String(pid), '-o', dataPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr: string[] = [];
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
    const exited = once(child, 'exit');
    const failed = exited.then(() => { throw new Error(`perf record -p ${pid} failed: ${stderr.join('').trim()}`); });
    // perf prints nothing when attached; a short grace lets it open its buffers before fio starts.
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 300)), failed]);
    void failed.catch(() => undefined);
    return new PerfRecording(child, exited, dataPath);
  }

  /** Stops the recording and waits for perf to write its file. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    this.seconds = (performance.now() - this.startedMs) / 1000;
    await this.exited;
  }
}

/** Removes the JIT symbol map node --perf-basic-prof wrote for process `pid`. */
export async function removeSymbolMap(pid: number): Promise<void> {
  await rm(`/tmp/perf-${pid}.map`, { force: true });
}

/**
 * Draws `svgPath` (and the folded stacks beside it) from a stopped recording
 * of the process `pid`, and returns how busy each kind of thread was: its
 * CPU time as a share of one core over the recording (a thread that is never
 * near 100% is not what limits the throughput). The process's JIT symbol
 * map (/tmp/perf-PID.map, from node --perf-basic-prof) must still be there:
 * remove it with removeSymbolMap once every recording of the process is drawn.
 */
export async function drawRecording(recording: PerfRecording, pid: number, svgPath: string, title: string, subtitle: string): Promise<{ role: string; coreShare: number }[]> {
  const { folded, cpuSecondsByRole } = foldSamples(parsePerfScript(await perfScriptText(recording.dataPath)), pid);
  await writeFile(svgPath, renderFlameGraph(folded, { title, subtitle }));
  await writeFile(svgPath.replace(/\.svg$/, '.folded'), formatFolded(folded));
  return [...cpuSecondsByRole].map(([role, seconds]) => ({ role, coreShare: seconds / Math.max(recording.seconds, 1e-3) }))
    .sort((a, b) => b.coreShare - a.coreShare);
}
