// CRYPTO discipline cipher micro-benchmark: GB/s (10^9 bytes per second) of
// XtsAes256 (src/crypto/xts.ts) encrypting and decrypting, next to the naive
// way (one createCipheriv('aes-256-xts') per 512-byte sector) and memcpy
// (Uint8Array.set) of the same size, in the same process; median of several
// runs. benchCipher() returns the rows for bench/run.ts; run alone:
//   node --harmony-rab-gsab-transfer dist/bench/cipher.js [sizes in KiB, default 64 1024]
// XtsAes256's figure depends on whether it can free each OpenSSL update()
// output at once (src/crypto/free-now.ts): softraidd's cipher threads can, an
// ordinary Node 20 process cannot, so run.ts starts this one with
// --harmony-rab-gsab-transfer, as those threads' contexts are made; the
// header says which it was. Without it the figure depends on glibc's malloc
// state as well: the header names the MALLOC_* variables in effect.
import { createCipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { XtsAes256 } from '../src/crypto/xts.js';

export interface CipherRow {
  name: string;
  sizeBytes: number;
  /** On the wall clock: what a caller sees, other load included. */
  gigabytesPerSecond: number;
  /** Per second of this process's CPU time: one core's rate, whatever else the machine runs. */
  gigabytesPerCpuSecond: number;
}

const runs = 7;
const bytesPerRun = 64 * 1024 * 1024;
const naiveBytesPerRun = 4 * 1024 * 1024;
const sectorBytes = 512;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median GB/s of op over sizeBytes (wall clock and CPU time), after one warm-up run. */
function measure(sizeBytes: number, runBytes: number, op: () => void): { wall: number; cpu: number } {
  const iterations = Math.max(1, Math.floor(runBytes / sizeBytes));
  const wallRates: number[] = [];
  const cpuRates: number[] = [];
  for (let run = 0; run <= runs; run++) {
    const cpuBefore = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) op();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    if (run === 0) continue;
    wallRates.push((iterations * sizeBytes) / seconds / 1e9);
    cpuRates.push((iterations * sizeBytes) / cpuSeconds / 1e9);
  }
  return { wall: median(wallRates), cpu: median(cpuRates) };
}

function naiveEncrypt(key: Uint8Array, firstSector: number, source: Uint8Array, target: Uint8Array): void {
  const iv = Buffer.alloc(16);
  for (let offset = 0; offset < source.length; offset += sectorBytes) {
    iv.writeBigUInt64LE(BigInt(firstSector + offset / sectorBytes));
    const cipher = createCipheriv('aes-256-xts', key, iv);
    target.set(cipher.update(source.subarray(offset, offset + sectorBytes)), offset);
    cipher.final();
  }
}

/** The rows for each size: memcpy, XtsAes256 encrypt, decrypt and in-place encrypt, the naive way. */
export function benchCipher(sizesBytes: readonly number[] = [64 * 1024, 1024 * 1024]): CipherRow[] {
  const key = randomBytes(64);
  const xts = new XtsAes256(key);
  const rows: CipherRow[] = [];
  try {
    for (const sizeBytes of sizesBytes) {
      const source = randomBytes(sizeBytes);
      const target = new Uint8Array(sizeBytes);
      const firstSector = 0x1_2345_6789;
      const row = (name: string, runBytes: number, op: () => void): void => {
        const { wall, cpu } = measure(sizeBytes, runBytes, op);
        rows.push({ name, sizeBytes, gigabytesPerSecond: wall, gigabytesPerCpuSecond: cpu });
      };
      row('memcpy (Uint8Array.set)', bytesPerRun, () => target.set(source));
      row('XtsAes256 encrypt', bytesPerRun, () => xts.encryptSectors(firstSector, source, target));
      row('XtsAes256 decrypt', bytesPerRun, () => xts.decryptSectors(firstSector, source, target));
      row('XtsAes256 encrypt in place', bytesPerRun, () => xts.encryptSectors(firstSector, target, target));
      row('aes-256-xts, one createCipheriv per sector', naiveBytesPerRun,
        () => naiveEncrypt(key, firstSector, source, target));
    }
  } finally {
    xts.destroy();
    key.fill(0);
  }
  return rows;
}

const mallocVariables = ['MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_ARENA_MAX'];

/** The glibc malloc tuning this process runs with, for the report. */
export function mallocTuning(): string {
  const set = mallocVariables.filter((name) => process.env[name] !== undefined);
  return set.length === 0 ? 'glibc defaults' : set.map((name) => `${name}=${process.env[name]}`).join(' ');
}

function printRows(rows: readonly CipherRow[]): void {
  const freedAtOnce = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
  console.log(`XTS-AES-256 over 512-byte sectors; node ${process.version}; median of ${runs} runs; `
    + `outputs freed at once: ${freedAtOnce ? 'yes (as in a cipher thread)' : 'no'}; malloc: ${mallocTuning()}`);
  for (const sizeBytes of [...new Set(rows.map((row) => row.sizeBytes))]) {
    const sized = rows.filter((row) => row.sizeBytes === sizeBytes);
    const memcpy = sized.find((row) => row.name.startsWith('memcpy'))!.gigabytesPerSecond;
    console.log(`\n${sizeBytes / 1024} KiB buffers`.padEnd(48) + '   GB/s   x memcpy   GB/CPU-s');
    for (const { name, gigabytesPerSecond, gigabytesPerCpuSecond } of sized) {
      const rate = gigabytesPerSecond.toFixed(3).padStart(7);
      const ratio = (gigabytesPerSecond / memcpy).toFixed(3).padStart(8);
      console.log(`  ${name.padEnd(44)} ${rate}   ${ratio}   ${gigabytesPerCpuSecond.toFixed(3).padStart(8)}`);
    }
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sizesKiB = process.argv.slice(2).map(Number);
  printRows(benchCipher(sizesKiB.length > 0 ? sizesKiB.map((kib) => kib * 1024) : undefined));
}
