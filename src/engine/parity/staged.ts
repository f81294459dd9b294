// Copy-in/copy-out for buffers that live outside the arena: the SIMD kernel
// runs over small staging windows (kept in cache), so a large XOR of plain
// Uint8Arrays still beats the JS loop. Buffers already in the arena are used
// in place; only the others are staged.
import { assert } from '../../lib/assert.js';
import type { ParityArena } from './arena.js';
import { sameBytes } from './raid6-js.js';

export const stagingWindowBytes = 16 * 1024;
/** Sources one staged call may take; more fall back to JS. */
export const stagingSourcesMax = 15;

export class StagingArea {
  private readonly slots: Uint8Array[];

  /** null when the arena has no room for the windows. */
  static create(arena: ParityArena): StagingArea | null {
    const all = arena.alloc(stagingWindowBytes * (stagingSourcesMax + 1));
    return all === null ? null : new StagingArea(arena, all);
  }

  private constructor(private readonly arena: ParityArena, all: Uint8Array) {
    this.slots = Array.from({ length: stagingSourcesMax + 1 },
      (_s, i) => all.subarray(i * stagingWindowBytes, (i + 1) * stagingWindowBytes));
  }

  /** target = ⊕ sources, as ParityArena.xorMany, for buffers anywhere. */
  xorMany(target: Uint8Array, sources: readonly Uint8Array[]): void {
    assert(sources.length >= 1 && sources.length <= stagingSourcesMax, `staged xorMany: ${sources.length} sources`);
    const lengthBytes = target.length;
    const targetOwned = this.arena.owns(target);
    for (let start = 0; start < lengthBytes; start += stagingWindowBytes) {
      const end = Math.min(lengthBytes, start + stagingWindowBytes);
      const windowBytes = end - start;
      const targetWindow = targetOwned ? target.subarray(start, end) : this.slots[0]!.subarray(0, windowBytes);
      const sourceWindows = sources.map((source, index) => {
        if (sameBytes(source, target)) {
          if (!targetOwned) targetWindow.set(source.subarray(start, end));
          return targetWindow;
        }
        if (this.arena.owns(source)) return source.subarray(start, end);
        const slot = this.slots[index + 1]!.subarray(0, windowBytes);
        slot.set(source.subarray(start, end));
        return slot;
      });
      this.arena.xorMany(targetWindow, sourceWindows);
      if (!targetOwned) target.set(targetWindow, start);
    }
  }
}
