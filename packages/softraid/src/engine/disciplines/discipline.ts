// The Discipline interface: what a RAID level is, in softraid's sense. A
// discipline only maps volume addresses onto chunk I/O and decides how to
// serve a request from the chunks that can serve it; the generic core
// (src/engine/volume/) owns queuing, overlap serialization, failure policy,
// metadata saves and rebuild scheduling. Adding a level is adding one file.
import type { RaidLevel, Raid5Layout } from '@openbsd38/bio/levels.js';

/** What a discipline needs to know about a volume's shape. */
export interface Geometry {
  level: RaidLevel;
  chunkCount: number;
  /** Strip size for striped levels, 0 otherwise. */
  stripSizeBytes: number;
  /** RAID 5 parity placement; null for other levels. */
  layout: Raid5Layout | null;
  /** Bytes of each chunk's data area the volume may use (softraid's coerced size). */
  chunkDataSizeBytes: number;
  /** Each chunk's own usable size (CONCAT lays them end to end). */
  chunkUsableSizesBytes: readonly number[];
}

/** A half-open byte range [offsetBytes, offsetBytes + lengthBytes). */
export interface ByteRange {
  offsetBytes: number;
  lengthBytes: number;
}

/**
 * One piece of a request on one chunk, as the address math yields it.
 * Offsets on the chunk are relative to the chunk's data area.
 */
export interface ChunkExtent {
  chunkIndex: number;
  chunkOffsetBytes: number;
  lengthBytes: number;
  /** Where the piece starts in the volume. */
  volumeOffsetBytes: number;
}

/**
 * The chunks as the core presents them to a discipline. `read`/`write` take
 * chunk-relative offsets (the core adds the data offset). When a chunk I/O
 * fails the core applies the failure policy and rejects with an error the
 * discipline lets through; the core then retries or fails the request.
 */
export interface ChunkIo {
  readonly chunkCount: number;
  /** Online or Scrubbing: its data can be trusted. */
  isReadable(chunkIndex: number): boolean;
  /** Online, Scrubbing or Rebuild: writes must reach it. */
  isWritable(chunkIndex: number): boolean;
  read(chunkIndex: number, chunkOffsetBytes: number, into: Uint8Array): Promise<void>;
  write(chunkIndex: number, chunkOffsetBytes: number, data: Uint8Array): Promise<void>;
  /**
   * Vectored forms: the buffers lie one after another on the chunk from
   * chunkOffsetBytes on (at most chunkIoVectorsMax of them). One chunk call
   * where the backend has readv/writev; one sub-I/O each otherwise.
   */
  readv(chunkIndex: number, chunkOffsetBytes: number, into: readonly Uint8Array[]): Promise<void>;
  writev(chunkIndex: number, chunkOffsetBytes: number, data: readonly Uint8Array[]): Promise<void>;
  /** A per-volume counter for round-robin reads (softraid's sr1_counter++). */
  nextRoundRobin(): number;
}

/**
 * A partial parity log entry (RAID 5): before the data and parity writes of
 * a row segment that leaves some data strips unmodified, the core logs which
 * strips change and the XOR of the unmodified ones (docs/write-ordering.md).
 */
export interface PartialParityEntry {
  parityChunkIndex: number;
  /** Range in every chunk's data area (the same offsets on each chunk of the row). */
  chunkOffsetBytes: number;
  lengthBytes: number;
  modifiedChunkIndexes: number[];
  /** XOR of the unmodified data strips over the range; null when none is unmodified. */
  partialParity: Uint8Array | null;
}

/** What the core asks of a write between its reads and its writes. */
export interface WriteHooks {
  /** Called once, after every read and parity computation, before any chunk write is issued. */
  beforeWrites?(entries: PartialParityEntry[]): Promise<void>;
}

/**
 * What a scrub does with one piece: the same chunk range read from every
 * chunk into `buffers` (index = chunk). Offsets within the piece are
 * piece-relative; `chunkOffsetBytes` is where the piece starts.
 */
export interface ScrubRules {
  /** Whether media errors may be narrowed to blocks of this size (parity levels: no block straddles a strip). */
  acceptsBlockBytes(geometry: Geometry, blockBytes: number): boolean;
  /**
   * What the chunks in `bad` should hold over [start, end) of the piece,
   * regenerated from the others (one buffer per bad chunk, in order); null
   * when too few are left to regenerate from.
   */
  regenerate(geometry: Geometry, chunkOffsetBytes: number, buffers: readonly Uint8Array[], bad: readonly number[],
    start: number, end: number): Uint8Array[] | null;
  /** Null when every sector column of the piece is consistent. */
  inspect(geometry: Geometry, chunkOffsetBytes: number, buffers: readonly Uint8Array[]): ScrubInspection | null;
}

export interface ScrubInspection {
  /** Whether the piece-relative 512-byte sector column disagrees. */
  mismatched(sector: number): boolean;
  /** Runs of mismatched sectors are not merged across groups (a row: where its parity lies changes). */
  groupOf(sector: number): number;
  /** How a repair fixes piece bytes [start, end), a run of mismatched sectors of one group. */
  repair(start: number, end: number): ScrubRepair;
}

export interface ScrubRepair {
  /** Read this chunk's range again first, and repair only if it gives back these very bytes (RAID 1's source copy). */
  confirm: { chunkIndex: number; bytes: Uint8Array } | null;
  /** What to write where (piece-relative start as asked). */
  rewrites: { chunkIndex: number; bytes: Uint8Array }[];
}

export interface DisciplineCapabilities {
  /** An I/O error takes the chunk offline and the volume serves on (SR_CAP_REDUNDANT). */
  redundant: boolean;
  /** The level can rebuild a replaced chunk (SR_CAP_REBUILD). */
  rebuild: boolean;
  /** Each chunk contributes its own size (SR_CAP_NON_COERCED). */
  nonCoerced: boolean;
  /**
   * The volume's sectors are stored encrypted (CRYPTO, RAID 1C): the
   * discipline reads through a view of the chunks whose reads come back
   * decrypted, and writes ciphertext (the core encrypts once, or, where each
   * volume byte goes to one chunk, the view encrypts each chunk write:
   * volume/encrypted-io.ts); rebuild, resync and scrub move ciphertext only.
   * Such a discipline must map volume byte o to chunk byte o.
   */
  encrypted: boolean;
}

export interface Discipline {
  readonly level: RaidLevel;
  readonly capabilities: DisciplineCapabilities;
  /** Asserts that the geometry is one this discipline can serve. */
  validate(geometry: Geometry): void;
  volumeSizeBytes(geometry: Geometry): number;
  /** Bytes of a chunk's data area that hold volume data (what a rebuild copies). */
  chunkUsedBytes(geometry: Geometry, chunkIndex: number): number;
  /** Preferred I/O size: a strip, or a whole row for parity levels. */
  preferredBlockSizeBytes(geometry: Geometry): number;
  /** The volume range to lock for a request: the request, or whole rows for parity levels. */
  lockRange(geometry: Geometry, offsetBytes: number, lengthBytes: number): ByteRange;
  read(io: ChunkIo, geometry: Geometry, offsetBytes: number, into: Uint8Array): Promise<void>;
  write(io: ChunkIo, geometry: Geometry, offsetBytes: number, data: Uint8Array, hooks?: WriteHooks): Promise<void>;
  /**
   * Parity levels: the volume bytes of one row (a stripe's data strips). A
   * write of whole rows computes parity from its own data, with no reads and
   * no partial parity log record; 0 for levels without parity.
   */
  rowBytes(geometry: Geometry): number;
  /**
   * Redundant levels: the volume byte ranges whose data a chunk range holds,
   * ascending and merged (parity holds none): the inverse of the address
   * mapping, for naming what a failed rebuild or scrub left unreadable.
   */
  volumeRangesOnChunk?(geometry: Geometry, chunkIndex: number, chunkOffsetBytes: number, lengthBytes: number): ByteRange[];
  /** Redundant levels: what a scrub compares and how a repair fixes it. */
  scrub?: ScrubRules;
  /**
   * Levels whose partial-row writes log partial parity (WriteHooks): after a
   * crash, makes the record's range consistent again (docs/write-ordering.md).
   * False when the chunks it needs are not there (nothing written then).
   */
  replayPartialParity?(io: ChunkIo, geometry: Geometry, record: PartialParityEntry): Promise<boolean>;
  /** Redundant levels: the range of every chunk's data area a volume range's writes touch (data and parity). */
  chunkRangeOf?(geometry: Geometry, offsetBytes: number, lengthBytes: number): ByteRange;
  /**
   * Redundant levels: makes a chunk range consistent again after a crash
   * (RAID 1: copies the first readable mirror onto the others; RAID 5:
   * recomputes parity). Does nothing when it cannot (too few chunks readable).
   */
  resyncPiece?(io: ChunkIo, geometry: Geometry, chunkOffsetBytes: number, lengthBytes: number): Promise<void>;
  /** Present when capabilities.rebuild: the volume range to lock while a chunk range is rebuilt. */
  rebuildLockRange?(geometry: Geometry, chunkOffsetBytes: number, lengthBytes: number): ByteRange;
  /** Regenerates a chunk range of `chunkIndex` from the other chunks and writes it there. */
  rebuildPiece?(io: ChunkIo, geometry: Geometry, chunkIndex: number, chunkOffsetBytes: number, lengthBytes: number): Promise<void>;
}
