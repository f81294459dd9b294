// Operating errors: what a request may fail with — a refusal, a device's I/O
// error — as opposed to a bug. Each program's errors extend OperatingError,
// so every boundary (a control reply, an NBD reply, an exit status) catches
// operating errors only, and an assertion failure is never one of them.

/** The errno names the programs speak (a subset of errno(2)). */
export type Errno = 'EIO' | 'ENOSPC' | 'EINVAL' | 'EPERM' | 'ENOMEM' | 'ESHUTDOWN' | 'EOVERFLOW' | 'ENOTSUP' | 'ETIMEDOUT' | 'ENOENT' | 'EBUSY';

/** The base of every typed operating error. */
export class OperatingError extends Error {
  override name = 'OperatingError';
}

/** Refusals, device and volume I/O errors: what a request may fail with. Anything else is a bug. */
export function isOperatingError(error: unknown): error is OperatingError {
  return error instanceof OperatingError;
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
