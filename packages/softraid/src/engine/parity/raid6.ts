// RAID 6 P/Q generation and recovery, written once over a small set of
// kernels (JS or WebAssembly SIMD). Strips are numbered 0..n-1 for data,
// then 'p' and 'q'. The algebra, with g = 2 in GF(2^8)/0x11D:
//   P = ⊕ D[i]          Q = ⊕ g^i·D[i]
// Recovery, by what is lost (at most two strips):
//   1. P and/or Q only: recompute the syndrome.
//   2. D[x] (and maybe Q): D[x] = P ⊕ the other data; then Q if lost.
//   3. D[x] and P: zero D[x], Q' = syndrome; D[x] = g^-x·(Q ⊕ Q'); P = P' ⊕ D[x].
//   4. D[x] and D[y], x < y: zero both, P', Q' = syndrome; Pxy = P ⊕ P',
//      Qxy = Q ⊕ Q'; D[x] = A·Pxy ⊕ B·Qxy, D[y] = Pxy ⊕ D[x], where
//      A = g^(y-x) / (g^(y-x) ⊕ 1) and B = g^-x / (g^(y-x) ⊕ 1).
// Lost strips' buffers are outputs: their old contents are ignored. In cases
// 1 and 2 a present P is rewritten with the identical bytes it held.
import { assert } from '@openbsd38/libutil/assert.js';
import { zeroBytes } from '@openbsd38/libutil/copy-bytes.js';
import { gfDivide, gfPowGenerator } from './gf256.js';

export type Raid6Strip = number | 'p' | 'q';

/** The primitives recovery is built from; contracts as in wasm-kernels.ts. */
export interface Raid6Kernels {
  xorMany(target: Uint8Array, sources: readonly Uint8Array[]): void;
  syndrome(p: Uint8Array, q: Uint8Array, data: readonly Uint8Array[]): void;
  recover2(dx: Uint8Array, dy: Uint8Array, p: Uint8Array, q: Uint8Array, a: number, b: number): void;
  recover1(dx: Uint8Array, p: Uint8Array, q: Uint8Array, c: number): void;
}

/** Data strips RAID 6 can address: g^i must be distinct, so i < 255. */
export const raid6DataStripsMax = 255;

export function checkRaid6Strips(p: Uint8Array, q: Uint8Array, data: readonly Uint8Array[]): void {
  assert(data.length >= 1 && data.length <= raid6DataStripsMax, `raid6: ${data.length} data strips`);
  assert(q.length === p.length, 'raid6: P and Q lengths differ');
  for (const strip of data) assert(strip.length === p.length, 'raid6: data strip length differs from P');
}

export function raid6Recover(
  kernels: Raid6Kernels, data: readonly Uint8Array[], p: Uint8Array, q: Uint8Array, lost: readonly Raid6Strip[],
): void {
  checkRaid6Strips(p, q, data);
  assert(lost.length <= 2 && new Set(lost).size === lost.length, `raid6Recover: cannot recover ${lost.join(',')}`);
  const lostData = lost.filter((s): s is number => typeof s === 'number').sort((a, b) => a - b);
  for (const x of lostData) assert(Number.isInteger(x) && x >= 0 && x < data.length, `raid6Recover: no strip ${x}`);
  const lostP = lost.includes('p');
  const lostQ = lost.includes('q');
  const [x, y] = lostData;
  if (x === undefined) {
    if (lostQ) kernels.syndrome(p, q, data);
    else if (lostP) kernels.xorMany(p, data);
  } else if (y !== undefined) {
    const dx = data[x]!;
    const dy = data[y]!;
    zeroBytes(dx);
    zeroBytes(dy);
    kernels.syndrome(dx, dy, data);
    const gyx = gfPowGenerator(y - x);
    const denominator = gyx ^ 1;
    kernels.recover2(dx, dy, p, q, gfDivide(gyx, denominator), gfDivide(gfPowGenerator(-x), denominator));
  } else if (lostP) {
    const dx = data[x]!;
    zeroBytes(dx);
    kernels.syndrome(p, dx, data);
    kernels.recover1(dx, p, q, gfPowGenerator(-x));
  } else {
    kernels.xorMany(data[x]!, [p, ...data.filter((_d, i) => i !== x)]);
    if (lostQ) kernels.syndrome(p, q, data);
  }
}
