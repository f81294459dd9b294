// Validation of one transmission request before any device I/O: a rejected
// request touches nothing. Returns 0 or the NBD error value to reply with.
// Numbered as the spec orders its advice:
//   1. unknown command, or a command not advertised      -> EINVAL
//   2. a flag not valid for the command                    -> EINVAL
//   3. WRITE over the payload limit (its data was skipped) -> EINVAL
//      READ over the payload limit                         -> EINVAL (EOVERFLOW with structured replies)
//   4. a write-type command on a read-only export          -> EPERM
//   5. beyond the end: writes ENOSPC, others EINVAL
//   6. not aligned to the minimum block size               -> EINVAL
import type { RequestFrame } from './messages.js';
import type { Transmission } from './negotiation.js';
import {
  NBD_CMD_BLOCK_STATUS, NBD_CMD_DISC, NBD_CMD_FLAG_DF, NBD_CMD_FLAG_FUA, NBD_CMD_FLAG_NO_HOLE, NBD_CMD_FLAG_REQ_ONE,
  NBD_CMD_FLUSH, NBD_CMD_READ, NBD_CMD_TRIM, NBD_CMD_WRITE, NBD_CMD_WRITE_ZEROES, NBD_EINVAL, NBD_ENOSPC,
  NBD_EOVERFLOW, NBD_EPERM,
} from './protocol.js';

function allowedFlags(type: number, session: Transmission): number | undefined {
  switch (type) {
    case NBD_CMD_READ: return NBD_CMD_FLAG_FUA | (session.structuredReplies ? NBD_CMD_FLAG_DF : 0);
    case NBD_CMD_WRITE: return NBD_CMD_FLAG_FUA;
    case NBD_CMD_DISC: return NBD_CMD_FLAG_FUA;
    case NBD_CMD_FLUSH: return NBD_CMD_FLAG_FUA;
    case NBD_CMD_TRIM: return NBD_CMD_FLAG_FUA;
    case NBD_CMD_WRITE_ZEROES: return NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE;
    case NBD_CMD_BLOCK_STATUS: return session.baseAllocation ? NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_REQ_ONE : undefined;
    default: return undefined;
  }
}

export function checkRequest(frame: RequestFrame, session: Transmission): number {
  const { type, offsetBytes, lengthBytes } = frame;
  const { info } = session;
  const allowed = allowedFlags(type, session);
  if (allowed === undefined) return NBD_EINVAL;
  if ((frame.flags & ~allowed) !== 0) return NBD_EINVAL;
  if (type === NBD_CMD_FLUSH || type === NBD_CMD_DISC) return 0;
  if (frame.payloadDiscarded) return NBD_EINVAL;
  if (type === NBD_CMD_READ && lengthBytes > info.payloadBytesMax) return session.structuredReplies ? NBD_EOVERFLOW : NBD_EINVAL;
  const writes = type === NBD_CMD_WRITE || type === NBD_CMD_TRIM || type === NBD_CMD_WRITE_ZEROES;
  if (writes && session.device.readOnly) return NBD_EPERM;
  if (offsetBytes + lengthBytes > info.sizeBytes) {
    return type === NBD_CMD_WRITE || type === NBD_CMD_WRITE_ZEROES ? NBD_ENOSPC : NBD_EINVAL;
  }
  if (offsetBytes % info.blockSizeMinBytes !== 0 || lengthBytes % info.blockSizeMinBytes !== 0) return NBD_EINVAL;
  return 0;
}
