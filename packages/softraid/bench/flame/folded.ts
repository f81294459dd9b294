// Folded stacks: the interchange between a profiler's output and a flame
// graph. Each key is one call stack, outermost frame first, frames joined by
// ';'; each value is how many samples (or microseconds) ended in it.
export type FoldedStacks = Map<string, number>;

export function addStack(folded: FoldedStacks, frames: readonly string[], weight: number): void {
  if (frames.length === 0 || !(weight > 0)) return;
  // ';' separates frames: one inside a name (a C++ template, a file path) would split it.
  const key = frames.map((frame) => frame.replaceAll(';', ':')).join(';');
  folded.set(key, (folded.get(key) ?? 0) + weight);
}

/** The folded text format (`stack count` per line), sorted, as other flame graph tools read it. */
export function formatFolded(folded: FoldedStacks): string {
  return [...folded].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([stack, weight]) => `${stack} ${weight}\n`).join('');
}
