// The RAID 5 partial parity log in memory (md's PPL; docs/write-ordering.md
// and docs/RELIABILITY.md). Each chunk's journal region is a pool of records
// for the rows whose parity that chunk holds, after two copies of a
// retirement mark.
//   log()        before a partial-row write issues its data and parity
//                writes: allocate (which numbers the records), write the
//                records, flush their chunks;
//   done         the write is over (its data may still be volatile);
//   retirementPoint() + member flush + retire()
//                Volume.flush: per chunk, the point below which every record
//                is done is taken; the members are flushed (those writes are
//                durable); a mark "retired below the point" is written and
//                flushed on every chunk holding such records, and only then
//                is their space reused. So a record still valid after a crash
//                belongs to a write no completed flush covered, and the
//                valid records of a chunk are always every record from its
//                mark on: never an older one without the later ones over the
//                same columns (replaying those alone writes stale parity);
//   recover()    at the first use after assembly: every valid record, in
//                sequence order, rewrites parity as partial parity XOR the
//                modified strips as they are now, when its parity chunk is
//                writable and its modified chunks are readable; then a mark
//                retires them all.
import { assert } from '@openbsd38/libutil/assert.js';
import { ChunkRetry } from '../disciplines/sub-io.js';
import {
  decodePplMark, decodePplRecord, encodePplMark, encodePplRecord, pplAnnouncedBytes, pplHeaderBytes, pplMarkCopies,
  pplMarkOffsetBytes, pplRecordBytes, pplRecordsStartBytes, type PplRecord,
} from '../metadata/partial-parity-log.js';
import { blockBytes, type Region } from '../metadata/layout.js';
import type { ChunkIo, PartialParityEntry } from '../disciplines/discipline.js';
import type { MemberSet } from './member-set.js';
import { FlushCoalescer } from './flush-coalescer.js';

interface LiveRecord {
  chunkIndex: number;
  /** Offset inside the journal region. */
  offsetBytes: number;
  lengthBytes: number;
  /** Numbered at allocation: a retirement point taken now is at most the number of any record placed later. */
  sequence: number;
  done: boolean;
}

export interface PplTicket {
  /** The write the records protect is over (successful or not). */
  done(): void;
}

/** Per chunk: every record in that chunk's log numbered below it is done. */
export type RetirementPoint = readonly number[];

export interface RecoveryResult {
  recordsFound: number;
  recordsApplied: number;
  recordsSkipped: number;
  /** Valid records below their chunk's retirement mark: retired, not replayed. */
  recordsRetired: number;
}

export class PartialParityLog {
  /** The number of the next record placed. */
  private sequence = 1;
  /** Per chunk: live records sorted by offset (all numbered at or above the chunk's mark). */
  private readonly live: LiveRecord[][];
  /** Per chunk: the retirement mark durable on it, and the copy holding it (-1: no valid copy). */
  private readonly markSequence: number[];
  private readonly markCopy: number[];
  /** Marks are written one retirement at a time: two at once could both take the copy that is not the newest. */
  private retirements: Promise<void> = Promise.resolve();
  private spaceWaiters: (() => void)[] = [];
  readonly counters = { records: 0, spaceFlushes: 0, retired: 0, marksWritten: 0, dataFlushes: 0 };
  /** Concurrent partial-row writes share the flushes around their records (group commit). */
  readonly flushes: FlushCoalescer;

  constructor(private readonly members: MemberSet, readonly region: Region,
    /** The discipline's replay of one record (Discipline.replayPartialParity). */
    private readonly replay: (io: ChunkIo, record: PartialParityEntry) => Promise<boolean>) {
    this.live = Array.from({ length: members.chunkCount }, () => []);
    this.markSequence = Array.from({ length: members.chunkCount }, () => 0);
    this.markCopy = Array.from({ length: members.chunkCount }, () => -1);
    this.flushes = new FlushCoalescer(members.chunkCount, (chunkIndex) => members.flushChunk(chunkIndex));
    assert(region.lengthBytes >= pplRecordsStartBytes + 4 * pplHeaderBytes && region.lengthBytes % blockBytes === 0,
      'ppl: journal region too small');
  }

  /** Bytes records may take on one chunk. */
  get capacityBytes(): number {
    return this.region.lengthBytes - pplRecordsStartBytes;
  }

  /**
   * Writes a record for every entry to its parity chunk and flushes those
   * chunks. Space is taken for all entries at once; when there is none,
   * completed records are retired (a member flush, then a mark), or the call
   * waits for writes in flight to complete.
   */
  async log(entries: readonly PartialParityEntry[], uuid: string): Promise<PplTicket> {
    let placed: LiveRecord[] | null;
    for (;;) {
      placed = this.allocate(entries.map((entry) => ({ chunkIndex: entry.parityChunkIndex, lengthBytes: pplEntryBytes(entry) })));
      if (placed !== null) break;
      await this.makeSpace();
    }
    const placedRecords = placed;
    const encoded = entries.map((entry, i) => encodePplRecord({ ...entry, uuid, sequence: placedRecords[i]!.sequence }));
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
    this.counters.records += placedRecords.length;
    return ticket;
  }

  /**
   * Per chunk, the point below which every live record is done: taken
   * before the member flush that makes those records' writes durable.
   * Records placed later are numbered at or above it.
   */
  retirementPoint(): RetirementPoint {
    return this.live.map((list) => {
      let point = this.sequence;
      for (const record of list) if (!record.done && record.sequence < point) point = record.sequence;
      return point;
    });
  }

  /** Whether retire(point) would free any space. */
  private retires(point: RetirementPoint): boolean {
    return this.live.some((list, chunkIndex) => list.some((record) => record.sequence < point[chunkIndex]!));
  }

  /**
   * After a member flush that started after `point` was taken: on every
   * chunk holding records below its point, writes the mark (the copy that is
   * not the newest valid one) and flushes it; then frees their space. A
   * chunk that cannot be written any more drops its records (its log no
   * longer matters: it rejoins only through a rebuild, which wipes it).
   */
  retire(point: RetirementPoint): Promise<void> {
    assert(point.length === this.live.length, 'ppl: retirement point of another volume');
    const run = this.retirements.then(() => this.retireOnce(point));
    this.retirements = run.then(noop, noop);
    return run;
  }

  private async retireOnce(point: RetirementPoint): Promise<void> {
    const marked: number[] = [];
    for (let chunkIndex = 0; chunkIndex < this.live.length; chunkIndex++) {
      const below = point[chunkIndex]!;
      if (!this.live[chunkIndex]!.some((record) => record.sequence < below)) continue;
      assert(below > this.markSequence[chunkIndex]!, 'ppl: a live record below its chunk\'s mark');
      if (this.members.isWritable(chunkIndex)) marked.push(chunkIndex);
      else this.free(chunkIndex, below);
    }
    await this.writeMarks(marked, point);
    this.wakeWaiters();
  }

  /** Writes and flushes the mark `point` gives each chunk listed, then frees the space of the records below it. */
  private async writeMarks(chunkIndexes: readonly number[], point: RetirementPoint): Promise<void> {
    const uuid = this.members.record.uuid;
    await settleTolerant(chunkIndexes.map(async (chunkIndex) => {
      const below = point[chunkIndex]!;
      const copy = this.markCopy[chunkIndex] === 0 ? 1 : 0;
      try {
        await this.members.writeReserved(chunkIndex, this.region.offsetBytes + pplMarkOffsetBytes(copy), encodePplMark(uuid, below));
        await this.flushes.flush(chunkIndex);
      } catch (error) {
        // A chunk that dropped out: its log no longer matters (it rejoins only through a rebuild, which wipes it).
        if (error instanceof ChunkRetry) this.free(chunkIndex, below);
        throw error;
      }
      this.counters.marksWritten++;
      this.markCopy[chunkIndex] = copy;
      this.markSequence[chunkIndex] = below;
      this.free(chunkIndex, below);
    }), this.members);
  }

  private free(chunkIndex: number, below: number): void {
    const list = this.live[chunkIndex]!;
    const kept = list.filter((record) => record.sequence >= below);
    this.counters.retired += list.length - kept.length;
    this.live[chunkIndex] = kept;
  }

  /**
   * Replays the log of every writable member (see the file comment), then
   * flushes and marks every record found retired. Returns what it did. Runs
   * before any other I/O of the volume.
   */
  async recover(uuid: string): Promise<RecoveryResult> {
    const found: { record: PplRecord; chunkIndex: number }[] = [];
    let retired = 0;
    for (let chunkIndex = 0; chunkIndex < this.members.chunkCount; chunkIndex++) {
      if (!this.members.isWritable(chunkIndex)) continue;
      const bytes = new Uint8Array(this.region.lengthBytes);
      try {
        await this.members.readReserved(chunkIndex, this.region.offsetBytes, bytes);
      } catch (error) {
        if (error instanceof ChunkRetry) continue;
        throw error;
      }
      for (let copy = 0; copy < pplMarkCopies; copy++) {
        const offsetBytes = pplMarkOffsetBytes(copy);
        const mark = decodePplMark(bytes.subarray(offsetBytes, offsetBytes + pplHeaderBytes), uuid);
        if (mark !== null && mark >= this.markSequence[chunkIndex]!) {
          this.markSequence[chunkIndex] = mark;
          this.markCopy[chunkIndex] = copy;
        }
      }
      // Every sector may start a record: a log written before marks existed has them from byte 0.
      for (let offsetBytes = 0; offsetBytes + pplHeaderBytes <= bytes.length;) {
        const announced = pplAnnouncedBytes(bytes.subarray(offsetBytes, offsetBytes + pplHeaderBytes), uuid, bytes.length - offsetBytes);
        const record = announced > 0 ? decodePplRecord(bytes.subarray(offsetBytes, offsetBytes + announced), uuid) : null;
        if (record !== null && record.parityChunkIndex === chunkIndex) {
          if (record.sequence >= this.markSequence[chunkIndex]!) found.push({ record, chunkIndex });
          else retired++;
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
    this.sequence = Math.max(this.sequence, (found.at(-1)?.record.sequence ?? 0) + 1, ...this.markSequence);
    if (found.length > 0) {
      // The parity written above is durable before the records that produced it are retired.
      await this.members.flush();
      const chunks = [...new Set(found.map(({ chunkIndex }) => chunkIndex))].filter((chunkIndex) => this.members.isWritable(chunkIndex));
      await this.writeMarks(chunks, this.live.map(() => this.sequence));
    }
    return { recordsFound: found.length, recordsApplied: applied, recordsSkipped: found.length - applied, recordsRetired: retired };
  }

  /** The discipline makes the record's range consistent; false when a needed chunk is not there. */
  private async apply(record: PplRecord): Promise<boolean> {
    const { parityChunkIndex, chunkOffsetBytes, lengthBytes } = record;
    if (parityChunkIndex >= this.members.chunkCount || !this.members.isWritable(parityChunkIndex)) return false;
    if (chunkOffsetBytes + lengthBytes > this.members.record.chunks[parityChunkIndex]!.usableSizeBytes) return false;
    try {
      return await this.replay(this.members, record);
    } catch (error) {
      if (error instanceof ChunkRetry) return false;
      throw error;
    }
  }

  /** First fit for every record on its chunk, after the marks; all or nothing. Numbers the records placed. */
  private allocate(requests: { chunkIndex: number; lengthBytes: number }[]): LiveRecord[] | null {
    const placed: LiveRecord[] = [];
    for (const request of requests) {
      assert(request.lengthBytes <= this.capacityBytes, `ppl: a ${request.lengthBytes}-byte record exceeds the journal region`);
      const list = this.live[request.chunkIndex]!;
      let candidate = pplRecordsStartBytes;
      let inserted = false;
      for (let i = 0; i <= list.length; i++) {
        const next = list[i];
        const endBytes = next === undefined ? this.region.lengthBytes : next.offsetBytes;
        if (endBytes - candidate >= request.lengthBytes) {
          const record: LiveRecord = { chunkIndex: request.chunkIndex, offsetBytes: candidate, lengthBytes: request.lengthBytes, sequence: 0, done: false };
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
    for (const record of placed) record.sequence = this.sequence++;
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

  /** Retires done records (a member flush, then the marks) or waits for a write in flight to finish. */
  private async makeSpaceOnce(): Promise<void> {
    const point = this.retirementPoint();
    if (this.retires(point)) {
      this.counters.spaceFlushes++;
      await this.members.flush();
      await this.retire(point);
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
}

function noop(): void {}

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
