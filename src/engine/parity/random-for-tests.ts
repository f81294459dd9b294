// Seeded randomness for the parity tests, reproducible from the seed each
// test prints (set PARITY_SEED to replay one).
import { seededRandom as uniform } from '../../lib/random.js';

export interface Random {
  readonly seed: number;
  /** Integer in [0, bound). */
  below(bound: number): number;
  fill(buffer: Uint8Array): Uint8Array;
}

export function seededRandom(seed: number): Random {
  const next = uniform(seed);
  return {
    seed,
    below: (bound) => Math.floor(next() * bound),
    fill(buffer) {
      for (let i = 0; i < buffer.length; i++) buffer[i] = Math.floor(next() * 256);
      return buffer;
    },
  };
}
