// An in-memory chunk with seeded fault injection, for tests and the
// deterministic simulator: read/write errors with an errno, torn writes,
// latency, and a chunk that disappears. Writes land in a volatile cache
// until flush() makes them durable, so crash() can drop unflushed writes.
import { type Errno } from '@openbsd38/libutil/errors.js';
import { ChunkIoError } from '../engine/errors.js';
import { assert } from '@openbsd38/libutil/assert.js';
import type { ChunkBackend } from '../engine/chunk.js';
import { seededRandom } from '@openbsd38/libutil/random.js';

export interface MemoryChunkFaults {
  /** Probability (0..1) that a read fails. */
  readErrorRate?: number;
  /** Probability (0..1) that a write fails. */
  writeErrorRate?: number;
  /** errno of injected failures (EIO by default). */
  errno?: Errno;
  /** Fail every read/write/flush touching [offsetBytes, offsetBytes+lengthBytes). */
  badRanges?: { offsetBytes: number; lengthBytes: number; operations: ('read' | 'write')[] }[];
  /** Probability (0..1) that a failing write is torn: a random prefix lands before the error. */
  tornWriteRate?: number;
  /** Milliseconds of simulated latency per operation, drawn uniformly in [0, latencyMs]. */
  latencyMs?: number;
}


export class MemoryChunk implements ChunkBackend {
  readonly sectorSizeBytes = 512;
  /** What survives a crash. */
  readonly durable: Uint8Array;
  /** What reads see: durable contents plus writes not yet flushed. */
  readonly current: Uint8Array;
  faults: MemoryChunkFaults = {};
  /** A disappeared chunk fails every operation with ENOENT (a pulled disk). */
  disappeared = false;
  readonly counters = { reads: 0, writes: 0, flushes: 0, bytesWritten: 0 };
  private closed = false;
  /**
   * When set, flush() and crash() copy only the pages written through
   * write()/trim() since the last flush (fast for big chunks); leave it unset
   * when a test changes `current` or `durable` directly.
   */
  trackDirtyPages = false;
  /** One flag per page of `current` written since the last flush. */
  private readonly dirtyPages: Uint8Array;
  private static readonly pageBytes = 64 * 1024;
  /** Bumped by crash(): operations begun before it never complete (the process that issued them is gone). */
  private boot = 0;
  /**
   * Called synchronously as each operation reaches the device, before it
   * takes effect: the simulator counts crash points here, checks write
   * ordering against `durable`, and may call crash() (the operation is then lost).
   */
  beforeOperation: ((operation: 'read' | 'write' | 'flush' | 'trim', offsetBytes: number, lengthBytes: number) => void) | null = null;

  constructor(
    readonly name: string,
    readonly sizeBytes: number,
    private readonly random: () => number = seededRandom(1),
    readonly identity: string = `memory:${name}`,
  ) {
    assert(Number.isSafeInteger(sizeBytes) && sizeBytes >= 0, 'MemoryChunk: bad size');
    this.durable = new Uint8Array(sizeBytes);
    this.current = new Uint8Array(sizeBytes);
    this.dirtyPages = new Uint8Array(Math.ceil(sizeBytes / MemoryChunk.pageBytes));
  }

  async read(buffer: Uint8Array, offsetBytes: number): Promise<void> {
    await this.enter('read', offsetBytes, buffer.length);
    this.counters.reads++;
    buffer.set(this.current.subarray(offsetBytes, offsetBytes + buffer.length));
  }

  async write(buffer: Uint8Array, offsetBytes: number): Promise<void> {
    await this.enterWrite(buffer, offsetBytes);
    this.applyWrite(buffer, offsetBytes);
  }

  private async enterWrite(buffer: Uint8Array, offsetBytes: number, boot?: number): Promise<void> {
    try {
      await this.enter('write', offsetBytes, buffer.length, boot);
    } catch (error) {
      if ((this.faults.tornWriteRate ?? 0) > this.random() && !this.disappeared) {
        const landed = Math.floor(this.random() * buffer.length);
        this.current.set(buffer.subarray(0, landed), offsetBytes);
        this.markDirty(offsetBytes, landed);
      }
      throw error;
    }
  }

  private applyWrite(buffer: Uint8Array, offsetBytes: number): void {
    this.counters.writes++;
    this.counters.bytesWritten += buffer.length;
    this.current.set(buffer, offsetBytes);
    this.markDirty(offsetBytes, buffer.length);
  }

  async flush(): Promise<void> {
    await this.enter('flush', 0, 0);
    this.applyFlush();
  }

  private applyFlush(): void {
    this.counters.flushes++;
    if (this.trackDirtyPages) this.forEachDirtyPage((start, end) => this.durable.set(this.current.subarray(start, end), start));
    else this.durable.set(this.current);
    this.dirtyPages.fill(0);
  }

  async trim(offsetBytes: number, lengthBytes: number): Promise<void> {
    await this.enter('trim', offsetBytes, lengthBytes);
    this.current.fill(0, offsetBytes, offsetBytes + lengthBytes);
    this.markDirty(offsetBytes, lengthBytes);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Reopen after close (a restart of the daemon in a test). */
  reopen(): void {
    this.closed = false;
  }

  /**
   * A power cut: unflushed writes are lost, except that each may have
   * partially landed (torn) when `tornRate` says so.
   */
  crash(tornRate = 0): void {
    if (tornRate > 0) {
      for (let offset = 0; offset < this.sizeBytes; offset += this.sectorSizeBytes) {
        const end = Math.min(this.sizeBytes, offset + this.sectorSizeBytes);
        if (this.random() < tornRate) this.durable.set(this.current.subarray(offset, end), offset);
      }
    }
    if (this.trackDirtyPages) this.forEachDirtyPage((start, end) => this.current.set(this.durable.subarray(start, end), start));
    else this.current.set(this.durable);
    this.dirtyPages.fill(0);
    this.boot++;
  }

  /**
   * A handle for one life of the process using this chunk: after crash(),
   * every operation through it hangs forever, so nothing the crashed volume
   * still had in flight lands after the crash. Name, identity and size are
   * the chunk's.
   */
  handle(): ChunkBackend {
    const boot = this.boot;
    const live = async <T>(operation: () => Promise<T>): Promise<T> => {
      if (this.boot !== boot) return never<T>();
      const result = await operation();
      if (this.boot !== boot) return never<T>();
      return result;
    };
    return {
      name: this.name,
      identity: this.identity,
      sizeBytes: this.sizeBytes,
      sectorSizeBytes: this.sectorSizeBytes,
      read: (buffer, offsetBytes) => live(() => this.readAt(buffer, offsetBytes, boot)),
      write: (buffer, offsetBytes) => live(() => this.writeAt(buffer, offsetBytes, boot)),
      flush: () => live(() => this.flushAt(boot)),
      trim: (offsetBytes, lengthBytes) => live(() => this.trim(offsetBytes, lengthBytes)),
      close: async () => {},
    };
  }

  private async readAt(buffer: Uint8Array, offsetBytes: number, boot: number): Promise<void> {
    await this.enter('read', offsetBytes, buffer.length, boot);
    this.counters.reads++;
    buffer.set(this.current.subarray(offsetBytes, offsetBytes + buffer.length));
  }

  private async writeAt(buffer: Uint8Array, offsetBytes: number, boot: number): Promise<void> {
    await this.enterWrite(buffer, offsetBytes, boot);
    this.applyWrite(buffer, offsetBytes);
  }

  private async flushAt(boot: number): Promise<void> {
    await this.enter('flush', 0, 0, boot);
    this.applyFlush();
  }

  private markDirty(offsetBytes: number, lengthBytes: number): void {
    if (lengthBytes <= 0) return;
    const first = Math.floor(offsetBytes / MemoryChunk.pageBytes);
    const last = Math.floor((offsetBytes + lengthBytes - 1) / MemoryChunk.pageBytes);
    this.dirtyPages.fill(1, first, last + 1);
  }

  private forEachDirtyPage(visit: (startBytes: number, endBytes: number) => void): void {
    for (let page = 0; page < this.dirtyPages.length; page++) {
      if (this.dirtyPages[page] === 0) continue;
      const start = page * MemoryChunk.pageBytes;
      visit(start, Math.min(this.sizeBytes, start + MemoryChunk.pageBytes));
    }
  }

  private async enter(operation: 'read' | 'write' | 'flush' | 'trim', offsetBytes: number, lengthBytes: number, boot?: number): Promise<void> {
    assert(!this.closed, `${this.name}: I/O after close`);
    assert(Number.isSafeInteger(offsetBytes) && offsetBytes >= 0 && offsetBytes + lengthBytes <= this.sizeBytes,
      `${this.name}: ${operation} out of range: ${offsetBytes}+${lengthBytes} > ${this.sizeBytes}`);
    const latencyMs = this.faults.latencyMs ?? 0;
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.random() * latencyMs));
    else await Promise.resolve();
    // An operation of a process that crashed meanwhile never reaches the device.
    if (boot !== undefined && this.boot !== boot) return never();
    const bootNow = this.boot;
    this.beforeOperation?.(operation, offsetBytes, lengthBytes);
    if (this.boot !== bootNow) return never();
    const errno = this.faults.errno ?? 'EIO';
    if (this.disappeared) throw new ChunkIoError(operation, this.name, offsetBytes, lengthBytes, 'ENOENT', 'device disappeared');
    const rate = operation === 'read' ? this.faults.readErrorRate : operation === 'write' ? this.faults.writeErrorRate : 0;
    if ((rate ?? 0) > 0 && this.random() < (rate ?? 0)) throw new ChunkIoError(operation, this.name, offsetBytes, lengthBytes, errno, 'injected');
    for (const range of this.faults.badRanges ?? []) {
      const overlaps = offsetBytes < range.offsetBytes + range.lengthBytes && range.offsetBytes < offsetBytes + lengthBytes;
      if (overlaps && (range.operations as string[]).includes(operation)) {
        throw new ChunkIoError(operation, this.name, offsetBytes, lengthBytes, errno, 'injected bad range');
      }
    }
  }
}

/** A promise that never settles: I/O of a process that crashed. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}
