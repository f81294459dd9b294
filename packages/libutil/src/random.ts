// The one seeded random source, for tests, the simulator and fault injection
// (mulberry32): the same seed replays the same run. Not for keys or UUIDs.

/** Uniform numbers in [0, 1) from a 32-bit seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The same stream as integers and bytes, remembering its seed (for a test to print). */
export interface RandomSource {
  readonly seed: number;
  /** Integer in [0, bound). */
  below(bound: number): number;
  fill(buffer: Uint8Array): Uint8Array;
}

export function seededSource(seed: number): RandomSource {
  const next = seededRandom(seed);
  return {
    seed,
    below: (bound) => Math.floor(next() * bound),
    fill(buffer) {
      for (let i = 0; i < buffer.length; i++) buffer[i] = Math.floor(next() * 256);
      return buffer;
    },
  };
}
