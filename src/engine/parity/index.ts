// Parity kernels, chosen once at start-up. Today: the portable JS XOR.
import { xorIntoJs } from './xor-js.js';

/** target ^= source, byte for byte over target's length. */
export const xorInto: (target: Uint8Array, source: Uint8Array) => void = xorIntoJs;

/** target = sources[0] ^ sources[1] ^ ... (target may not alias any source). */
export function xorOf(target: Uint8Array, sources: readonly Uint8Array[]): void {
  target.fill(0);
  for (const source of sources) xorInto(target, source);
}
