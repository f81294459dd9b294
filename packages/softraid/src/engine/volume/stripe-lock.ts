// Overlap serialization (softraid's work-unit collisions): a request whose
// volume range conflicts with one queued or running before it waits for it,
// in arrival order; requests that do not conflict run in parallel. Two
// ranges conflict when they overlap and at least one of them is exclusive:
// reads take the range shared (they never wait for each other), writes,
// rebuild and scrub pieces exclusive. RAID 5 locks whole rows (its
// discipline's lockRange), so this is also its stripe lock.
import { assert } from '@openbsd38/libutil/assert.js';

export type LockMode = 'shared' | 'exclusive';

interface Entry {
  startBytes: number;
  endBytes: number;
  shared: boolean;
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
   * Queues the range at once (the caller's order is the order conflicting
   * requests run in) and resolves when every earlier conflicting entry has
   * been released. A shared entry queued behind an exclusive one waits too,
   * so that a stream of reads never starves a write.
   */
  acquire(offsetBytes: number, lengthBytes: number, mode: LockMode = 'exclusive'): Promise<Release> {
    assert(this.entries.length < this.entriesMax, `RangeLock: more than ${this.entriesMax} entries`);
    const entry: Entry = {
      startBytes: offsetBytes, endBytes: offsetBytes + Math.max(1, lengthBytes), shared: mode === 'shared', granted: false, grant: () => {},
    };
    const free = !this.entries.some((other) => conflicts(other, entry));
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
      if (waiting.granted || !conflicts(waiting, entry)) continue;
      let blocked = false;
      for (let j = 0; j < i && !blocked; j++) blocked = conflicts(this.entries[j]!, waiting);
      if (!blocked) {
        waiting.granted = true;
        waiting.grant();
      }
    }
  }
}

function conflicts(a: Entry, b: Entry): boolean {
  return a.startBytes < b.endBytes && b.startBytes < a.endBytes && !(a.shared && b.shared);
}
