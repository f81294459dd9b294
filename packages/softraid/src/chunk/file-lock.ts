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
// Creating a symbolic link is atomic and fails if the name exists, and its
// target is read in one call, so a claim is never seen half written. A
// claim whose process has exited (or whose pid now belongs to a process
// started later) is stale, left by a crash: it is removed and claimed
// again. Within one process a file may be opened more than once (the
// controller's own in-use checks answer for that); the claim is counted
// and removed when the last holder closes.
//
// The lock is cooperative: it binds softraidd processes (and anything else
// opening members through FileChunk), not other programs. One race remains:
// two processes breaking the same stale claim at the same moment may both
// believe they hold it; it needs a crash and two starts within the same
// millisecond.
import { mkdirSync, readFileSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SoftraidError } from '../engine/errors.js';

/** Where claims live: SOFTRAID_LOCK_DIR, else /run/lock/softraid, else a directory under the temporary directory. */
export function lockDirectory(): string {
  const configured = process.env.SOFTRAID_LOCK_DIR;
  if (configured !== undefined && configured !== '') return configured;
  return process.getuid?.() === 0 ? '/run/lock/softraid' : join(tmpdir(), 'softraid-lock');
}

/** This process as a claim names it: pid and start time (clock ticks since boot), so that a reused pid is not mistaken for the owner. */
function processMark(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${pid}:${fields[19]}`;
  } catch {
    return null;
  }
}

/** This process's mark: what its claims point to. */
export const ownMark = processMark(process.pid) ?? `${process.pid}:unknown`;
/** Member files this process has claimed: how many holders each, and the claim's path. */
const held = new Map<string, { holders: number; claim: string }>();

/** Whether the process a claim names is still the one running under that pid. */
export function isLive(mark: string): boolean {
  const pid = Number(mark.split(':', 1)[0]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  return processMark(pid) === mark;
}

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
  for (let attempt = 0; ; attempt++) {
    try {
      symlinkSync(ownMark, claim);
      held.set(key, { holders: 1, claim });
      return releaser(key);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new SoftraidError(`chunk ${path}: cannot claim it in ${directory}: ${(error as Error).message}`);
    }
    let owner: string;
    try {
      owner = readlinkSync(claim);
    } catch {
      continue; // released in between: claim again
    }
    if (isLive(owner)) throw new SoftraidError(`chunk ${path} already in use (by process ${owner.split(':', 1)[0]})`);
    if (attempt >= 3) throw new SoftraidError(`chunk ${path}: its claim ${claim} keeps changing hands; try again`);
    try {
      unlinkSync(claim); // stale: its process is gone
    } catch {
      // Removed by someone else already.
    }
  }
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
    try {
      if (readlinkSync(mine.claim) === ownMark) unlinkSync(mine.claim);
    } catch {
      // Already gone.
    }
  };
}
