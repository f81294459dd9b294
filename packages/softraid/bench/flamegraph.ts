// Draws a flame graph (bench/flame/svg.ts) from a profile:
//   node dist/bench/flamegraph.js PROFILE --out FILE.svg [--title TEXT] [--pid N] [--folded FILE]
// PROFILE is a V8 .cpuprofile (node --cpu-prof), a perf.data file (perf
// record -g; needs perf on PATH), or the text of
// `perf script -F comm,tid,period,ip,sym,dso`. For perf input, --pid names
// the process's main thread (default: the first sample's thread).
// `npm run bench -- --perf DIR` draws them for every run by itself.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type { CpuProfile } from './cpuprofile-summary.js';
import { foldCpuProfile } from './flame/fold-cpuprofile.js';
import { foldPerfScript, parsePerfScript } from './flame/fold-perf.js';
import { formatFolded, type FoldedStacks } from './flame/folded.js';
import { renderFlameGraph } from './flame/svg.js';

const execFileAsync = promisify(execFile);

/** perf script's fields that fold-perf.ts reads. */
export const perfScriptFields = 'comm,tid,period,ip,sym,dso';

export async function perfScriptText(perfDataPath: string): Promise<string> {
  const { stdout } = await execFileAsync('perf', ['script', '-F', perfScriptFields, '-i', perfDataPath], { maxBuffer: 1 << 30 });
  return stdout;
}

/** Folds a profile file of any of the three kinds. */
export async function foldProfileFile(path: string, mainTid?: number): Promise<FoldedStacks> {
  const bytes = await readFile(path);
  if (bytes.subarray(0, 8).toString('latin1') === 'PERFILE2') return foldPerfText(await perfScriptText(path), mainTid);
  const text = bytes.toString('utf8');
  if (text.trimStart().startsWith('{')) return foldCpuProfile(JSON.parse(text) as CpuProfile);
  return foldPerfText(text, mainTid);
}

function foldPerfText(text: string, mainTid: number | undefined): FoldedStacks {
  return foldPerfScript(text, mainTid ?? parsePerfScript(text)[0]?.tid ?? -1);
}

if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    options: { out: { type: 'string' }, title: { type: 'string' }, pid: { type: 'string' }, folded: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1 || values.out === undefined) {
    process.stderr.write('usage: flamegraph PROFILE --out FILE.svg [--title TEXT] [--pid N] [--folded FILE]\n');
    process.exit(2);
  }
  const input = positionals[0]!;
  const pid = values.pid === undefined ? undefined : Number(values.pid);
  if (pid !== undefined && !Number.isSafeInteger(pid)) throw new Error(`flamegraph: --pid ${values.pid} is not a process id`);
  const folded = await foldProfileFile(input, pid);
  await writeFile(values.out, renderFlameGraph(folded, { title: values.title ?? basename(input) }));
  if (values.folded !== undefined) await writeFile(values.folded, formatFolded(folded));
}
