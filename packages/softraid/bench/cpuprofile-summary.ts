// Summarizes a V8 .cpuprofile (node --cpu-prof) into its top functions by
// self time, with their total (inclusive) time beside it:
//   node dist/bench/cpuprofile-summary.js FILE.cpuprofile [--top N]
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FunctionTime {
  name: string;
  /** file:line, or the V8 category for (program), (garbage collector), (idle). */
  location: string;
  selfMs: number;
  totalMs: number;
}

export interface ProfileSummary {
  durationMs: number;
  idleMs: number;
  functions: FunctionTime[];
}

function keyOf(frame: CallFrame): string {
  return `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}`;
}

export function locationOf(frame: CallFrame): string {
  if (frame.url === '') return '';
  const path = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
  const shortPath = path.includes('/dist/') ? path.slice(path.indexOf('/dist/') + 6) : basename(path);
  return `${shortPath}:${frame.lineNumber + 1}`;
}

/** Self time per function (summed over its call sites) and total time (each sample counted once per function on its stack). */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((nodeId, index) => {
    // timeDeltas[i] is the time before sample i; attribute the next delta to it (the time it covers).
    const deltaUs = profile.timeDeltas[index + 1] ?? 0;
    selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + Math.max(0, deltaUs));
  });
  const functions = new Map<string, FunctionTime>();
  const entry = (frame: CallFrame): FunctionTime => {
    const key = keyOf(frame);
    let found = functions.get(key);
    if (found === undefined) {
      found = { name: frame.functionName === '' ? '(anonymous)' : frame.functionName, location: locationOf(frame), selfMs: 0, totalMs: 0 };
      functions.set(key, found);
    }
    return found;
  };
  let idleMs = 0;
  for (const [nodeId, us] of selfUs) {
    const node = byId.get(nodeId);
    if (node === undefined) continue;
    const ms = us / 1000;
    entry(node.callFrame).selfMs += ms;
    if (node.callFrame.functionName === '(idle)') idleMs += ms;
    const seen = new Set<string>();
    for (let id: number | undefined = nodeId; id !== undefined; id = parentOf.get(id)) {
      const frame = byId.get(id)!.callFrame;
      const key = keyOf(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      entry(frame).totalMs += ms;
    }
  }
  return {
    durationMs: (profile.endTime - profile.startTime) / 1000,
    idleMs,
    functions: [...functions.values()].sort((a, b) => b.selfMs - a.selfMs),
  };
}

export async function readProfileSummary(path: string): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(path, 'utf8')) as CpuProfile);
}

/** A text table of the top functions by self time, as a share of the busy (non-idle) time. */
export function formatProfileSummary(summary: ProfileSummary, top: number): string {
  const busyMs = Math.max(1, summary.durationMs - summary.idleMs);
  const lines = [`profile: ${(summary.durationMs / 1000).toFixed(1)} s, busy ${(busyMs / 1000).toFixed(1)} s (${(100 * busyMs / summary.durationMs).toFixed(0)}%)`,
    '  self%  total%  function                                  location'];
  for (const fn of summary.functions.filter((f) => f.name !== '(idle)' && f.name !== '(root)').slice(0, top)) {
    lines.push(`  ${(100 * fn.selfMs / busyMs).toFixed(1).padStart(5)}  ${(100 * fn.totalMs / busyMs).toFixed(1).padStart(6)}  ${fn.name.slice(0, 40).padEnd(40)}  ${fn.location}`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const topIndex = args.indexOf('--top');
  const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
  const files = args.filter((_arg, index) => topIndex < 0 || (index !== topIndex && index !== topIndex + 1));
  for (const file of files) {
    console.log(`${file}\n${formatProfileSummary(await readProfileSummary(file), top)}\n`);
  }
}
