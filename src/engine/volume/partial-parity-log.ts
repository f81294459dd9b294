// The RAID 5 partial parity log in memory (md's PPL; docs/write-ordering.md
// and docs/RELIABILITY.md). Each chunk's journal region is a pool of records
// for the rows whose parity that chunk holds.
//   log()        before a partial-row write issues its data and parity
//                writes: allocate, write the records, flush their chunks;
//   done         the write is over (its data may still be volatile);
//   flush        Volume.flush: members flushed, then the records done before
//                it invalidated (header sector zeroed) and the members
//                flushed again — so a record still valid after a crash
//                always belongs to a write no completed flush covered;
//   recover()    at the first use after assembly: every valid record, in
//                sequence order, rewrites parity as partial parity XOR the
//                modified strips as they are now, when its parity chunk is
//                writable and its modified chunks are readable.
import { assert } from '../../lib/assert.js';
import { xorInto } from '../parity/index.js';
import { ChunkRetry } from '../disciplines/sub-io.js';
import {
  decodePplRecord, encodePplRecord, pplAnnouncedBytes, pplHeaderBytes, pplRecordBytes, type PplRecord,
} from '../metadata/partial-parity-log.js';
import { blockBytes, type Region } from '../metadata/layout.js';
import type { PartialParityEntry } from '../disciplines/discipline.js';
import type { MemberSet } from './member-set.js';
import { FlushCoalescer } from './flush-coalescer.js';

interface LiveRecord {
  chunkIndex: number;
  /** Offset inside the journal region. */
  offsetBytes: number;
  lengthBytes: number;
  done: boolean;
}

export interface PplTicket {
  /** The write the records protect is over (successful or not). */
  done(): void;
}

export interface RecoveryResult {
  recordsFound: number;
  recordsApplied: number;
  recordsSkipped: number;
}

export class PartialParityLog {
  private sequence = 1;
  /** Per chunk: live records sorted by offset. */
  private readonly live: LiveRecord[][];
  private spaceWaiters: (() => void)[] = [];
  readonly counters = { records: 0, spaceFlushes: 0, invalidated: 0, dataFlushes: 0 };
  /** Concurrent partial-row writes share the flushes around their records (group commit). */
  readonly flushes: FlushCoalescer;

  constructor(private readonly members: MemberSet, readonly region: Region) {
    this.live = Array.from({ length: members.chunkCount }, () => []);
    this.flushes = new FlushCoalescer(members.chunkCount, (chunkIndex) => members.flushChunk(chunkIndex));
    assert(region.lengthBytes >= 4 * pplHeaderBytes && region.lengthBytes % blockBytes === 0, 'ppl: journal region too small');
  }

  get capacityBytes(): number {
    return this.region.lengthBytes;
  }

  /**
   * Writes a record for every entry to its parity chunk and flushes those
   * chunks. Space is taken for all entries at once; when there is none,
   * completed records are retired by a member flush, or the call waits for
   * writes in flight to complete.
   */
  async log(entries: readonly PartialParityEntry[], uuid: string): Promise<PplTicket> {
    const records = entries.map((entry): PplRecord => ({ ...entry, uuid, sequence: this.sequence++ }));
    const encoded = records.map(encodePplRecord);
    let placed: LiveRecord[] | null;
    for (;;) {
      placed = this.allocate(records.map((record, i) => ({ chunkIndex: record.parityChunkIndex, lengthBytes: encoded[i]!.length })));
      if (placed !== null) break;
      await this.makeSpace();
    }
    const placedRecords = placed;
    const chunks = new Set(placedRecords.map((record) => record.chunkIndex));
    const ticket: PplTicket = {
      done: () => {
        for (const record of placedRecords) record.done = true;
        this.wakeWaiters();
      },
    };
    try {
      // The partial parity stands for the unmodified strips as the chunks hold
      // them: what earlier writes left there in volatile caches is made
      // durable first (md's ppl_do_flush), or a crash could lose it under a
      // record that assumes it. Only where the record's range was written
      // since the last flush: random writes elsewhere on the chunk do not matter.
      const unmodified = new Set<number>();
      for (const entry of entries) {
        for (let chunkIndex = 0; chunkIndex < this.members.chunkCount; chunkIndex++) {
          if (!entry.modifiedChunkIndexes.includes(chunkIndex) && chunkIndex !== entry.parityChunkIndex
            && this.members.hasUnflushedWritesIn(chunkIndex, entry.chunkOffsetBytes, entry.lengthBytes)) unmodified.add(chunkIndex);
        }
      }
      if (unmodified.size > 0) this.counters.dataFlushes++;
      await settle([...unmodified].map((chunkIndex) => this.flushes.flush(chunkIndex)));
      // A parity chunk that dropped out since the row was planned takes no
      // record: the request is planned again without it (no parity, no hole).
      await settle(placedRecords.map((record, i) => (this.members.isWritable(record.chunkIndex)
        ? this.members.writeReserved(record.chunkIndex, this.region.offsetBytes + record.offsetBytes, encoded[i]!)
        : Promise.reject(new ChunkRetry(record.chunkIndex, new Error('went offline before its partial parity record was written'))))));
      await settle([...chunks].map((chunkIndex) => this.flushes.flush(chunkIndex)));
    } catch (error) {
      ticket.done();
      throw error;
    }
    this.counters.records += records.length;
    return ticket;
  }

  /** Records whose writes are done: the ones a flush starting now retires. */
  takeDone(): LiveRecord[] {
    return this.live.flat().filter((record) => record.done);
  }

  /**
   * After a member flush that started after they were done: zero their
   * headers and free their space. The caller flushes again before the space
   * can be reused durably (flushAll does, makeSpace does).
   */
  async retire(records: readonly LiveRecord[]): Promise<void> {
    if (records.length === 0) return;
    const zero = new Uint8Array(pplHeaderBytes);
    await settleTolerant(records.map(async (record) => {
      // Another flush may have retired it already, and its space may hold a new record.
      if (!this.live[record.chunkIndex]!.includes(record)) return;
      if (this.members.isWritable(record.chunkIndex)) {
        await this.members.writeReserved(record.chunkIndex, this.region.offsetBytes + record.offsetBytes, zero);
      }
    }), this.members);
    for (const record of records) {
      const list = this.live[record.chunkIndex]!;
      const index = list.indexOf(record);
      if (index >= 0) list.splice(index, 1);
    }
    this.counters.invalidated += records.length;
    this.wakeWaiters();
  }

  /**
   * Replays the log of every writable member (see the file comment), then
   * zeroes every record header found, flushing before and after. Returns
   * what it did. Runs before any other I/O of the volume.
   */
  async recover(uuid: string): Promise<RecoveryResult> {
    const found: { record: PplRecord; chunkIndex: number; offsetBytes: number }[] = [];
    for (let chunkIndex = 0; chunkIndex < this.members.chunkCount; chunkIndex++) {
      if (!this.members.isWritable(chunkIndex)) continue;
      const bytes = new Uint8Array(this.region.lengthBytes);
      try {
        await this.members.readReserved(chunkIndex, this.region.offsetBytes, bytes);
      } catch (error) {
        if (error instanceof ChunkRetry) continue;
        throw error;
      }
      for (let offsetBytes = 0; offsetBytes + pplHeaderBytes <= bytes.length;) {
        const announced = pplAnnouncedBytes(bytes.subarray(offsetBytes, offsetBytes + pplHeaderBytes), uuid, bytes.length - offsetBytes);
        const record = announced > 0 ? decodePplRecord(bytes.subarray(offsetBytes, offsetBytes + announced), uuid) : null;
        if (record !== null && record.parityChunkIndex === chunkIndex) {
          found.push({ record, chunkIndex, offsetBytes });
          offsetBytes += announced;
        } else {
          offsetBytes += blockBytes;
        }
      }
    }
    found.sort((a, b) => a.record.sequence - b.record.sequence);
    let applied = 0;
    for (const { record } of found) {
      if (await this.apply(record)) applied++;
    }
    this.sequence = Math.max(this.sequence, (found.at(-1)?.record.sequence ?? 0) + 1);
    if (found.length > 0) {
      await this.members.flush();
      const zero = new Uint8Array(pplHeaderBytes);
      await settleTolerant(found.map(async ({ chunkIndex, offsetBytes }) => {
        if (this.members.isWritable(chunkIndex)) await this.members.writeReserved(chunkIndex, this.region.offsetBytes + offsetBytes, zero);
      }), this.members);
      await this.members.flush();
    }
    return { recordsFound: found.length, recordsApplied: applied, recordsSkipped: found.length - applied };
  }

  /** Parity := partial parity XOR the modified strips as they are now; false when a needed chunk is not there. */
  private async apply(record: PplRecord): Promise<boolean> {
    const { parityChunkIndex, chunkOffsetBytes, lengthBytes } = record;
    if (!this.members.isWritable(parityChunkIndex)) return false;
    if (!record.modifiedChunkIndexes.every((index) => index < this.members.chunkCount && this.members.isReadable(index))) return false;
    if (chunkOffsetBytes + lengthBytes > this.members.record.chunks[parityChunkIndex]!.usableSizeBytes) return false;
    const parity = record.partialParity?.slice() ?? new Uint8Array(lengthBytes);
    const strips = record.modifiedChunkIndexes.map(() => new Uint8Array(lengthBytes));
    try {
      await settle(record.modifiedChunkIndexes.map((index, i) => this.members.read(index, chunkOffsetBytes, strips[i]!)));
      for (const strip of strips) xorInto(parity, strip);
      if (!this.members.isWritable(parityChunkIndex)) return false;
      await this.members.write(parityChunkIndex, chunkOffsetBytes, parity);
    } catch (error) {
      if (error instanceof ChunkRetry) return false;
      throw error;
    }
    return true;
  }

  /** First fit for every record on its chunk, all or nothing. */
  private allocate(requests: { chunkIndex: number; lengthBytes: number }[]): LiveRecord[] | null {
    const placed: LiveRecord[] = [];
    for (const request of requests) {
      assert(request.lengthBytes <= this.region.lengthBytes, `ppl: a ${request.lengthBytes}-byte record exceeds the journal region`);
      const list = this.live[request.chunkIndex]!;
      let candidate = 0;
      let inserted = false;
      for (let i = 0; i <= list.length; i++) {
        const next = list[i];
        const endBytes = next === undefined ? this.region.lengthBytes : next.offsetBytes;
        if (endBytes - candidate >= request.lengthBytes) {
          const record: LiveRecord = { chunkIndex: request.chunkIndex, offsetBytes: candidate, lengthBytes: request.lengthBytes, done: false };
          list.splice(i, 0, record);
          placed.push(record);
          inserted = true;
          break;
        }
        if (next === undefined) break;
        candidate = next.offsetBytes + next.lengthBytes;
      }
      if (!inserted) {
        for (const record of placed) this.live[record.chunkIndex]!.splice(this.live[record.chunkIndex]!.indexOf(record), 1);
        return null;
      }
    }
    return placed;
  }

  /** Writers that find no space share one round of making it, instead of each flushing every member. */
  private makingSpace: Promise<void> | null = null;

  private makeSpace(): Promise<void> {
    this.makingSpace ??= this.makeSpaceOnce().finally(() => {
      this.makingSpace = null;
    });
    return this.makingSpace;
  }

  /** Retires done records (one member flush first) or waits for a write in flight to finish. */
  private async makeSpaceOnce(): Promise<void> {
    const done = this.takeDone();
    if (done.length > 0) {
      this.counters.spaceFlushes++;
      await this.members.flush();
      await this.retire(done);
      // The zeroed headers must be durable before their space takes new records: a
      // crash tearing both could otherwise leave the old record valid over a new one.
      await this.members.flush();
      return;
    }
    assert(this.live.some((list) => list.length > 0), 'ppl: no space and nothing to wait for');
    await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
  }

  private wakeWaiters(): void {
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Frees the records of a chunk that went Offline: its log no longer matters. */
  dropChunk(chunkIndex: number): void {
    this.live[chunkIndex] = [];
    this.wakeWaiters();
  }
}

/** Every operation settles; anything but a chunk dropping out is rethrown first, then a ChunkRetry (the caller replans). */
async function settle(operations: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(operations);
  for (const result of results) {
    if (result.status === 'rejected' && !(result.reason instanceof ChunkRetry)) throw result.reason;
  }
  const retry = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (retry !== undefined) throw retry.reason;
}

/** As settle, but a chunk dropping out is fine: its log is no longer needed. */
async function settleTolerant(operations: Promise<void>[], members: MemberSet): Promise<void> {
  try {
    await settle(operations);
  } catch (error) {
    if (!(error instanceof ChunkRetry)) throw error;
    if (members.state === 'Offline') throw members.offlineError();
  }
}

export function pplEntryBytes(entry: PartialParityEntry): number {
  return pplRecordBytes(entry.lengthBytes, entry.partialParity !== null);
}
