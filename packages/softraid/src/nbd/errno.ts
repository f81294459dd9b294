// The one place where the engine's errno names meet the NBD protocol's error
// values, in both directions: the server maps a VolumeIoError to a reply, the
// client maps a reply back to a ChunkIoError.
import { type Errno } from '@openbsd38/libutil/errors.js';
import { ChunkIoError, VolumeIoError } from '../engine/errors.js';
import { assertNever } from '@openbsd38/libutil/assert.js';
import {
  NBD_EINVAL, NBD_EIO, NBD_ENOMEM, NBD_ENOSPC, NBD_ENOTSUP, NBD_EOVERFLOW, NBD_EPERM, NBD_ESHUTDOWN,
} from './protocol.js';

export function nbdErrorFromErrno(errno: Errno): number {
  switch (errno) {
    case 'EIO': return NBD_EIO;
    case 'ENOSPC': return NBD_ENOSPC;
    case 'EINVAL': return NBD_EINVAL;
    case 'EPERM': return NBD_EPERM;
    case 'ENOMEM': return NBD_ENOMEM;
    case 'ESHUTDOWN': return NBD_ESHUTDOWN;
    case 'EOVERFLOW': return NBD_EOVERFLOW;
    case 'ENOTSUP': return NBD_ENOTSUP;
    // The protocol has no value for these: a timed-out, missing or busy
    // device is an I/O error as far as the client can act on it.
    case 'ETIMEDOUT': case 'ENOENT': case 'EBUSY': return NBD_EIO;
    default: return assertNever(errno, 'nbdErrorFromErrno');
  }
}

/** The spec says an unexpected value is to be treated as EINVAL. */
export function errnoFromNbdError(error: number): Errno {
  switch (error) {
    case NBD_EPERM: return 'EPERM';
    case NBD_EIO: return 'EIO';
    case NBD_ENOMEM: return 'ENOMEM';
    case NBD_EINVAL: return 'EINVAL';
    case NBD_ENOSPC: return 'ENOSPC';
    case NBD_EOVERFLOW: return 'EOVERFLOW';
    case NBD_ENOTSUP: return 'ENOTSUP';
    case NBD_ESHUTDOWN: return 'ESHUTDOWN';
    default: return 'EINVAL';
  }
}

/**
 * The engine -> NBD boundary: a device's operating error becomes a reply
 * error value here and nowhere else. Anything that is not an operating error
 * (an AssertionError, a TypeError) is a bug and is rethrown, never turned
 * into a reply.
 */
export function nbdErrorFromDeviceError(error: unknown): number {
  if (error instanceof VolumeIoError || error instanceof ChunkIoError) return nbdErrorFromErrno(error.errno);
  throw error;
}
