// Chunk-by-chunk checks of redundancy, straight on the members' bytes
// (not through the engine): mirrors equal (RAID 1C: their ciphertext), parity the XOR of each row,
// RAID 6's P and Q as md computes them.
import { MemoryChunk } from '../../src/chunk/memory.js';
import { xorInto } from '../../src/engine/parity/index.js';
import type { VolumeRecord } from '../../src/engine/metadata/record.js';
import type { ChunkBackend } from '../../src/engine/chunk.js';
import { gfMultiply, gfPowerOf2 } from './gf256-reference.js';

/** Returns a description of the first inconsistency, or null. */
export function checkRedundancy(record: VolumeRecord, members: readonly (ChunkBackend | null)[]): string | null {
  const online = record.chunks
    .map((chunk, index) => ({ chunk, member: members[index] }))
    .filter((entry): entry is { chunk: typeof entry.chunk; member: MemoryChunk } => entry.chunk.state === 'Online' && entry.member instanceof MemoryChunk);
  const start = record.dataOffsetBytes;
  if (record.kind === 'raid1' || record.kind === 'raid1c') {
    const end = start + record.volumeSizeBytes;
    const reference = online[0]?.member.current.subarray(start, end);
    for (const { chunk, member } of online.slice(1)) {
      const bytes = member.current.subarray(start, end);
      const at = firstDifference(reference!, bytes);
      if (at >= 0) return `mirror ${chunk.index} differs from mirror ${online[0]!.chunk.index} at data byte ${at}`;
    }
    return null;
  }
  if (record.kind === 'raid5') {
    if (online.length !== record.chunkCount) return null; // parity cannot be checked with a chunk missing
    const usedBytes = Math.floor(record.chunkDataSizeBytes / record.stripSizeBytes) * record.stripSizeBytes;
    const sum = new Uint8Array(usedBytes);
    for (const { member } of online) xorInto(sum, member.current.subarray(start, start + usedBytes));
    const at = sum.findIndex((byte) => byte !== 0);
    return at >= 0 ? `parity wrong at chunk byte ${at} (row ${Math.floor(at / record.stripSizeBytes)})` : null;
  }
  if (record.kind === 'raid6') {
    if (online.length !== record.chunkCount) return null; // P and Q cannot both be checked with a chunk missing
    return checkRaid6(record, online.map(({ member }) => member.current.subarray(start)));
  }
  return null;
}

/**
 * RAID 6, md's left-symmetric rotation: row r has P on chunk n-1-(r mod n),
 * Q on the next, data strip k on P+2+k (mod n); P = ⊕ D[k], Q = ⊕ 2^k·D[k].
 */
function checkRaid6(record: VolumeRecord, chunks: readonly Uint8Array[]): string | null {
  const n = record.chunkCount;
  const strip = record.stripSizeBytes;
  const rows = Math.floor(record.chunkDataSizeBytes / strip);
  const times = Array.from({ length: n - 2 }, (_v, k) => {
    const coefficient = gfPowerOf2(k);
    return Uint8Array.from({ length: 256 }, (_w, x) => gfMultiply(coefficient, x));
  });
  for (let row = 0; row < rows; row++) {
    const p = n - 1 - (row % n);
    const q = (p + 1) % n;
    for (let i = row * strip; i < (row + 1) * strip; i++) {
      let pSum = chunks[p]![i]!;
      let qSum = chunks[q]![i]!;
      for (let k = 0; k < n - 2; k++) {
        const byte = chunks[(p + 2 + k) % n]![i]!;
        pSum ^= byte;
        qSum ^= times[k]![byte]!;
      }
      if (pSum !== 0) return `P wrong at chunk byte ${i} (row ${row})`;
      if (qSum !== 0) return `Q wrong at chunk byte ${i} (row ${row})`;
    }
  }
  return null;
}

export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
