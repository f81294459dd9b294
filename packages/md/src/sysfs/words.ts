// The words of md's sysfs attributes as Documentation/admin-guide/md.rst
// lists them, and one parser per attribute shape. A parser gets the file's
// path only to name it in its error: an attribute that exists but does not
// read as documented is an MdSysfsError, never a guess.
import { MdSysfsError } from '../errors.js';

export const arrayStates = ['clear', 'inactive', 'suspended', 'readonly', 'read-auto', 'clean', 'active', 'write-pending', 'active-idle', 'broken'] as const;
export type ArrayState = (typeof arrayStates)[number];

export const syncActions = ['idle', 'resync', 'recover', 'check', 'repair', 'reshape', 'frozen'] as const;
export type SyncAction = (typeof syncActions)[number];

/**
 * last_sync_action: sync_action's words, except that a recovery is recorded as `recovery`, and `none`
 * before the array's first sync (md's initial value; both seen on Linux 6.1).
 */
export const lastSyncActions = ['none', 'idle', 'resync', 'recovery', 'check', 'repair', 'reshape', 'frozen'] as const;
export type LastSyncAction = (typeof lastSyncActions)[number];

/** md's personalities, and `container` for an external-metadata container (imsm, ddf). */
export const mdLevels = ['linear', 'raid0', 'raid1', 'raid4', 'raid5', 'raid6', 'raid10', 'multipath', 'faulty', 'container'] as const;
export type MdLevel = (typeof mdLevels)[number];

/**
 * md's level numbers (md_p.h: LEVEL_LINEAR -1, LEVEL_MULTIPATH -4, LEVEL_FAULTY -5), which `level` shows
 * while no personality runs yet: mdadm --create sets the level by number and md prints it as a number
 * until the array starts (seen on Linux 6.1).
 */
const mdLevelNumbers: Readonly<Record<string, MdLevel>> = {
  '-5': 'faulty', '-4': 'multipath', '-1': 'linear', '0': 'raid0', '1': 'raid1', '4': 'raid4', '5': 'raid5', '6': 'raid6', '10': 'raid10',
};

/** level: a personality's name, md's level number for an array not yet started, or empty for none set. */
export function parseMdLevel(file: string, text: string): MdLevel | '' {
  const word = text.trim();
  if (word === '') return '';
  return Object.hasOwn(mdLevelNumbers, word) ? mdLevelNumbers[word]! : parseWord(file, word, mdLevels);
}

/** dev-* /state flags. */
export const memberFlags = [
  'faulty', 'in_sync', 'writemostly', 'blocked', 'spare', 'write_error', 'want_replacement', 'replacement',
  'external_bbl', 'journal', 'failfast',
] as const;
export type MemberFlag = (typeof memberFlags)[number];

/** The largest number an attribute may hold (sectors of an exabyte-class array fit). */
const attributeNumberMax = Number.MAX_SAFE_INTEGER;

function quoted(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

export function parseWord<T extends string>(file: string, text: string, words: readonly T[]): T {
  const word = text.trim();
  const found = words.find((candidate) => candidate === word);
  if (found === undefined) throw new MdSysfsError(file, word.length === 0 ? 'empty' : `unknown word ${quoted(word)}`);
  return found;
}

export function parseNumber(file: string, text: string): number {
  const word = text.trim();
  if (!/^[0-9]+$/.test(word)) throw new MdSysfsError(file, word.length === 0 ? 'empty, a number expected' : `${quoted(word)} is not a number`);
  const value = Number(word);
  if (value > attributeNumberMax) throw new MdSysfsError(file, `${word} is too large`);
  return value;
}

/** A number, or `none` (resync_start, reshape_position, slot, recovery_start, sync_speed). */
export function parseNumberOrNone(file: string, text: string): number | 'none' {
  return text.trim() === 'none' ? 'none' : parseNumber(file, text);
}

export type SyncCompleted = { doneSectors: number; totalSectors: number } | 'none' | 'delayed';

/** sync_completed: "done / total" in sectors, `none` when idle, `delayed` when waiting for another array. */
export function parseSyncCompleted(file: string, text: string): SyncCompleted {
  const word = text.trim();
  if (word === 'none' || word === 'delayed') return word;
  const match = /^([0-9]+) \/ ([0-9]+)$/.exec(word);
  if (match === null) throw new MdSysfsError(file, `${quoted(word)} is not "done / total", none or delayed`);
  const doneSectors = parseNumber(file, match[1]!);
  const totalSectors = parseNumber(file, match[2]!);
  if (doneSectors > totalSectors) throw new MdSysfsError(file, `${doneSectors} done of ${totalSectors}: more than the total`);
  return { doneSectors, totalSectors };
}

/** "N", or "N (M)" while a reshape changes M into N (md prints the new value first); `expected` names the form in the error. */
function parseNewOld(file: string, text: string, expected: string): { value: number; reshapeFrom: number | null } {
  const match = /^([0-9]+)(?: \(([0-9]+)\))?$/.exec(text.trim());
  if (match === null) throw new MdSysfsError(file, `${quoted(text.trim())} is not ${expected}`);
  return { value: parseNumber(file, match[1]!), reshapeFrom: match[2] === undefined ? null : parseNumber(file, match[2]) };
}

/** raid_disks: "N", or "N (M)" while a reshape changes M disks into N; empty while md has none set (md prints nothing for 0). */
export function parseRaidDisks(file: string, text: string): { raidDisks: number; reshapeFromDisks: number | null } {
  if (text.trim() === '') return { raidDisks: 0, reshapeFromDisks: null };
  const { value, reshapeFrom } = parseNewOld(file, text, 'a disk count');
  return { raidDisks: value, reshapeFromDisks: reshapeFrom };
}

/** chunk_size and layout: "N", or "N (M)" while a reshape changes M into N. */
export function parseReshapable(file: string, text: string): { value: number; reshapeFrom: number | null } {
  return parseNewOld(file, text, 'a number, or "new (old)" during a reshape');
}

/** dev-* /state: comma-separated flags; words this port does not know are kept apart, not dropped. */
export function parseMemberFlags(text: string): { flags: MemberFlag[]; unknown: string[] } {
  const flags: MemberFlag[] = [];
  const unknown: string[] = [];
  for (const word of text.trim().split(',')) {
    if (word.length === 0) continue;
    const flag = memberFlags.find((candidate) => candidate === word);
    if (flag === undefined) unknown.push(word);
    else flags.push(flag);
  }
  return { flags, unknown };
}

export type BitmapLocation = { kind: 'none' } | { kind: 'file' } | { kind: 'internal'; offsetSectors: number };

/** bitmap/location: none, file, or +N / -N sectors from the superblock (internal). */
export function parseBitmapLocation(file: string, text: string): BitmapLocation {
  const word = text.trim();
  if (word === 'none' || word === 'file') return { kind: word };
  const match = /^([+-])([0-9]+)$/.exec(word);
  if (match === null) throw new MdSysfsError(file, `unknown word ${quoted(word)}`);
  const offset = parseNumber(file, match[2]!);
  return { kind: 'internal', offsetSectors: match[1] === '-' ? -offset : offset };
}
