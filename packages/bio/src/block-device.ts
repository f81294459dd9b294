// What a volume offers to the world: the contract between the engine and
// the NBD server (src/nbd/server.ts). Anything implementing it can be served.

export interface WriteOptions {
  /** Force Unit Access: the write is durable when the promise resolves. */
  fua: boolean;
}

export interface WriteZeroesOptions extends WriteOptions {
  /** The server may punch holes (trim) instead of writing zeroes (NBD: NO_HOLE not set). */
  mayTrim: boolean;
}

export interface BlockDevice {
  readonly sizeBytes: number;
  /** Smallest I/O unit without read-modify-write inside the device. */
  readonly blockSizeMinBytes: number;
  /** Preferred I/O size (a full stripe for parity levels). */
  readonly blockSizePreferredBytes: number;
  /** Largest single request accepted. */
  readonly requestBytesMax: number;
  readonly readOnly: boolean;
  /** FLUSH on one connection makes writes completed on every connection durable. */
  readonly flushIsGlobal: boolean;
  /** Reads `into.length` bytes at `offsetBytes` into `into`. Rejects with VolumeIoError. */
  read(offsetBytes: number, into: Uint8Array): Promise<void>;
  write(offsetBytes: number, data: Uint8Array, options: WriteOptions): Promise<void>;
  writeZeroes(offsetBytes: number, lengthBytes: number, options: WriteZeroesOptions): Promise<void>;
  /** Advisory discard: afterwards the range reads back as zeroes or as its old contents. */
  trim(offsetBytes: number, lengthBytes: number): Promise<void>;
  flush(): Promise<void>;
  /**
   * Optional, the block layer's plugging: a submitter says it is in the
   * middle of handing over more requests (an NBD connection receiving a
   * frame), and later that it is not. While any submitter is plugged, a
   * device may hold a partial write a moment for the next request to
   * complete it; it never acknowledges a write it has not written.
   */
  plug?(): void;
  unplug?(): void;
}
