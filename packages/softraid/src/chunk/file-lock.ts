// Members that are regular files, held by one process at a time.
//
// A block device is opened with O_EXCL, so the kernel refuses a second
// softraidd ("device busy"). A regular file has no such guard, and Node
// offers no flock: two daemons (a second one started with another socket,
// `npm start` beside a system daemon) could assemble the same file-backed
// volume, and the second, finding it dirty, would resync over the first's
// live writes. So each process that opens a member file claims it with a
// symbolic link in a lock directory shared by the machine:
//
//   /run/lock/softraid/file-<dev>-<ino>  ->  "<pid>:<process start time>"
//
// The claim is libutil's lock link (atomic, stale once its process is gone,
// then broken and taken: packages/libutil/src/lock-file.ts). Within one process a file may be opened more than once (the
// controller's own in-use checks answer for that); the claim is counted
// and removed when the last holder closes.
//
// The lock is cooperative: it binds softraidd processes (and anything else
// opening members through FileChunk), not other programs.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimLockLink, markPid } from '@openbsd38/libutil/lock-file.js';
import { SoftraidError } from '../engine/errors.js';

/** Where claims live: SOFTRAID_LOCK_DIR, else /run/lock/softraid, else a directory under the temporary directory. */
export function lockDirectory(): string {
  const configured = process.env.SOFTRAID_LOCK_DIR;
  if (configured !== undefined && configured !== '') return configured;
  return process.getuid?.() === 0 ? '/run/lock/softraid' : join(tmpdir(), 'softraid-lock');
}

/** Member files this process has claimed: how many holders each, and the claim's release. */
const held = new Map<string, { holders: number; release: () => void }>();

/**
 * Claims the file with identity `key` (device and inode) for this process;
 * refuses with SoftraidError naming the process that holds it. Returns the
 * release function (call it once, when the member is closed).
 */
export function claimMemberFile(key: string, path: string): () => void {
  const mine = held.get(key);
  if (mine !== undefined) {
    mine.holders++;
    return releaser(key);
  }
  const directory = lockDirectory();
  mkdirSync(directory, { recursive: true, mode: 0o755 });
  const claim = join(directory, key.replaceAll(':', '-'));
  let result;
  try {
    result = claimLockLink(claim);
  } catch (error) {
    throw new SoftraidError(`chunk ${path}: cannot claim it in ${directory}: ${(error as Error).message}`);
  }
  if (!result.claimed) {
    throw new SoftraidError(result.unsettled ? `chunk ${path}: its claim ${claim} keeps changing hands; try again`
      : `chunk ${path} already in use (by process ${markPid(result.heldBy)})`);
  }
  held.set(key, { holders: 1, release: result.release });
  return releaser(key);
}

/** One holder's release: the claim goes with the last holder. */
function releaser(key: string): () => void {
  let released = false;
  return () => {
    const mine = held.get(key);
    if (released || mine === undefined) return;
    released = true;
    if (--mine.holders > 0) return;
    held.delete(key);
    mine.release();
  };
}
