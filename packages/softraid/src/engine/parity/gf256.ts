// GF(2^8) arithmetic for RAID 6, as Linux md and most RAID 6 hardware define
// it: the field modulo x^8 + x^4 + x^3 + x^2 + 1 (0x11D), generator g = 2.
// Log/exp tables are the reference; everything faster is tested against them.
import { assert } from '@openbsd38/libutil/assert.js';

export const gfPolynomial = 0x11d;
export const gfGenerator = 2;
/** The multiplicative group's order: g^255 = 1. */
export const gfOrder = 255;

/** exp[i] = g^i for i in 0..509 (doubled so exp[log a + log b] needs no mod). */
export const gfExp = new Uint8Array(2 * gfOrder);
/** log[a] for a in 1..255; log[0] is undefined and left 0. */
export const gfLog = new Uint8Array(256);

{
  let value = 1;
  for (let i = 0; i < gfOrder; i++) {
    gfExp[i] = value;
    gfExp[i + gfOrder] = value;
    gfLog[value] = i;
    value <<= 1;
    if (value & 0x100) value ^= gfPolynomial;
  }
  assert(value === 1, 'gf256: 2 is not a generator of 0x11D');
}

export function gfMultiply(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return gfExp[gfLog[a]! + gfLog[b]!]!;
}

export function gfInverse(a: number): number {
  assert(a !== 0, 'gfInverse: 0 has no inverse');
  return gfExp[gfOrder - gfLog[a]!]!;
}

export function gfDivide(a: number, b: number): number {
  return gfMultiply(a, gfInverse(b));
}

/** g^exponent for any integer exponent (negative allowed). */
export function gfPowGenerator(exponent: number): number {
  assert(Number.isInteger(exponent), 'gfPowGenerator: integer exponent');
  return gfExp[((exponent % gfOrder) + gfOrder) % gfOrder]!;
}

/** The full 256-entry product row c·x for every x. */
export function gfMultiplyRow(c: number): Uint8Array {
  const row = new Uint8Array(256);
  for (let x = 0; x < 256; x++) row[x] = gfMultiply(c, x);
  return row;
}

/** The 32 bytes the SIMD kernels use for c·x: lo[n] = c·n, hi[n] = c·(n << 4). */
export function gfNibbleTables(c: number): Uint8Array {
  const tables = new Uint8Array(32);
  for (let n = 0; n < 16; n++) {
    tables[n] = gfMultiply(c, n);
    tables[16 + n] = gfMultiply(c, n << 4);
  }
  return tables;
}
