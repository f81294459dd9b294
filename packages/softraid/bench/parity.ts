// Parity kernel micro-benchmark: GB/s (10^9 bytes of target per second) of
// each kernel next to memcpy (Uint8Array.set) of the same size, measured in
// the same process; median of several runs, the ratio a median of pairs
// (each run of a kernel straight after a run of memcpy). Run: npx tsx bench/parity.ts
// Optional arguments: sizes in KiB, e.g. `npx tsx bench/parity.ts 4 64 1024`.
// First: the parity kernels are compiled on import (enable-wasm-relaxed-simd.ts).
import '@openbsd38/libutil/enable-wasm-relaxed-simd.js';
import { copyBytes } from '@openbsd38/libutil/copy-bytes.js';
import { ParityArena } from '../src/engine/parity/arena.js';
import { xorInto, xorMany, raid6Recover, raid6Syndrome, allocParityBuffer, parityArena, parityKernel } from '../src/engine/parity/index.js';
import { syndromeJs, xorManyJs } from '../src/engine/parity/raid6-js.js';
import { xorIntoJs } from '../src/engine/parity/xor-js.js';

const runs = 7;
const bytesPerRun = 128 * 1024 * 1024;

function fill(buffer: Uint8Array, seed: number): Uint8Array {
  let x = seed | 1;
  for (let i = 0; i < buffer.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    buffer[i] = x & 0xff;
  }
  return buffer;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** GB/s of one timed run of `iterations` calls of op over sizeBytes of target. */
function rateOnce(sizeBytes: number, iterations: number, op: () => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) op();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return (iterations * sizeBytes) / seconds / 1e9;
}

interface Measured {
  /** Median GB/s of op. */
  rate: number;
  /** Median over the runs of op's GB/s over memcpy's in the run just before it. */
  ratio: number;
}

/**
 * Each run of op follows a run of memcpy of the same size, after one
 * warm-up pair: the ratio is the median of those pairs, as the NBD rows pair
 * each softraid run with an nbdkit run. The host's load changes from one
 * second to the next; a kernel and memcpy measured seconds apart saw
 * different machines (round 19: memcpy 40–50 GB/s within one bench run).
 */
function measure(sizeBytes: number, memcpy: () => void, op: () => void): Measured {
  const iterations = Math.max(1, Math.floor(bytesPerRun / sizeBytes));
  const rates: number[] = [];
  const ratios: number[] = [];
  for (let run = 0; run <= runs; run++) {
    const memcpyRate = rateOnce(sizeBytes, iterations, memcpy);
    const rate = rateOnce(sizeBytes, iterations, op);
    if (run === 0) continue;
    rates.push(rate);
    ratios.push(rate / memcpyRate);
  }
  return { rate: median(rates), ratio: median(ratios) };
}

function plain(sizeBytes: number, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_v, i) => fill(new Uint8Array(sizeBytes), i + 1));
}

function arenaBuffers(sizeBytes: number, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_v, i) => fill(allocParityBuffer(sizeBytes), i + 101));
}

const sizesKiB = process.argv.slice(2).map(Number);
const sizes = (sizesKiB.length > 0 ? sizesKiB : [64, 1024]).map((k) => k * 1024);
console.log(`parity kernel: ${parityKernel}; node ${process.version}; median of ${runs} runs of ${bytesPerRun >> 20} MiB`);
if (parityArena === null) console.log('(no WebAssembly SIMD: the arena rows are skipped)');
for (const sizeBytes of sizes) {
  const [a, b] = plain(sizeBytes, 2) as [Uint8Array, Uint8Array];
  const sources8 = plain(sizeBytes, 8);
  const rows: [string, Measured][] = [];
  const memcpy = (): void => a.set(b);
  rows.push(['memcpy (Uint8Array.set)', { ...measure(sizeBytes, memcpy, memcpy), ratio: 1 }]);
  rows.push(['JS xorInto', measure(sizeBytes, memcpy, () => xorIntoJs(a, b))]);
  rows.push(['JS xorMany 3 sources', measure(sizeBytes, memcpy, () => xorManyJs(a, sources8.slice(1, 4)))]);
  if (parityArena !== null) {
    const arena: ParityArena = parityArena;
    const [t, s] = arenaBuffers(sizeBytes, 2) as [Uint8Array, Uint8Array];
    const sourcesArena = arenaBuffers(sizeBytes, 8);
    rows.push(['memcpy in arena (copyBytes)', measure(sizeBytes, memcpy, () => copyBytes(t, s))]);
    rows.push(['WASM xorInto, arena, in place', measure(sizeBytes, memcpy, () => arena.xorInto(t, s))]);
    rows.push(['WASM xorInto, plain, copy-in/out', measure(sizeBytes, memcpy, () => xorInto(a, b))]);
    rows.push(['WASM xorMany 3 sources, arena', measure(sizeBytes, memcpy, () => arena.xorMany(t, sourcesArena.slice(1, 4)))]);
    rows.push(['WASM xorMany 7 sources, arena', measure(sizeBytes, memcpy, () => arena.xorMany(t, sourcesArena.slice(1, 8)))]);
    rows.push(['WASM xorMany 3 sources, plain, copy', measure(sizeBytes, memcpy, () => xorMany(a, sources8.slice(1, 4)))]);
    const [p, q] = arenaBuffers(sizeBytes, 2) as [Uint8Array, Uint8Array];
    // GB/s of one strip, as every row (the data encoded is four times that).
    rows.push(['WASM RAID 6 P+Q, 4 data, arena', measure(sizeBytes, memcpy, () => raid6Syndrome(p, q, sourcesArena.slice(0, 4)))]);
    // Two data strips lost (a RAID 6 missing two members): syndrome of the rest, then the 2x2 solve.
    const stripe = sourcesArena.slice(0, 4);
    raid6Syndrome(p, q, stripe);
    rows.push(['WASM RAID 6 rebuild 2 of 4 data, arena', measure(sizeBytes, memcpy, () => raid6Recover(stripe, p, q, [0, 1]))]);
  }
  const [pj, qj] = plain(sizeBytes, 2) as [Uint8Array, Uint8Array];
  rows.push(['JS RAID 6 P+Q, 4 data', measure(sizeBytes, memcpy, () => syndromeJs(pj, qj, sources8.slice(0, 4)))]);
  console.log(`\n${sizeBytes / 1024} KiB buffers          GB/s   x memcpy`);
  for (const [name, { rate, ratio }] of rows) {
    console.log(`  ${name.padEnd(38)} ${rate.toFixed(2).padStart(6)}   ${ratio.toFixed(2)}`);
  }
}
