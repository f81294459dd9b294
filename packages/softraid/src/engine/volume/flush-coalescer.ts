// Group commit for member flushes. A flush asked for must cover every write
// completed before the asking, so it may share a flush that starts after
// the ask, never one already running. Per chunk: at most one flush runs and
// one waits; everyone who asks while one runs shares the one that waits.
// Concurrent partial-row writes (RAID 5 random writes) then share their
// partial parity log flushes instead of each paying two or three.
export class FlushCoalescer {
  private readonly running: (Promise<void> | null)[];
  private readonly waiting: (Promise<void> | null)[];
  readonly counters = { asked: 0, flushed: 0 };

  constructor(chunkCount: number, private readonly flushChunk: (chunkIndex: number) => Promise<void>) {
    this.running = Array.from({ length: chunkCount }, () => null);
    this.waiting = Array.from({ length: chunkCount }, () => null);
  }

  /** Resolves once a flush of the chunk that started after this call has completed. */
  flush(chunkIndex: number): Promise<void> {
    this.counters.asked++;
    const waiting = this.waiting[chunkIndex];
    if (waiting) return waiting;
    const running = this.running[chunkIndex];
    if (!running) return this.start(chunkIndex);
    const next = running.then(noop, noop).then(() => {
      this.waiting[chunkIndex] = null;
      return this.start(chunkIndex);
    });
    this.waiting[chunkIndex] = next;
    return next;
  }

  private start(chunkIndex: number): Promise<void> {
    this.counters.flushed++;
    const flushing = this.flushChunk(chunkIndex).finally(() => {
      if (this.running[chunkIndex] === flushing) this.running[chunkIndex] = null;
    });
    this.running[chunkIndex] = flushing;
    return flushing;
  }
}

function noop(): void {}
