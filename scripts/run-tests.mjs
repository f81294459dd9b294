#!/usr/bin/env node
// Runs every package's *.test.ts with Node's built-in runner (node:test), one
// run and one summary, loading TypeScript through tsx. Packages import each
// other by name (@openbsd38/bio/...); the "source" export condition points
// those imports at the packages' sources, so a test loads every module once,
// from source. Node 20's --test takes no globs, so the files are listed here.
//   node scripts/run-tests.mjs [--package NAME]... [FILTER]...
// FILTER: a substring of the test file's path (raid5, metadata, e2e/nbd).
// Every test process turns on relaxed SIMD first, as softraidd does, so the
// parity kernels under test are the ones the daemon runs.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = resolve(import.meta.dirname, '..');

function walk(dir) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...walk(path));
    else if (entry.name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const args = process.argv.slice(2);
const packages = [];
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--package') packages.push(args[++i]);
  else filters.push(args[i]);
}
const known = readdirSync(join(root, 'packages')).sort();
for (const name of packages) {
  if (!known.includes(name)) {
    console.error(`run-tests: no package ${name} (packages: ${known.join(', ')})`);
    process.exit(1);
  }
}
const files = (packages.length > 0 ? packages : known)
  .flatMap((name) => ['src', 'tests'].flatMap((dir) => walk(join(root, 'packages', name, dir))))
  .sort()
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)));
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
const result = spawnSync(process.execPath,
  ['--conditions=source', '--import', 'tsx', '--import', '@openbsd38/libutil/enable-wasm-relaxed-simd.js', '--test', '--test-concurrency=2', '--test-reporter=spec',
    ...files.map((file) => file.slice(root.length + 1))],
  { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
