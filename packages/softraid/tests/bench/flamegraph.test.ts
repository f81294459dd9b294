// The bench's flame graphs (bench/flame/): perf script parsing and folding,
// .cpuprofile folding, and the SVG they are drawn as.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldCpuProfile } from '../../bench/flame/fold-cpuprofile.js';
import { PerfScriptError, foldPerfScript, foldSamples, parsePerfScript, threadRole } from '../../bench/flame/fold-perf.js';
import { addStack, formatFolded, type FoldedStacks } from '../../bench/flame/folded.js';
import { escapeXml, renderFlameGraph } from '../../bench/flame/svg.js';
import type { CpuProfile } from '../../bench/cpuprofile-summary.js';
import { seededRandom } from '@openbsd38/libutil/random.js';

// Three samples as `perf script -F comm,tid,period,ip,sym,dso` prints them (innermost frame first).
const perfScript = [
  'node  100    2004008 ',
  '\tffffffff81b6a534 _copy_from_iter ([kernel.kallsyms])',
  '\t          fde9d __GI___writev (/usr/lib/x86_64-linux-gnu/libc.so.6)',
  '\t         14b8339 uv__write (/usr/bin/node)',
  '\t          7bbbe6 node::SpinEventLoopInternal (/usr/bin/node)',
  '',
  'node  107    2004008 ',
  '\tffffffff81b6ab64 _copy_to_iter ([kernel.kallsyms])',
  '\t    7f6d18016d34 [unknown] (/tmp/perf-100.map)',
  '\t          9bb106 node::worker::Worker::Run (/usr/bin/node)',
  '\t          9bb549 node::worker::Worker::StartThread(v8::FunctionCallbackInfo<v8::Value> const&)::{lambda(void*)#1}::_FUN (/usr/bin/node)',
  '\t           891f5 start_thread (/usr/lib/x86_64-linux-gnu/libc.so.6)',
  '',
  'node  107    2004008 ',
  '\t           85f16 __futex_abstimed_wait_common (/usr/lib/x86_64-linux-gnu/libc.so.6)',
  '',
  'V8 Worker  103    2004008 ',
  '\t          bd581d v8::internal::(anonymous namespace)::Invoke (/usr/bin/node)',
  '\t          932ce1 node::(anonymous namespace)::PlatformWorkerThread (/usr/bin/node)',
  '',
].join('\n');

test('perf script: samples fold into stacks rooted in their thread role, outermost frame first', () => {
  const folded = foldPerfScript(perfScript, 100);
  assert.deepEqual(new Map(folded), new Map([
    ['event loop (main thread);node::SpinEventLoopInternal;uv__write;__GI___writev;[k] _copy_from_iter', 1],
    ['worker threads;start_thread;node::worker::Worker::StartThread(v8::FunctionCallbackInfo<v8::Value> const&)::{lambda(void*)#1}::_FUN;'
      + 'node::worker::Worker::Run;[JIT code];[k] _copy_to_iter', 1],
    // A stack cut short in a system call keeps the role its thread's other samples gave it.
    ['worker threads;__futex_abstimed_wait_common', 1],
    ['V8 platform threads;node::(anonymous namespace)::PlatformWorkerThread;v8::internal::(anonymous namespace)::Invoke', 1],
  ]));
  const samples = parsePerfScript(perfScript);
  assert.deepEqual(samples.map((s) => [s.comm, s.tid, s.period]), [['node', 100, 2004008], ['node', 107, 2004008], ['node', 107, 2004008], ['V8 Worker', 103, 2004008]]);
  // Each cpu-clock sample stands for its period of CPU time: 2 ms here, two of them on the worker thread.
  assert.deepEqual(new Map(foldSamples(samples, 100).cpuSecondsByRole), new Map([
    ['event loop (main thread)', 0.002004008], ['worker threads', 0.004008016], ['V8 platform threads', 0.002004008],
  ]));
});

test('thread roles: the event loop, worker threads, V8 platform threads, libuv pool, and anything else by its command', () => {
  assert.equal(threadRole('node', 5, 5, []), 'event loop (main thread)');
  assert.equal(threadRole('nbdkit', 5, 5, []), 'nbdkit main thread');
  assert.equal(threadRole('node', 6, 5, ['start_thread', 'node::worker::Worker::Run']), 'worker threads');
  assert.equal(threadRole('node', 6, 5, ['start_thread', 'node::(anonymous namespace)::PlatformWorkerThread']), 'V8 platform threads');
  assert.equal(threadRole('node', 6, 5, ['start_thread', 'worker', 'uv__fs_work']), "libuv's thread pool");
  assert.equal(threadRole('nbdkit', 6, 5, ['start_thread', 'threadlocal_worker']), 'nbdkit threads');
});

test('perf script: a line that is neither a sample header nor a frame is refused with its line number', () => {
  assert.throws(() => parsePerfScript('\tffffffff81b6a534 _copy_from_iter ([kernel.kallsyms])\n'), (error: unknown) =>
    error instanceof PerfScriptError && /line 1: a frame outside a sample/.test(error.message));
  assert.throws(() => parsePerfScript('node  100    2004008\nnot a frame\n'), (error: unknown) =>
    error instanceof PerfScriptError && /line 2: expected "comm tid period" or a frame/.test(error.message));
  assert.deepEqual(parsePerfScript(''), []);
});

test('perf script fuzz: any mangled input folds or is refused with PerfScriptError, and folding keeps every sample', () => {
  const random = seededRandom(0x5eed);
  const lines = perfScript.split('\n');
  for (let round = 0; round < 2000; round++) {
    const mangled = [...lines];
    for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
      const at = Math.floor(random() * mangled.length);
      const line = mangled[at]!;
      switch (Math.floor(random() * 4)) {
        case 0: mangled.splice(at, 1); break;
        case 1: mangled.splice(at, 0, line); break;
        case 2: mangled[at] = line.slice(0, Math.floor(random() * line.length)); break;
        default: {
          const where = Math.floor(random() * (line.length + 1));
          mangled[at] = line.slice(0, where) + String.fromCharCode(Math.floor(random() * 128)) + line.slice(where);
        }
      }
    }
    const text = mangled.join('\n');
    let samples;
    try {
      samples = parsePerfScript(text);
    } catch (error) {
      assert.ok(error instanceof PerfScriptError, `round ${round}: ${String(error)}`);
      continue;
    }
    const folded = foldPerfScript(text, 100);
    const withFrames = samples.length;
    const total = [...folded.values()].reduce((sum, weight) => sum + weight, 0);
    assert.equal(total, withFrames, `round ${round}: every sample is in exactly one stack`);
  }
});

test('cpuprofile: stacks from the tree, weighted by the time each sample covers; idle left out', () => {
  const frame = (functionName: string, lineNumber = 0) => ({ functionName, url: functionName.startsWith('(') ? '' : 'file:///x/dist/src/a.js', lineNumber, scriptId: '0', columnNumber: 0 });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 4] },
      { id: 2, callFrame: frame('serve', 9), children: [3] },
      { id: 3, callFrame: frame('', 19) },
      { id: 4, callFrame: frame('(idle)') },
    ],
    samples: [2, 3, 3, 4, 2],
    timeDeltas: [0, 10, 20, 30, 40],
    startTime: 0,
    endTime: 100,
  };
  assert.deepEqual(new Map(foldCpuProfile(profile)), new Map([
    // Sample i covers timeDeltas[i + 1]: serve 10 + 0 (the last sample covers nothing), the anonymous function 20 + 30.
    ['serve src/a.js:10', 10],
    ['serve src/a.js:10;(anonymous) src/a.js:20', 50],
  ]));
  assert.equal(foldCpuProfile(profile, { withIdle: true }).get('(idle)'), 40);
});

test('folded stacks: a ";" inside a frame name cannot split it; the text form is sorted', () => {
  const folded: FoldedStacks = new Map();
  addStack(folded, ['main', 'a;b'], 3);
  addStack(folded, ['main', 'c'], 1);
  addStack(folded, ['pool', 'c'], 4);
  addStack(folded, [], 5);
  addStack(folded, ['main'], 0);
  assert.equal(formatFolded(folded), 'main;a:b 3\nmain;c 1\npool;c 4\n');
});

test('flame graph SVG: boxes as wide as their samples, children within their parents, names escaped', () => {
  const folded: FoldedStacks = new Map([['main;serve;<write & flush>', 30], ['main;serve', 10], ['pool;copy', 60]]);
  const svg = renderFlameGraph(folded, { title: 'a "test" <graph>', widthPx: 1020 });
  assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg /);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.ok(svg.includes('a &quot;test&quot; &lt;graph&gt;'));
  assert.ok(!svg.includes('<write'), 'a frame name is escaped');
  const boxes = [...svg.matchAll(/<title>([^<]*)<\/title><rect x="([\d.]+)" y="(\d+)" width="([\d.]+)"/g)]
    .map((match) => ({ title: match[1]!, x: Number(match[2]), y: Number(match[3]), width: Number(match[4]) }));
  const widthOf = (prefix: string) => boxes.find((box) => box.title.startsWith(prefix))!.width;
  assert.equal(boxes.length, 6);
  assert.equal(widthOf('all'), 1000);
  assert.equal(widthOf('main'), 400);
  assert.equal(widthOf('pool'), 600);
  assert.equal(widthOf('serve'), 400);
  assert.equal(widthOf('&lt;write &amp; flush&gt;'), 300);
  assert.ok(boxes.find((box) => box.title.startsWith('pool'))!.title.includes('(60 samples, 60.00%)'));
  // Callers below callees: each level is one box height above the one it grew from.
  const yOf = (prefix: string) => boxes.find((box) => box.title.startsWith(prefix))!.y;
  assert.ok(yOf('all') > yOf('main') && yOf('main') > yOf('serve') && yOf('serve') > yOf('&lt;write'));
  // Too narrow to draw: left out, its samples still counted in its parent.
  const narrow = renderFlameGraph(new Map([['main;tiny', 1], ['main', 9999]]), { title: 't', widthPx: 1020 });
  assert.ok(!narrow.includes('tiny'));
  assert.ok(narrow.includes('main (10000 samples, 100.00%)'));
  assert.ok(renderFlameGraph(new Map(), { title: 'empty' }).includes('0 samples'));
  assert.equal(escapeXml(`<&>"'`), '&lt;&amp;&gt;&quot;&apos;');
});
