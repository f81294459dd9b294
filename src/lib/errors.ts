// Operating errors: typed, carrying what an operator needs (errno, chunk,
// offset). Each boundary maps them exactly once: engine -> NBD reply
// (src/nbd/server.ts), engine -> control reply (src/daemon), control reply
// -> bioctl exit status (src/cmd/bioctl.ts).

/** The errno names the engine and the NBD layer speak. */
export type Errno = 'EIO' | 'ENOSPC' | 'EINVAL' | 'EPERM' | 'ENOMEM' | 'ESHUTDOWN' | 'EOVERFLOW' | 'ENOTSUP' | 'ETIMEDOUT' | 'ENOENT' | 'EBUSY';

export type ChunkOperation = 'read' | 'write' | 'flush' | 'trim' | 'open';

/** An I/O error on one member device. */
export class ChunkIoError extends Error {
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
export class VolumeIoError extends Error {
  override name = 'VolumeIoError';
  constructor(readonly errno: Errno, message: string) {
    super(message);
  }
}

/**
 * A refused management request (create, assemble, hot spare, rebuild, ...),
 * worded as softraid words it, e.g. "chunk /dev/loop3 already in use".
 */
export class SoftraidError extends Error {
  override name = 'SoftraidError';
}

/** Refusals, member and volume I/O errors: what a request may fail with. Anything else is a bug. */
export function isOperatingError(error: unknown): error is SoftraidError | ChunkIoError | VolumeIoError {
  return error instanceof SoftraidError || error instanceof ChunkIoError || error instanceof VolumeIoError;
}

/** Unreadable or invalid on-disk metadata; the message names the chunk. */
export class MetadataError extends SoftraidError {
  override name = 'MetadataError';
  constructor(readonly chunkName: string, problem: string) {
    super(`${chunkName}: ${problem}`);
  }
}

/** Map a Node.js system error code onto the errno set above. */
export function errnoFromCode(code: unknown): Errno {
  switch (code) {
    case 'ENOSPC': case 'EDQUOT': return 'ENOSPC';
    case 'EINVAL': return 'EINVAL';
    case 'EPERM': case 'EACCES': case 'EROFS': return 'EPERM';
    case 'ENOMEM': return 'ENOMEM';
    case 'ETIMEDOUT': return 'ETIMEDOUT';
    case 'ENOENT': case 'ENXIO': case 'ENODEV': return 'ENOENT';
    case 'EBUSY': return 'EBUSY';
    default: return 'EIO';
  }
}
