// Seeded randomness for the parity tests: xorshift32, reproducible from the
// seed each test prints (set PARITY_SEED to replay one).

export interface Random {
  readonly seed: number;
  /** Integer in [0, bound). */
  below(bound: number): number;
  fill(buffer: Uint8Array): Uint8Array;
}

export function seededRandom(seed: number): Random {
  let state = (seed >>> 0) || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  return {
    seed,
    below: (bound) => next() % bound,
    fill(buffer) {
      for (let i = 0; i < buffer.length; i++) buffer[i] = next() & 0xff;
      return buffer;
    },
  };
}
