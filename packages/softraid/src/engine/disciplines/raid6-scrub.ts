// What a RAID 6 scrub compares and how a repair fixes it. Both syndromes
// are checked: P ⊕ (⊕ D[k]) and Q ⊕ (⊕ g^k·D[k]) must be zero over every
// sector column. A repair does what the syndromes say, as md's raid6check
// does and its in-kernel repair does not:
//   - only P's syndrome is non-zero: P is wrong, rewritten;
//   - only Q's: Q is wrong, rewritten;
//   - both, and every byte of the run agrees on one data strip z
//     (Q-syndrome = g^z·P-syndrome): D[z] is wrong, D[z] ⊕= P-syndrome;
//   - otherwise (more than one thing wrong): P and Q recomputed from the
//     data (md's repair).
import { divFloor } from '@openbsd38/libutil/units.js';
import { gfLog, gfOrder } from '../parity/gf256.js';
import { raid6Recover, raid6Syndrome, type Raid6Strip } from '../parity/index.js';
import { isZero } from './bytes.js';
import { raid6StripOf } from './raid6-layout.js';
import { chunkOfStrip } from './raid6-rows.js';
import type { Geometry, ScrubRules } from './discipline.js';

const sectorBytes = 512;

/** The row's strips over piece bytes [start, end), views of `buffers`: data in order, P, Q. */
function rowViews(g: Geometry, row: number, buffers: readonly Uint8Array[], start: number, end: number): { data: Uint8Array[]; p: Uint8Array; q: Uint8Array } {
  const n = g.chunkCount;
  const view = (strip: Raid6Strip): Uint8Array => buffers[chunkOfStrip(row, strip, n)]!.subarray(start, end);
  return { data: Array.from({ length: n - 2 }, (_v, k) => view(k)), p: view('p'), q: view('q') };
}

/** The data strip a run's error lies in, when both syndromes agree on exactly one; else null. */
function singleDataError(pSyndrome: Uint8Array, qSyndrome: Uint8Array, dataStrips: number): number | null {
  let z = -1;
  for (let i = 0; i < pSyndrome.length; i++) {
    const ps = pSyndrome[i]!;
    const qs = qSyndrome[i]!;
    if (ps === 0 && qs === 0) continue;
    if (ps === 0 || qs === 0) return null;
    const candidate = (gfLog[qs]! - gfLog[ps]! + gfOrder) % gfOrder;
    if (z >= 0 && candidate !== z) return null;
    z = candidate;
  }
  return z >= 0 && z < dataStrips ? z : null;
}

export const raid6Scrub: ScrubRules = {
  acceptsBlockBytes: (g, blockBytes) => g.stripSizeBytes % blockBytes === 0,

  /** Up to two bad chunks in a block (one row: blocks do not straddle strips), from P and Q. */
  regenerate(g, chunkOffsetBytes, buffers, bad, start, end) {
    if (bad.length > 2) return null;
    const row = divFloor(chunkOffsetBytes + start, g.stripSizeBytes);
    const copies = buffers.map((buffer) => buffer.slice(start, end));
    const lost = bad.map((chunkIndex) => raid6StripOf(row, chunkIndex, g.chunkCount));
    const views = rowViews(g, row, copies, 0, end - start);
    raid6Recover(views.data, views.p, views.q, lost);
    return bad.map((chunkIndex) => copies[chunkIndex]!);
  },

  inspect(g, chunkOffsetBytes, buffers) {
    const length = buffers[0]!.length;
    const pSyndrome = new Uint8Array(length);
    const qSyndrome = new Uint8Array(length);
    // Row by row: P and Q move with the row.
    for (let start = 0; start < length;) {
      const row = divFloor(chunkOffsetBytes + start, g.stripSizeBytes);
      const end = Math.min(length, (row + 1) * g.stripSizeBytes - chunkOffsetBytes);
      const views = rowViews(g, row, buffers, start, end);
      const p = pSyndrome.subarray(start, end);
      const q = qSyndrome.subarray(start, end);
      raid6Syndrome(p, q, views.data);
      for (let i = 0; i < p.length; i++) {
        p[i]! ^= views.p[i]!;
        q[i]! ^= views.q[i]!;
      }
      start = end;
    }
    if (isZero(pSyndrome) && isZero(qSyndrome)) return null;
    const rowOf = (sector: number): number => divFloor(chunkOffsetBytes + sector * sectorBytes, g.stripSizeBytes);
    const sectorOf = (syndrome: Uint8Array, sector: number): Uint8Array => syndrome.subarray(sector * sectorBytes, (sector + 1) * sectorBytes);
    return {
      mismatched: (sector) => !isZero(sectorOf(pSyndrome, sector)) || !isZero(sectorOf(qSyndrome, sector)),
      groupOf: rowOf,
      repair(start, end) {
        const row = rowOf(start / sectorBytes);
        const n = g.chunkCount;
        const ps = pSyndrome.subarray(start, end);
        const qs = qSyndrome.subarray(start, end);
        const chunk = (strip: Raid6Strip): number => chunkOfStrip(row, strip, n);
        const fixed = (strip: Raid6Strip, syndrome: Uint8Array): Uint8Array => {
          const bytes = buffers[chunk(strip)]!.slice(start, end);
          for (let i = 0; i < bytes.length; i++) bytes[i]! ^= syndrome[i]!;
          return bytes;
        };
        const pWrong = !isZero(ps);
        const qWrong = !isZero(qs);
        if (pWrong && !qWrong) return { confirm: null, rewrites: [{ chunkIndex: chunk('p'), bytes: fixed('p', ps) }] };
        if (qWrong && !pWrong) return { confirm: null, rewrites: [{ chunkIndex: chunk('q'), bytes: fixed('q', qs) }] };
        const z = singleDataError(ps, qs, n - 2);
        if (z !== null) return { confirm: null, rewrites: [{ chunkIndex: chunk(z), bytes: fixed(z, ps) }] };
        return { confirm: null, rewrites: [{ chunkIndex: chunk('p'), bytes: fixed('p', ps) }, { chunkIndex: chunk('q'), bytes: fixed('q', qs) }] };
      },
    };
  },
};
