// softraid's operating errors: typed, carrying what an operator needs (errno,
// chunk, offset). Each boundary maps them exactly once: engine -> NBD reply
// (src/nbd/server.ts), engine -> control reply (bio's request handler),
// control reply -> bioctl exit status.
import { OperatingError, type Errno } from '@openbsd38/libutil/errors.js';

export type ChunkOperation = 'read' | 'write' | 'flush' | 'trim' | 'open';

/** An I/O error on one member device. */
export class ChunkIoError extends OperatingError {
  override name = 'ChunkIoError';
  constructor(
    readonly operation: ChunkOperation,
    readonly chunkName: string,
    readonly offsetBytes: number,
    readonly lengthBytes: number,
    readonly errno: Errno,
    /** What went wrong, in words (the errno alone says little for a network member). */
    readonly detail?: string,
  ) {
    super(`${chunkName}: ${operation} error ${errno} at byte ${offsetBytes} length ${lengthBytes}${detail ? `: ${detail}` : ''}`);
  }
}

/** An I/O error on a volume as a whole: what the NBD client sees. */
export class VolumeIoError extends OperatingError {
  override name = 'VolumeIoError';
  constructor(readonly errno: Errno, message: string) {
    super(message);
  }
}

/**
 * A refused management request (create, assemble, hot spare, rebuild, ...),
 * worded as softraid words it, e.g. "chunk /dev/loop3 already in use".
 */
export class SoftraidError extends OperatingError {
  override name = 'SoftraidError';
}

/** Unreadable or invalid on-disk metadata; the message names the chunk. */
export class MetadataError extends SoftraidError {
  override name = 'MetadataError';
  constructor(readonly chunkName: string, readonly problem: string) {
    super(`${chunkName}: ${problem}`);
  }
}
