// The fractional hexadecimal digits of pi as 32-bit words: Blowfish's initial
// state is P[0..17] then S0..S3 (4 × 256 words), in that order, taken from
// them (Schneier, "Description of a New Variable-Length Key, 64-Bit Block
// Cipher (Blowfish)", 1993). Generated at first use instead of kept as an
// 8 KB table: the words follow from their definition, nothing is
// transcribed by hand, and the spot words asserted below plus the
// bcrypt_pbkdf known answers check the result. It costs some tens of
// milliseconds once per thread.
//
// pi = 16·atan(1/5) − 4·atan(1/239) (Machin), in fixed point with `guardBits`
// bits below the last wanted digit; each term's truncation is off by at most
// one unit, and the few thousand terms stay far inside the guard bits.
import { assert } from '@openbsd38/libutil/assert.js';

const guardBits = 64n;

/** atan(1/x) · 2^bits, by its Taylor series. */
function atanInverse(x: bigint, one: bigint): bigint {
  const xSquared = x * x;
  let power = one / x;
  let sum = power;
  let sign = -1n;
  for (let k = 1n; power !== 0n; k++) {
    power /= xSquared;
    sum += sign * (power / (2n * k + 1n));
    sign = -sign;
  }
  return sum;
}

/** The first `count` 32-bit words of pi's fraction (pi = 3.243f6a88 85a308d3 ... in hexadecimal). */
export function piFractionWords(count: number): Uint32Array {
  assert(Number.isSafeInteger(count) && count >= 1 && count <= 1 << 16, `piFractionWords: ${count} words`);
  const bits = BigInt(count * 32) + guardBits;
  const one = 1n << bits;
  const pi = 16n * atanInverse(5n, one) - 4n * atanInverse(239n, one);
  const fraction = (pi - 3n * one) >> guardBits;
  const hex = fraction.toString(16).padStart(count * 8, '0');
  const words = new Uint32Array(count);
  for (let i = 0; i < count; i++) words[i] = Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16);
  return words;
}
