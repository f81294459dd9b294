// GF(2^8) modulo x^8+x^4+x^3+x^2+1 (0x11D, as Linux md), computed bit by
// bit: the tests' reference for RAID 6's Q, independent of the engine's
// tables and kernels (src/engine/parity).

/** a·b, bit by bit. */
export function gfMultiply(a: number, b: number): number {
  let product = 0;
  for (let bit = 0; bit < 8; bit++) {
    if (b & (1 << bit)) product ^= a;
    a <<= 1;
    if (a & 0x100) a ^= 0x11d;
  }
  return product;
}

/** g^k for the generator g = 2: Q's coefficient of data strip k. */
export function gfPowerOf2(k: number): number {
  let value = 1;
  for (let i = 0; i < k; i++) value = gfMultiply(value, 2);
  return value;
}
