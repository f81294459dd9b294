// Folds `perf script -F comm,tid,period,ip,sym,dso` output: one block per
// sample, a header line (command, thread id, period) and then one line per
// frame, innermost first. Every stack is rooted in its thread's role (the
// event loop, libuv's pool, a worker thread, V8's platform threads), told
// apart by the thread id and the frames at the bottom of its stacks, so that
// threads of one kind add up in one tower of the graph.
import { addStack, type FoldedStacks } from './folded.js';

export class PerfScriptError extends Error {}

export interface Sample {
  comm: string;
  tid: number;
  period: number;
  /** Outermost first. */
  frames: string[];
}

const headerPattern = /^(\S.*?)\s+(\d+)\s+(\d+)\s*$/;
const framePattern = /^\s+[0-9a-f]+\s+(.*)\s+\(([^()]*)\)\s*$/;

/** Parses the samples; throws PerfScriptError naming the line for anything that is neither a header nor a frame. */
export function parsePerfScript(text: string): Sample[] {
  const samples: Sample[] = [];
  let current: Sample | null = null;
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') {
      current = null;
      return;
    }
    const frame = framePattern.exec(line);
    if (frame !== null) {
      if (current === null) throw new PerfScriptError(`perf script line ${index + 1}: a frame outside a sample: ${JSON.stringify(line.slice(0, 80))}`);
      current.frames.unshift(frameName(frame[1]!, frame[2]!));
      return;
    }
    const header = headerPattern.exec(line);
    if (header === null || /^\s/.test(line)) {
      throw new PerfScriptError(`perf script line ${index + 1}: expected "comm tid period" or a frame, got ${JSON.stringify(line.slice(0, 80))}`);
    }
    current = { comm: header[1]!, tid: Number(header[2]), period: Number(header[3]), frames: [] };
    samples.push(current);
  });
  return samples;
}

/** "sym", with the module for unresolved addresses; kernel frames marked [k] as perf report does. */
function frameName(symbol: string, module: string): string {
  if (module === '[kernel.kallsyms]') return `[k] ${symbol}`;
  if (symbol === '[unknown]') return module.startsWith('/tmp/perf-') ? '[JIT code]' : `[${module.split('/').at(-1)}]`;
  return symbol;
}

/** What a thread is, from its id and the outermost frames of one of its stacks. */
export function threadRole(comm: string, tid: number, mainTid: number, frames: readonly string[]): string {
  const bottom = frames.slice(0, 8).join(';');
  if (tid === mainTid) return comm === 'node' ? 'event loop (main thread)' : `${comm} main thread`;
  if (bottom.includes('node::worker::Worker::Run') || bottom.includes('node::worker::Worker::StartThread')) return 'worker threads';
  if (bottom.includes('PlatformWorkerThread') || bottom.includes('WorkerThreadsTaskRunner')) return 'V8 platform threads';
  if (bottom.includes(';worker')) return "libuv's thread pool";
  return `${comm} threads`;
}

/**
 * Folded stacks of one process: `mainTid` is its process id (the thread that
 * runs the event loop, or nbdkit's main thread). A thread keeps the role its
 * first identifiable stack gave it: a sample taken in the middle of a
 * system call may lack the bottom frames.
 */
export function foldPerfScript(text: string, mainTid: number): FoldedStacks {
  return foldSamples(parsePerfScript(text), mainTid).folded;
}

/**
 * The folded stacks and, per thread role, the CPU seconds its samples stand
 * for (a cpu-clock sample's period is the nanoseconds of CPU time since the
 * thread's previous one).
 */
export function foldSamples(samples: readonly Sample[], mainTid: number): { folded: FoldedStacks; cpuSecondsByRole: Map<string, number> } {
  const roles = new Map<number, string>();
  for (const sample of samples) {
    const role = threadRole(sample.comm, sample.tid, mainTid, sample.frames);
    const fallback = `${sample.comm} threads`;
    if (!roles.has(sample.tid) || (roles.get(sample.tid) === fallback && role !== fallback)) roles.set(sample.tid, role);
  }
  const folded: FoldedStacks = new Map();
  const cpuSecondsByRole = new Map<string, number>();
  for (const sample of samples) {
    const role = roles.get(sample.tid)!;
    addStack(folded, [role, ...sample.frames], 1);
    cpuSecondsByRole.set(role, (cpuSecondsByRole.get(role) ?? 0) + sample.period / 1e9);
  }
  return { folded, cpuSecondsByRole };
}
