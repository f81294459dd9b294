// One softraidd per state directory. A second daemon on the same directory
// (other sockets, same --state-dir) would fail to open the members the first
// holds and then rewrite volumes.json without them — the first daemon's
// volumes and spares forgotten at its next start. The directory is claimed
// with a symbolic link, `softraidd.lock` -> "<pid>:<process start time>",
// the same kind of claim member files take (src/chunk/file-lock.ts): made
// atomically, read in one call, and stale once its process is gone.
import { readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { isLive, ownMark } from '../chunk/file-lock.js';

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
  const claim = join(directory, stateLockName);
  for (let attempt = 0; ; attempt++) {
    try {
      symlinkSync(ownMark, claim);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner: string;
    try {
      owner = readlinkSync(claim);
    } catch {
      continue; // released in between
    }
    if (owner === ownMark) break;
    if (isLive(owner)) throw new StateDirectoryInUseError(directory, owner.split(':', 1)[0]!);
    if (attempt >= 3) throw new StateDirectoryInUseError(directory, owner.split(':', 1)[0]!);
    try {
      unlinkSync(claim); // left by a daemon that crashed
    } catch {
      // Removed by someone else already.
    }
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      if (readlinkSync(claim) === ownMark) unlinkSync(claim);
    } catch {
      // Already gone.
    }
  };
}
