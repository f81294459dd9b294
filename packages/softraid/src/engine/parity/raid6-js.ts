// Portable RAID 6 kernels: the fallback when WebAssembly SIMD is missing and
// the reference the SIMD kernels are proven equal to. Same contracts as the
// WebAssembly exports (see wasm-kernels.ts), including the aliasing rule: an
// output may be the very same buffer as an input.
import { assert } from '@openbsd38/libutil/assert.js';
import { gfMultiplyRow } from './gf256.js';
import { xorIntoJs } from './xor-js.js';

/** The syndrome is computed in windows so outputs may alias inputs. */
const syndromeWindowBytes = 4096;

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset;
}

/** target = sources[0] ^ ... ^ sources[k-1]; target may be one of the sources. */
export function xorManyJs(target: Uint8Array, sources: readonly Uint8Array[]): void {
  assert(sources.length >= 1, 'xorMany: no sources');
  const aliased = sources.findIndex((source) => sameBytes(source, target));
  if (aliased < 0) target.set(sources[0]!.subarray(0, target.length));
  const first = aliased < 0 ? 0 : aliased;
  sources.forEach((source, index) => {
    if (index !== first) xorIntoJs(target, source);
  });
}

/** Doubles four GF(2^8) bytes at once: shift left, fold each carry back as 0x1D. */
function multiplyByGenerator32(q: number): number {
  return ((q & 0x7f7f7f7f) << 1) ^ (((q >>> 7) & 0x01010101) * 0x1d);
}

/**
 * P = ⊕ data[i]; Q = ⊕ g^i·data[i]. Each window is copied into aligned
 * scratch and worked four bytes at a time; outputs are written only after
 * the whole window is read, so they may alias inputs.
 */
export function syndromeJs(p: Uint8Array, q: Uint8Array, data: readonly Uint8Array[]): void {
  assert(data.length >= 1, 'syndrome: no data strips');
  const windowP = new Uint8Array(syndromeWindowBytes);
  const windowQ = new Uint8Array(syndromeWindowBytes);
  const windowD = new Uint8Array(syndromeWindowBytes);
  const p32 = new Uint32Array(windowP.buffer);
  const q32 = new Uint32Array(windowQ.buffer);
  const d32 = new Uint32Array(windowD.buffer);
  for (let start = 0; start < p.length; start += syndromeWindowBytes) {
    const end = Math.min(p.length, start + syndromeWindowBytes);
    const lengthBytes = end - start;
    const words = Math.ceil(lengthBytes / 4);
    windowP.set(data[data.length - 1]!.subarray(start, end));
    windowQ.set(windowP.subarray(0, lengthBytes));
    for (let j = data.length - 2; j >= 0; j--) {
      windowD.set(data[j]!.subarray(start, end));
      for (let w = 0; w < words; w++) {
        const d = d32[w]!;
        p32[w]! ^= d;
        q32[w] = multiplyByGenerator32(q32[w]!) ^ d;
      }
    }
    p.set(windowP.subarray(0, lengthBytes), start);
    q.set(windowQ.subarray(0, lengthBytes), start);
  }
}

/** pxy = P^Dx, qxy = Q^Dy; Dx = a·pxy ^ b·qxy; Dy = pxy ^ Dx. */
export function recover2Js(dx: Uint8Array, dy: Uint8Array, p: Uint8Array, q: Uint8Array, a: number, b: number): void {
  const rowA = gfMultiplyRow(a);
  const rowB = gfMultiplyRow(b);
  for (let i = 0; i < dx.length; i++) {
    const pxy = p[i]! ^ dx[i]!;
    const qxy = q[i]! ^ dy[i]!;
    const d = rowA[pxy]! ^ rowB[qxy]!;
    dx[i] = d;
    dy[i] = pxy ^ d;
  }
}

/** d = c·(Q^Dx); Dx = d; P ^= d. */
export function recover1Js(dx: Uint8Array, p: Uint8Array, q: Uint8Array, c: number): void {
  const row = gfMultiplyRow(c);
  for (let i = 0; i < dx.length; i++) {
    const d = row[q[i]! ^ dx[i]!]!;
    dx[i] = d;
    p[i]! ^= d;
  }
}
