// The engine's only window onto storage. Implementations live outside the
// engine (src/chunk/: files and block devices, NBD exports, the simulator's
// fault-injecting memory), so the same engine code runs in softraidd and
// under the deterministic simulator.

export interface ChunkBackend {
  /** What an operator calls this member: a path or an NBD URI. Every message about it uses this. */
  readonly name: string;
  /**
   * A key that is equal for two handles on the same storage (st_dev:st_ino
   * or st_rdev for files and block devices, the canonical URI for NBD):
   * used to refuse the same chunk listed twice or a chunk already in use.
   */
  readonly identity: string;
  /** Whole size of the member in bytes, metadata area included. */
  readonly sizeBytes: number;
  /** Logical sector size in bytes (512 or 4096). */
  readonly sectorSizeBytes: number;
  /** Reads exactly `buffer.length` bytes at `offsetBytes`. Rejects with ChunkIoError. */
  read(buffer: Uint8Array, offsetBytes: number): Promise<void>;
  /** Writes all of `buffer` at `offsetBytes`. Rejects with ChunkIoError. */
  write(buffer: Uint8Array, offsetBytes: number): Promise<void>;
  /**
   * Optional vectored I/O (preadv/pwritev): the buffers are contiguous on the
   * chunk, `buffers[0]` at `offsetBytes`, each next one where the previous
   * ends. One call instead of one per buffer; a caller without these issues
   * read()/write() per buffer. At most chunkIoVectorsMax buffers, none empty.
   * Same errors as read()/write(), for the whole range.
   */
  readv?(buffers: readonly Uint8Array[], offsetBytes: number): Promise<void>;
  writev?(buffers: readonly Uint8Array[], offsetBytes: number): Promise<void>;
  /** Makes every write completed before this call durable (fdatasync). */
  flush(): Promise<void>;
  /** Discards a range (optional: callers fall back to writing zeroes where zeroes are required). */
  trim?(offsetBytes: number, lengthBytes: number): Promise<void>;
  /** Releases the handle. Idempotent. */
  close(): Promise<void>;
}

/** Buffers one readv/writev may take (Linux's IOV_MAX). */
export const chunkIoVectorsMax = 1024;
