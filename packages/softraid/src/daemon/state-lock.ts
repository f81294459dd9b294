// One softraidd per state directory. A second daemon on the same directory
// (other sockets, same --state-dir) would fail to open the members the first
// holds and then rewrite volumes.json without them — the first daemon's
// volumes and spares forgotten at its next start. The directory is claimed
// with a symbolic link, `softraidd.lock` -> "<pid>:<process start time>",
// libutil's lock link, the same kind of claim member files take: made
// atomically, read in one call, and stale once its process is gone.
import { join } from 'node:path';
import { claimLockLink, markPid } from '@openbsd38/libutil/lock-file.js';

export const stateLockName = 'softraidd.lock';

export class StateDirectoryInUseError extends Error {
  override name = 'StateDirectoryInUseError';
  constructor(directory: string, pid: string) {
    super(`state directory ${directory} is in use by another softraidd (process ${pid}): stop it first, `
      + 'or give this one its own --state-dir (and its own sockets)');
  }
}

/** Claims `directory` for this process (it must exist); returns the release. */
export function lockStateDirectory(directory: string): () => void {
  const result = claimLockLink(join(directory, stateLockName));
  if (!result.claimed) throw new StateDirectoryInUseError(directory, markPid(result.heldBy));
  return result.release;
}
