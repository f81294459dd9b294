// md's states in bio's words, written once: the rows below, in order, first
// match wins, and docs/states.md shows the same table (a test checks that
// every row's text is there). Each row's `when` reads as the condition.
import { levelTable, type ViewLevel } from '@openbsd38/bio/levels.js';
import { ChunkState, VolumeState } from '@openbsd38/bio/states.js';
import type { ProgressView } from '@openbsd38/bio/controller.js';
import type { MdArray, MdMember } from './sysfs/read-array.js';

/** What an array's state rows look at, derived once from an MdArray. */
export interface ArrayFacts {
  array: MdArray;
  /** Missing members the level survives (RAID 10: copies - 1, from md's layout). */
  tolerated: number;
  degraded: number;
  delayed: boolean;
  /** resync_start names a sector: the array is not known to be in sync, and no resync runs. */
  resyncOwed: boolean;
}

export interface VolumeStateRow {
  when: string;
  applies(facts: ArrayFacts): boolean;
  state: VolumeState;
  /** The operation shown with its percentage, and whether it waits rather than runs. */
  progress?: { operation: ProgressView['operation']; repair?: boolean; waiting?: 'delayed' | 'pending' };
}

const action = (facts: ArrayFacts): string | null => facts.array.syncAction;

export const volumeStateRows: readonly VolumeStateRow[] = [
  { when: 'an attribute does not read as md.rst documents it', applies: (f) => f.array.problems.length > 0, state: VolumeState.Invalid },
  { when: 'array_state is inactive', applies: (f) => f.array.arrayState === 'inactive', state: VolumeState.Offline },
  { when: 'array_state is clear with members (mdadm setting it up or stopping it)', applies: (f) => f.array.arrayState === 'clear', state: VolumeState.Offline },
  { when: 'array_state is broken', applies: (f) => f.array.arrayState === 'broken', state: VolumeState.Offline },
  { when: 'array_state is unreadable or absent', applies: (f) => f.array.arrayState === null, state: VolumeState.Invalid },
  { when: 'degraded is more than the level survives', applies: (f) => f.degraded > f.tolerated, state: VolumeState.Offline },
  {
    when: 'sync_action is recover and sync_completed is delayed', applies: (f) => action(f) === 'recover' && f.delayed,
    state: VolumeState.Degraded, progress: { operation: 'rebuild', waiting: 'delayed' },
  },
  { when: 'sync_action is recover', applies: (f) => action(f) === 'recover', state: VolumeState.Rebuild, progress: { operation: 'rebuild' } },
  { when: 'sync_action is check', applies: (f) => action(f) === 'check', state: VolumeState.Scrubbing, progress: { operation: 'scrub', repair: false } },
  { when: 'sync_action is repair', applies: (f) => action(f) === 'repair', state: VolumeState.Scrubbing, progress: { operation: 'scrub', repair: true } },
  {
    when: 'sync_action is reshape and degraded is above 0', applies: (f) => action(f) === 'reshape' && f.degraded > 0,
    state: VolumeState.Degraded, progress: { operation: 'reshape' },
  },
  { when: 'sync_action is reshape', applies: (f) => action(f) === 'reshape', state: VolumeState.Building, progress: { operation: 'reshape' } },
  {
    when: 'sync_action is resync and sync_completed is delayed', applies: (f) => action(f) === 'resync' && f.delayed,
    state: VolumeState.Building, progress: { operation: 'resync', waiting: 'delayed' },
  },
  { when: 'sync_action is resync', applies: (f) => action(f) === 'resync', state: VolumeState.Building, progress: { operation: 'resync' } },
  {
    when: 'no sync runs but resync_start names a sector (read-only, auto-read-only or frozen) and degraded is above 0',
    applies: (f) => f.resyncOwed && f.degraded > 0, state: VolumeState.Degraded, progress: { operation: 'resync', waiting: 'pending' },
  },
  {
    when: 'no sync runs but resync_start names a sector (read-only, auto-read-only or frozen)',
    applies: (f) => f.resyncOwed, state: VolumeState.Building, progress: { operation: 'resync', waiting: 'pending' },
  },
  { when: 'degraded is above 0', applies: (f) => f.degraded > 0, state: VolumeState.Degraded },
  { when: 'otherwise (clean, active, write-pending, active-idle, readonly, read-auto, suspended)', applies: () => true, state: VolumeState.Online },
];

export interface MemberFacts {
  member: MdMember;
  array: MdArray;
}

export interface ChunkStateRow {
  when: string;
  applies(facts: MemberFacts): boolean;
  state: ChunkState;
}

const has = (facts: MemberFacts, flag: MdMember['flags'][number]): boolean => facts.member.flags.includes(flag);
const slotted = (facts: MemberFacts): boolean => typeof facts.member.slot === 'number';

export const chunkStateRows: readonly ChunkStateRow[] = [
  { when: 'state has faulty', applies: (f) => has(f, 'faulty'), state: ChunkState.Failed },
  { when: 'the array is inactive or clear (the member is not running)', applies: (f) => f.array.arrayState === 'inactive' || f.array.arrayState === 'clear', state: ChunkState.Offline },
  { when: 'state has journal (a write journal, no slot)', applies: (f) => has(f, 'journal'), state: ChunkState.Online },
  { when: 'state has in_sync and slot is a number', applies: (f) => has(f, 'in_sync') && slotted(f), state: ChunkState.Online },
  { when: 'slot is a number and state lacks in_sync (being recovered onto, a replacement too)', applies: (f) => slotted(f) && !has(f, 'in_sync'), state: ChunkState.Rebuild },
  { when: 'state has spare and slot is none', applies: (f) => has(f, 'spare') && f.member.slot === 'none', state: ChunkState.HotSpare },
  { when: 'otherwise (no flag this port knows, slot unreadable)', applies: () => true, state: ChunkState.Invalid },
];

/** A slot below raid_disks that no member holds. */
export const emptySlotState = ChunkState.Offline;
export const emptySlotRow = 'no member holds slot N (N below raid_disks)';

/** md's words for the array's level, in bio's. */
export function viewLevelOf(level: MdArray['level']): ViewLevel {
  switch (level) {
    case 'linear': return 'concat';
    case 'raid0': case 'raid1': case 'raid4': case 'raid5': case 'raid6': case 'raid10': return level;
    default: return 'unknown';
  }
}

/** Missing members an array survives: RAID 1 all but one; RAID 10 copies - 1 (near × far copies in md's layout). */
export function toleratedMissing(array: MdArray): number {
  const disks = array.raidDisks ?? 0;
  if (array.level === 'raid10' && array.layout !== null) {
    // While a reshape changes the layout, the fewer copies of the two.
    const copiesOf = (layout: number): number => (layout & 0xff) * ((layout >> 8) & 0xff);
    const copies = Math.min(copiesOf(array.layout), copiesOf(array.reshapeFromLayout ?? array.layout));
    return Math.max(0, copies - 1);
  }
  return levelTable[viewLevelOf(array.level)].toleratedMissing(disks);
}

export function arrayFacts(array: MdArray): ArrayFacts {
  const running = array.syncAction !== null && array.syncAction !== 'idle' && array.syncAction !== 'frozen';
  return {
    array,
    tolerated: toleratedMissing(array),
    degraded: array.degraded ?? 0,
    delayed: array.syncCompleted === 'delayed',
    resyncOwed: !running && typeof array.resyncStart === 'number',
  };
}

export function volumeStateRow(facts: ArrayFacts): VolumeStateRow {
  const row = volumeStateRows.find((candidate) => candidate.applies(facts));
  // The last row applies to everything.
  return row!;
}

export function chunkStateOf(facts: MemberFacts): ChunkState {
  return chunkStateRows.find((candidate) => candidate.applies(facts))!.state;
}
