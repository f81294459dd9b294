// One md array as sysfs shows it (/sys/block/mdN/md/, md.rst), read into
// plain data: every attribute typed, null when this kernel or this level has
// no such file (raid0 has no sync_action), and every attribute that exists
// but does not read as documented recorded as a problem naming the file, so
// the array is shown as Invalid with the reason instead of a guess.
import { basename } from 'node:path';
import { MdSysfsError } from '../errors.js';
import type { SysfsTree } from './tree.js';
import {
  arrayStates, parseBitmapLocation, parseMdLevel, parseMemberFlags, parseNumber, parseNumberOrNone, parseRaidDisks, parseReshapable,
  parseSyncCompleted, parseWord, syncActions, lastSyncActions,
  type ArrayState, type LastSyncAction, type BitmapLocation, type MdLevel, type MemberFlag, type SyncAction, type SyncCompleted,
} from './words.js';

/** Members read per array at most (md's MD_SB_DISKS for 1.x metadata is 384). */
export const membersPerArrayMax = 384;

export interface MdMember {
  /** The dev-* directory's suffix: the kernel's block device name (sdb, ubdc). */
  kernelName: string;
  flags: MemberFlag[];
  /** Flag words this port does not know, kept to show (a newer kernel's). */
  unknownFlags: string[];
  /** The role in the array; `none` for a spare (or a failed member removed from its role). */
  slot: number | 'none' | null;
  /** Usable size, KiB (dev-* /size). */
  sizeKiB: number | null;
  /** I/O errors corrected or seen (dev-* /errors). */
  errors: number | null;
  /** Sector up to which it has been recovered, `none` when in sync (dev-* /recovery_start). */
  recoveryStart: number | 'none' | null;
}

export interface MdArray {
  /** md0, md127, md_home. */
  deviceName: string;
  arrayState: ArrayState | null;
  level: MdLevel | '' | null;
  raidDisks: number | null;
  reshapeFromDisks: number | null;
  degraded: number | null;
  syncAction: SyncAction | null;
  lastSyncAction: LastSyncAction | null;
  syncCompleted: SyncCompleted | null;
  /** KiB/s over the last 30 s; null when idle (`none`) or absent. */
  syncSpeedKiBPerSecond: number | null;
  mismatchSectors: number | null;
  chunkSizeBytes: number | null;
  /** The strip size a reshape changes from (chunk_size "new (old)"); null when none does. */
  reshapeFromChunkSizeBytes: number | null;
  /** Size used on each member, KiB. */
  componentSizeKiB: number | null;
  /** The array's size (/sys/block/mdN/size, 512-byte sectors), bytes. */
  sizeBytes: number | null;
  layout: number | null;
  /** The layout a reshape changes from (layout "new (old)"); null when none does. */
  reshapeFromLayout: number | null;
  resyncStart: number | 'none' | null;
  reshapePosition: number | 'none' | null;
  metadataVersion: string | null;
  uuid: string | null;
  bitmap: BitmapLocation | null;
  bitmapChunkBytes: number | null;
  members: MdMember[];
  /** What could not be read as documented, each naming its file. Empty when all was. */
  problems: string[];
}

/** Runs one read; an MdSysfsError becomes a recorded problem and the value null. */
class ProblemLog {
  readonly problems: string[] = [];
  attempt<T>(read: () => T | null): T | null {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof MdSysfsError)) throw error;
      this.problems.push(error.message);
      return null;
    }
  }
}

function readMember(tree: SysfsTree, mdDirectory: string, entry: string, log: ProblemLog): MdMember {
  const directory = `${mdDirectory}/${entry}`;
  const file = (name: string): string => tree.path(directory, name);
  const text = (name: string): string | undefined => log.attempt(() => tree.read(`${directory}/${name}`) ?? null) ?? undefined;
  const stateText = text('state');
  const { flags, unknown } = stateText === undefined ? { flags: [], unknown: [] } : parseMemberFlags(stateText);
  const slotText = text('slot');
  const sizeText = text('size');
  const errorsText = text('errors');
  const recoveryText = text('recovery_start');
  return {
    kernelName: entry.slice('dev-'.length),
    flags,
    unknownFlags: unknown,
    slot: slotText === undefined ? null : log.attempt(() => parseNumberOrNone(file('slot'), slotText)),
    sizeKiB: sizeText === undefined ? null : log.attempt(() => parseNumber(file('size'), sizeText)),
    errors: errorsText === undefined ? null : log.attempt(() => parseNumber(file('errors'), errorsText)),
    recoveryStart: recoveryText === undefined ? null : log.attempt(() => parseNumberOrNone(file('recovery_start'), recoveryText)),
  };
}

/** Reads /sys/block/NAME/md/. Never throws an MdSysfsError: problems are recorded in the result. */
export function readArray(tree: SysfsTree, deviceName: string): MdArray {
  const log = new ProblemLog();
  const md = `block/${deviceName}/md`;
  const file = (name: string): string => tree.path(md, name);
  const text = (name: string): string | undefined => log.attempt(() => tree.read(`${md}/${name}`) ?? null) ?? undefined;
  function parsed<T>(name: string, parse: (file: string, text: string) => T): T | null {
    const value = text(name);
    return value === undefined ? null : log.attempt(() => parse(file(name), value));
  }
  const raidDisks = parsed('raid_disks', parseRaidDisks);
  const chunkSize = parsed('chunk_size', parseReshapable);
  const layout = parsed('layout', parseReshapable);
  const syncSpeed = parsed('sync_speed', parseNumberOrNone);
  const sizeText = log.attempt(() => tree.read(`block/${deviceName}/size`) ?? null);
  const members: MdMember[] = [];
  for (const entry of log.attempt(() => tree.list(md)) ?? []) {
    if (!entry.startsWith('dev-')) continue;
    if (members.length >= membersPerArrayMax) {
      log.problems.push(`${tree.path(md)}: more than ${membersPerArrayMax} members, the rest not read`);
      break;
    }
    members.push(readMember(tree, md, entry, log));
  }
  const bitmapLocation = parsed('bitmap/location', parseBitmapLocation);
  return {
    deviceName,
    arrayState: parsed('array_state', (name, value) => parseWord(name, value, arrayStates)),
    // An empty level is md's answer for an array not yet (or no longer) set up.
    level: parsed('level', parseMdLevel),
    raidDisks: raidDisks?.raidDisks ?? null,
    reshapeFromDisks: raidDisks?.reshapeFromDisks ?? null,
    degraded: parsed('degraded', parseNumber),
    syncAction: parsed('sync_action', (name, value) => parseWord(name, value, syncActions)),
    lastSyncAction: parsed('last_sync_action', (name, value) => parseWord(name, value, lastSyncActions)),
    syncCompleted: parsed('sync_completed', parseSyncCompleted),
    syncSpeedKiBPerSecond: syncSpeed === 'none' ? null : syncSpeed,
    mismatchSectors: parsed('mismatch_cnt', parseNumber),
    chunkSizeBytes: chunkSize?.value ?? null,
    reshapeFromChunkSizeBytes: chunkSize?.reshapeFrom ?? null,
    componentSizeKiB: parsed('component_size', parseNumber),
    sizeBytes: sizeText === null ? null : log.attempt(() => parseNumber(tree.path(`block/${deviceName}/size`), sizeText) * 512),
    layout: layout?.value ?? null,
    reshapeFromLayout: layout?.reshapeFrom ?? null,
    resyncStart: parsed('resync_start', parseNumberOrNone),
    reshapePosition: parsed('reshape_position', parseNumberOrNone),
    metadataVersion: text('metadata_version')?.trim() ?? null,
    uuid: text('uuid')?.trim() || null,
    bitmap: bitmapLocation,
    bitmapChunkBytes: bitmapLocation?.kind === 'internal' || bitmapLocation?.kind === 'file' ? parsed('bitmap/chunksize', parseNumber) : null,
    members,
    problems: log.problems,
  };
}

/** The md arrays sysfs lists: /sys/block/md* with an md/ directory. */
export function listArrays(tree: SysfsTree): string[] {
  return tree.list('block')
    .filter((name) => /^md/.test(name) && tree.list(`block/${name}/md`).length > 0)
    .sort((a, b) => arrayOrder(a) - arrayOrder(b) || a.localeCompare(b));
}

function arrayOrder(name: string): number {
  const match = /^md([0-9]+)$/.exec(basename(name));
  return match === null ? Number.MAX_SAFE_INTEGER : Number(match[1]);
}
