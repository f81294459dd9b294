// Overlap serialization (softraid's work-unit collisions): a request whose
// volume range overlaps one queued or running before it waits for it, in
// arrival order; requests that do not overlap run in parallel. RAID 5 locks
// whole rows (its discipline's lockRange), so this is also its stripe lock.
import { assert } from '../../lib/assert.js';

interface Entry {
  startBytes: number;
  endBytes: number;
  granted: boolean;
  grant: () => void;
}

export type Release = () => void;

export class RangeLock {
  /** Queued and granted entries in arrival order. */
  private readonly entries: Entry[] = [];

  constructor(private readonly entriesMax: number) {
    assert(Number.isSafeInteger(entriesMax) && entriesMax > 0, 'RangeLock: bad entriesMax');
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * Queues the range at once (the caller's order is the order overlapping
   * requests run in) and resolves when every earlier overlapping entry has
   * been released.
   */
  acquire(offsetBytes: number, lengthBytes: number): Promise<Release> {
    assert(this.entries.length < this.entriesMax, `RangeLock: more than ${this.entriesMax} entries`);
    const entry: Entry = { startBytes: offsetBytes, endBytes: offsetBytes + Math.max(1, lengthBytes), granted: false, grant: () => {} };
    const free = !this.entries.some((other) => overlaps(other, entry));
    this.entries.push(entry);
    const release: Release = () => this.release(entry);
    if (free) {
      entry.granted = true;
      return Promise.resolve(release);
    }
    return new Promise((resolve) => {
      entry.grant = () => resolve(release);
    });
  }

  private release(entry: Entry): void {
    const index = this.entries.indexOf(entry);
    assert(index >= 0 && entry.granted, 'RangeLock: release of a range not held');
    this.entries.splice(index, 1);
    for (let i = index; i < this.entries.length; i++) {
      const waiting = this.entries[i]!;
      if (waiting.granted || !overlaps(waiting, entry)) continue;
      let blocked = false;
      for (let j = 0; j < i && !blocked; j++) blocked = overlaps(this.entries[j]!, waiting);
      if (!blocked) {
        waiting.granted = true;
        waiting.grant();
      }
    }
  }
}

function overlaps(a: Entry, b: Entry): boolean {
  return a.startBytes < b.endBytes && b.startBytes < a.endBytes;
}
