// Lock files as symbolic links: a path claimed by this process is a link
// whose target names the process, "<pid>:<process start time>". Creating a
// link is atomic and fails if the name exists, and its target is read in one
// call, so a claim is never seen half written. A claim whose process has
// exited — or whose pid now belongs to a process started later — is stale,
// left by a crash, and is broken and taken. Daemons use it for their state
// directories (one daemon per directory), softraid for its member files.
//
// One race remains: two processes breaking the same stale claim at the same
// moment may both believe they hold it; it needs a crash and two starts
// within the same millisecond.
import { readFileSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';

/** A process as a claim names it: pid and start time (clock ticks since boot), so a reused pid is not mistaken for the owner. */
export function processMark(pid: number): string | null {
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

/** Whether the process a claim names is still the one running under that pid. */
export function isLive(mark: string): boolean {
  const pid = Number(mark.split(':', 1)[0]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  return processMark(pid) === mark;
}

/** The pid a mark names, for messages. */
export function markPid(mark: string): string {
  return mark.split(':', 1)[0]!;
}

export type ClaimResult =
  | { claimed: true; release: () => void }
  /** Held by a live process (its mark), or `unsettled`: the claim kept changing hands. */
  | { claimed: false; heldBy: string; unsettled: boolean };

/**
 * Claims `path` for this process, breaking a stale claim. A claim this
 * process already holds counts as claimed. Errors other than "exists" (no
 * directory, no permission) are thrown as they are.
 */
export function claimLockLink(path: string): ClaimResult {
  for (let attempt = 0; ; attempt++) {
    try {
      symlinkSync(ownMark, path);
      return { claimed: true, release: releaseOnce(path) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner: string;
    try {
      owner = readlinkSync(path);
    } catch {
      continue; // released in between: claim again
    }
    if (owner === ownMark) return { claimed: true, release: releaseOnce(path) };
    if (isLive(owner)) return { claimed: false, heldBy: owner, unsettled: false };
    if (attempt >= 3) return { claimed: false, heldBy: owner, unsettled: true };
    try {
      unlinkSync(path); // stale: its process is gone
    } catch {
      // Removed by someone else already.
    }
  }
}

/** Removes the claim if it is still this process's; a second call does nothing. */
function releaseOnce(path: string): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      if (readlinkSync(path) === ownMark) unlinkSync(path);
    } catch {
      // Already gone.
    }
  };
}
