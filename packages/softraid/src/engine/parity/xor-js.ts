// Portable XOR kernel: the fallback when WebAssembly SIMD is unavailable,
// and the reference the WebAssembly kernel is proven equal to.
import { assert } from '@openbsd38/libutil/assert.js';

/** target[i] ^= source[i] for every byte of target. */
export function xorIntoJs(target: Uint8Array, source: Uint8Array): void {
  assert(source.length >= target.length, 'xorInto: source shorter than target');
  const length = target.length;
  let i = 0;
  // Word-at-a-time when both views are 4-byte aligned.
  if ((target.byteOffset & 3) === 0 && (source.byteOffset & 3) === 0) {
    const words = length >>> 2;
    const target32 = new Uint32Array(target.buffer, target.byteOffset, words);
    const source32 = new Uint32Array(source.buffer, source.byteOffset, words);
    for (let w = 0; w < words; w++) target32[w]! ^= source32[w]!;
    i = words << 2;
  }
  for (; i < length; i++) target[i]! ^= source[i]!;
}
