// An md array in bio's views: the state from states.ts's rows, the chunks
// by slot (an empty slot is an Offline chunk with no name), then members
// outside the slots (spares, replacements, failed members already out of
// their slot), and md's own facts as extras (bioctl -v, JSON).
import type { ChunkView, HotSpareView, InquiryView, ProgressView, VolumeExtrasView, VolumeView } from '@openbsd38/bio/controller.js';
import type { Raid5Layout } from '@openbsd38/bio/levels.js';

import { arrayFacts, chunkStateOf, emptySlotState, viewLevelOf, volumeStateRow } from './states.js';
import type { MdArray, MdMember } from './sysfs/read-array.js';

export const controllerName = 'md';

/** md's RAID 5/6 layout numbers (md.rst's `layout`; mdadm's names). */
const parityLayoutNames: Readonly<Record<number, string>> = {
  0: 'left-asymmetric', 1: 'right-asymmetric', 2: 'left-symmetric', 3: 'right-symmetric', 4: 'parity-first', 5: 'parity-last',
  16: 'left-asymmetric-6', 17: 'right-asymmetric-6', 18: 'left-symmetric-6', 19: 'right-symmetric-6', 20: 'parity-first-6',
};

/** /dev/NAME for a kernel block device name ("!" stands for "/" in sysfs: cciss!c0d0). */
export function memberPath(kernelName: string): string {
  return `/dev/${kernelName.replace(/!/g, '/')}`;
}

function progressOf(array: MdArray, row: ReturnType<typeof volumeStateRow>): ProgressView | null {
  if (row.progress === undefined) return null;
  const completed = typeof array.syncCompleted === 'object' && array.syncCompleted !== null ? array.syncCompleted : null;
  const componentBytes = (array.componentSizeKiB ?? 0) * 1024;
  const bytesTotal = completed === null ? componentBytes : completed.totalSectors * 512;
  // A pending resync has not begun past resync_start.
  const doneSectors = completed?.doneSectors ?? (row.progress.waiting === 'pending' && typeof array.resyncStart === 'number' ? array.resyncStart : 0);
  const bytesDone = Math.min(bytesTotal, doneSectors * 512);
  const rateBytesPerSecond = row.progress.waiting === undefined ? (array.syncSpeedKiBPerSecond ?? 0) * 1024 : 0;
  const progress: ProgressView = {
    operation: row.progress.operation,
    percent: bytesTotal === 0 ? 0 : (bytesDone / bytesTotal) * 100,
    bytesDone,
    bytesTotal,
    rateBytesPerSecond,
    etaSeconds: rateBytesPerSecond > 0 ? Math.ceil((bytesTotal - bytesDone) / rateBytesPerSecond) : null,
  };
  if (row.progress.operation === 'scrub') {
    progress.repair = row.progress.repair ?? false;
    progress.mismatchSectors = array.mismatchSectors ?? 0;
  }
  if (row.progress.waiting !== undefined) progress.waiting = row.progress.waiting;
  return progress;
}

function memberFlags(member: MdMember): string[] {
  const shown = member.flags.filter((flag) => flag !== 'in_sync' && flag !== 'spare' && flag !== 'faulty');
  return [...shown, ...member.unknownFlags];
}

function chunkOf(array: MdArray, member: MdMember, chunkIndex: number): ChunkView {
  const chunk: ChunkView = {
    chunkIndex,
    name: memberPath(member.kernelName),
    state: chunkStateOf({ member, array }),
    sizeBytes: (member.sizeKiB ?? 0) * 1024,
  };
  if (member.errors !== null) chunk.ioErrors = member.errors;
  const flags = memberFlags(member);
  if (flags.length > 0) chunk.flags = flags;
  return chunk;
}

function chunksOf(array: MdArray): ChunkView[] {
  const raidDisks = array.raidDisks ?? 0;
  const bySlot = new Map<number, MdMember>();
  const others: MdMember[] = [];
  for (const member of array.members) {
    // A replacement shares its slot with the member it replaces: it is listed after the slots.
    if (typeof member.slot === 'number' && member.slot < raidDisks && !bySlot.has(member.slot) && !member.flags.includes('replacement')) {
      bySlot.set(member.slot, member);
    } else {
      others.push(member);
    }
  }
  const chunks: ChunkView[] = [];
  for (let slot = 0; slot < raidDisks; slot++) {
    const member = bySlot.get(slot);
    chunks.push(member === undefined ? { chunkIndex: slot, name: '', state: emptySlotState, sizeBytes: 0 } : chunkOf(array, member, slot));
  }
  for (const member of others) chunks.push(chunkOf(array, member, chunks.length));
  return chunks;
}

function extrasOf(array: MdArray): VolumeExtrasView {
  const container = /^external:[/-]([^/]+)\//.exec(array.metadataVersion ?? '')?.[1] ?? null;
  // A parity level's layout by md's name for it; any other level's as md's number.
  const isParity = array.level === 'raid5' || array.level === 'raid6' || array.level === 'raid4';
  const layoutShown = (layout: number | null): string | number | null => (layout === null || !isParity ? layout : parityLayoutNames[layout] ?? String(layout));
  return {
    md_level: array.level,
    array_state: array.arrayState,
    metadata_version: array.metadataVersion,
    container,
    bitmap: array.bitmap?.kind ?? null,
    bitmap_chunk_bytes: array.bitmapChunkBytes,
    raid_disks: array.raidDisks,
    reshape_from_disks: array.reshapeFromDisks,
    degraded: array.degraded,
    sync_action: array.syncAction,
    last_sync_action: array.lastSyncAction,
    mismatch_sectors: array.mismatchSectors,
    component_size_bytes: array.componentSizeKiB === null ? null : array.componentSizeKiB * 1024,
    layout: layoutShown(array.layout),
    reshape_from_strip_bytes: array.reshapeFromChunkSizeBytes,
    reshape_from_layout: layoutShown(array.reshapeFromLayout),
  };
}

function layoutOf(array: MdArray): Raid5Layout | null {
  if (array.level !== 'raid5' || array.layout === null) return null;
  return array.layout === 0 ? 'left-asymmetric' : array.layout === 2 ? 'left-symmetric' : null;
}

export function volumeIndexOf(deviceName: string, minor: number | null, position: number): number {
  const number = /^md([0-9]+)$/.exec(deviceName)?.[1];
  if (number !== undefined && Number(number) <= 0xffff) return Number(number);
  return minor !== null && minor <= 0xffff ? minor : 0xff00 + position;
}

export function volumeOf(array: MdArray, volumeIndex: number): VolumeView {
  const row = volumeStateRow(arrayFacts(array));
  const volume: VolumeView = {
    volumeIndex,
    deviceName: array.deviceName,
    uuid: array.uuid ?? '',
    level: viewLevelOf(array.level),
    layout: layoutOf(array),
    stripSizeBytes: array.chunkSizeBytes ?? 0,
    state: row.state,
    sizeBytes: array.sizeBytes ?? 0,
    noAutoAssemble: false,
    chunks: chunksOf(array),
    progress: progressOf(array, row),
    extras: extrasOf(array),
  };
  if (array.problems.length > 0) volume.problem = array.problems.join('; ');
  return volume;
}

/** An external-metadata container (imsm, ddf): a pool of disks, not a volume. */
export function isContainer(array: MdArray): boolean {
  return array.level === 'container' || /^external:[^/-]/.test(array.metadataVersion ?? '');
}

/** An md device node with no array behind it (array_state clear, nothing assembled). */
export function isUnused(array: MdArray): boolean {
  return array.arrayState === 'clear' && array.members.length === 0 && array.problems.length === 0;
}

/**
 * The inquiry: arrays as volumes; a container's disks that no member array
 * uses are its spares (imsm and ddf keep spares in the container), listed as
 * hot spares after the volumes.
 */
export function inquiryOf(arrays: readonly { array: MdArray; minor: number | null }[]): InquiryView {
  const volumes: VolumeView[] = [];
  const containers: MdArray[] = [];
  arrays.forEach(({ array, minor }, position) => {
    if (isUnused(array)) return;
    if (isContainer(array) && array.problems.length === 0) containers.push(array);
    else volumes.push(volumeOf(array, volumeIndexOf(array.deviceName, minor, position)));
  });
  const used = new Set(volumes.flatMap((volume) => volume.chunks.map((chunk) => chunk.name)));
  let nextIndex = volumes.reduce((highest, volume) => Math.max(highest, volume.volumeIndex + 1), 0);
  const hotSpares: HotSpareView[] = [];
  for (const container of containers) {
    for (const member of container.members) {
      const name = memberPath(member.kernelName);
      if (used.has(name) || member.flags.includes('faulty')) continue;
      hotSpares.push({ volumeIndex: nextIndex++, name, sizeBytes: (member.sizeKiB ?? 0) * 1024 });
    }
  }
  return { controllerName, volumes, hotSpares };
}

