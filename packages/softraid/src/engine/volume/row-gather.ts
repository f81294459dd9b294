// Write gathering for parity levels (md's stripe cache, in its smallest
// form). A sequential stream of writes that are not multiples of a row
// leaves a partial row at the end of each request and at the start of the
// next: written apart, each half costs a read-modify-write, a partial
// parity log record and a flush, and the row lock serializes the two
// requests. Held for a moment instead, the tail of one request and the head
// of the next make a whole row: its parity is the XOR of the new data, with
// nothing to read or log.
//
// Nothing is acknowledged early: a held piece's request completes only when
// the (merged) write has reached the members. A piece is held only while
// other requests are in flight on the volume, and it is let go, in this
// order of likelihood, when:
// - it is completed into a whole row by an adjacent piece, or reaches the
//   row's end without filling it (the stream has moved on to the next row);
// - the volume has no other request in flight and no submitter is plugged
//   (nothing more is coming soon: the volume calls releaseAll);
// - `arrivalsMax` requests have arrived since it last grew;
// - `holdMsMax` has passed (a safety net: a client that stalls mid-request);
// - a request touching its row arrives (it is let go first, so overlapping
//   requests still run in arrival order); a flush or close arrives;
// - more than `groupsMax` rows are held (the oldest goes).
// Time comes from the volume's injected clock, so the deterministic
// simulator stays deterministic.
import { assert } from '@openbsd38/libutil/assert.js';
import { copyBytes } from '@openbsd38/libutil/copy-bytes.js';
import { divFloor } from '@openbsd38/libutil/units.js';
import { allocParityBuffer, freeParityBuffer } from '../parity/index.js';

export interface RowGatherHost {
  /** Writes `data` at volume `offsetBytes` through the locked write path, queued at once. */
  submit(offsetBytes: number, data: Uint8Array): Promise<void>;
  sleepMs(durationMs: number): Promise<void>;
}

export interface RowGatherLimits {
  /** A held piece is let go after this many later requests arrived without completing its row. */
  arrivalsMax: number;
  /** Rows held at once; beyond it the oldest is let go. */
  groupsMax: number;
  /** Longest a piece is held, whatever else happens. */
  holdMsMax: number;
}

export const rowGatherLimitsDefault: Readonly<RowGatherLimits> = { arrivalsMax: 16, groupsMax: 64, holdMsMax: 20 };

interface Piece {
  offsetBytes: number;
  data: Uint8Array;
}

/** The contiguous pieces held for one row, and the promise their requests wait on. */
interface Group {
  row: number;
  startBytes: number;
  endBytes: number;
  pieces: Piece[];
  arrivalsLeft: number;
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class RowGather {
  private readonly groups = new Map<number, Group>();
  /** What gathering did (figures and tests). */
  readonly counters = { held: 0, rowsCompleted: 0, piecesMerged: 0, letGo: 0 };

  constructor(private readonly rowBytes: number, private readonly host: RowGatherHost,
    private readonly limits: RowGatherLimits = rowGatherLimitsDefault) {
    assert(Number.isSafeInteger(rowBytes) && rowBytes > 0, 'RowGather: bad row size');
    assert(limits.arrivalsMax > 0 && limits.groupsMax > 0 && limits.holdMsMax > 0, 'RowGather: bad limits');
  }

  get heldRows(): number {
    return this.groups.size;
  }

  /**
   * A piece of a write inside one row, not the whole row. It joins the piece
   * held for its row when the two are adjacent (and is written with it once
   * the row is whole); otherwise what is held there is let go first, and the
   * piece is held (`mayHold`) or written now. Resolves when it is written.
   */
  offer(offsetBytes: number, data: Uint8Array, mayHold: boolean): Promise<void> {
    const row = divFloor(offsetBytes, this.rowBytes);
    const endBytes = offsetBytes + data.length;
    assert(data.length > 0 && data.length < this.rowBytes && endBytes <= (row + 1) * this.rowBytes, 'RowGather: piece not inside one row');
    const group = this.groups.get(row);
    if (group !== undefined) {
      if (endBytes === group.startBytes || offsetBytes === group.endBytes) {
        if (endBytes === group.startBytes) {
          group.pieces.unshift({ offsetBytes, data });
          group.startBytes = offsetBytes;
        } else {
          group.pieces.push({ offsetBytes, data });
          group.endBytes = endBytes;
        }
        this.counters.piecesMerged++;
        // A group still growing is alive: only arrivals that do not join it age it.
        group.arrivalsLeft = this.limits.arrivalsMax;
        if (group.endBytes - group.startBytes === this.rowBytes) {
          this.counters.rowsCompleted++;
          this.letGo(group);
        } else if (!mayHold || group.endBytes === (row + 1) * this.rowBytes) {
          // Reaching the row's end without filling it: a sequential stream has moved on to the next row.
          this.letGo(group);
        }
        return group.done;
      }
      this.letGo(group);
    }
    if (!mayHold || endBytes === (row + 1) * this.rowBytes) return this.host.submit(offsetBytes, data);
    if (this.groups.size >= this.limits.groupsMax) this.letGo(this.groups.values().next().value!);
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const done = new Promise<void>((onResolve, onReject) => {
      resolve = onResolve;
      reject = onReject;
    });
    const held: Group = { row, startBytes: offsetBytes, endBytes, pieces: [{ offsetBytes, data }], arrivalsLeft: this.limits.arrivalsMax, done, resolve, reject };
    this.groups.set(row, held);
    this.counters.held++;
    void this.host.sleepMs(this.limits.holdMsMax).then(() => {
      if (this.groups.get(row) === held) this.letGo(held);
    });
    return done;
  }

  /** A request arrived: held pieces age, and those too old are let go. */
  noteArrival(): void {
    if (this.groups.size === 0) return;
    for (const group of [...this.groups.values()]) {
      if (--group.arrivalsLeft <= 0) this.letGo(group);
    }
  }

  /** Lets go every piece held in the rows a volume range touches (before that request queues its lock). */
  releaseOverlapping(offsetBytes: number, lengthBytes: number): void {
    if (this.groups.size === 0) return;
    const firstRow = divFloor(offsetBytes, this.rowBytes);
    const endRow = divFloor(offsetBytes + Math.max(1, lengthBytes) - 1, this.rowBytes) + 1;
    for (const group of [...this.groups.values()]) {
      if (group.row >= firstRow && group.row < endRow) this.letGo(group);
    }
  }

  /** Lets go everything held (the volume went idle, a flush, a close). */
  releaseAll(): void {
    if (this.groups.size === 0) return;
    for (const group of [...this.groups.values()]) this.letGo(group);
  }

  /** Writes a group as one contiguous request; its pieces' requests settle with it. */
  private letGo(group: Group): void {
    assert(this.groups.get(group.row) === group, 'RowGather: group let go twice');
    this.groups.delete(group.row);
    this.counters.letGo++;
    if (group.pieces.length === 1) {
      this.host.submit(group.startBytes, group.pieces[0]!.data).then(group.resolve, group.reject);
      return;
    }
    // The merged row goes in the parity arena (pooled, not zeroed), where the XOR reads it in place.
    const data = allocParityBuffer(group.endBytes - group.startBytes);
    for (const piece of group.pieces) copyBytes(data, piece.data, piece.offsetBytes - group.startBytes);
    this.host.submit(group.startBytes, data).finally(() => freeParityBuffer(data)).then(group.resolve, group.reject);
  }
}
