// Copy-in/copy-out for buffers that live outside the arena: the SIMD kernel
// runs over small staging windows (kept in cache), so a large XOR of plain
// Uint8Arrays still beats the JS loop. Buffers already in the arena are used
// in place; only the others are staged.
import { assert } from '@openbsd38/libutil/assert.js';
import { copyBytes } from '@openbsd38/libutil/copy-bytes.js';
import type { ParityArena } from './arena.js';
import { sameBytes } from './raid6-js.js';

/**
 * 64 KiB: a RAID 5 strip per window. Measured (bench/parity.ts's machine, 2 plain
 * sources and 1 in the arena into a plain target of 64 KiB): 4.0 GB/s with
 * 16 KiB windows, 5.5 with 32, 6.0 with 64, 5.5 with 128; the cost below
 * 64 KiB is the loop's per-window work, above it the windows leave the cache.
 */
export const stagingWindowBytes = 64 * 1024;
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
    // Per source, decided once: the target itself, in the arena already, or staged through its slot.
    const kinds = sources.map((source) => (sameBytes(source, target) ? aliasedKind : this.arena.owns(source) ? ownedKind : stagedKind));
    const windows: Uint8Array[] = new Array<Uint8Array>(sources.length);
    for (let start = 0; start < lengthBytes; start += stagingWindowBytes) {
      const end = Math.min(lengthBytes, start + stagingWindowBytes);
      const windowBytes = end - start;
      const targetWindow = targetOwned ? target.subarray(start, end) : this.slots[0]!.subarray(0, windowBytes);
      for (let index = 0; index < sources.length; index++) {
        const source = sources[index]!;
        const kind = kinds[index]!;
        if (kind === aliasedKind) {
          if (!targetOwned) copyBytes(targetWindow, source.subarray(start, end));
          windows[index] = targetWindow;
        } else if (kind === ownedKind) {
          windows[index] = source.subarray(start, end);
        } else {
          const slot = this.slots[index + 1]!.subarray(0, windowBytes);
          copyBytes(slot, source.subarray(start, end));
          windows[index] = slot;
        }
      }
      this.arena.xorMany(targetWindow, windows);
      if (!targetOwned) copyBytes(target, targetWindow, start);
    }
  }
}

const aliasedKind = 0;
const ownedKind = 1;
const stagedKind = 2;
