// --json: stable, versioned output for scripts, in the manner of zpool -j:
// an output_version envelope, volumes keyed by device name, snake_case keys,
// sizes as integer bytes. Schema in docs/json.md; bump vers_minor when adding
// keys, vers_major when changing or removing any.
import type { InquiryView, ScrubResultView, VolumeView } from '@openbsd38/bio/controller.js';
import { levelTable } from '@openbsd38/bio/levels.js';
import type { BioStatus } from '@openbsd38/bio/control/messages.js';

export const jsonVersionMajor = 1;
export const jsonVersionMinor = 3;

export function outputVersion(command: string): { command: string; vers_major: number; vers_minor: number } {
  return { command, vers_major: jsonVersionMajor, vers_minor: jsonVersionMinor };
}

function volumeJson(volume: VolumeView): Record<string, unknown> {
  const progress = volume.progress;
  return {
    name: volume.deviceName,
    volume_index: volume.volumeIndex,
    uuid: volume.uuid,
    level: volume.level,
    level_name: levelTable[volume.level].displayName,
    bio_level: levelTable[volume.level].bioLevelCode,
    status: volume.state,
    size_bytes: volume.sizeBytes,
    strip_size_bytes: volume.stripSizeBytes,
    layout: volume.layout,
    noauto: volume.noAutoAssemble,
    progress: progress === null ? null : {
      operation: progress.operation,
      percent: Math.floor(progress.percent),
      bytes_done: progress.bytesDone,
      bytes_total: progress.bytesTotal,
      rate_bytes_per_second: progress.rateBytesPerSecond,
      eta_seconds: progress.etaSeconds,
      ...(progress.operation === 'scrub' ? { repair: progress.repair ?? false, mismatch_sectors: progress.mismatchSectors ?? 0 } : {}),
      ...(progress.waiting === undefined ? {} : { waiting: progress.waiting }),
    },
    last_scrub: scrubJson(volume.lastScrub ?? null),
    chunks: volume.chunks.map((chunk) => ({
      index: chunk.chunkIndex,
      name: chunk.name,
      status: chunk.state,
      size_bytes: chunk.sizeBytes,
      channel: volume.volumeIndex,
      target: chunk.chunkIndex,
      lun: 0,
      ...(chunk.flags === undefined ? {} : { flags: chunk.flags }),
    })),
    // CRYPTO and RAID 1C: encrypted is true; key_disk names the key disk that unlocked it (null: a passphrase).
    ...(levelTable[volume.level].bioLevelCode === 0x43 || volume.level === 'raid1c'
      ? { encrypted: true, key_disk: volume.keyDisk?.name ?? null } : {}),
    ...(volume.extras === undefined ? {} : { extras: volume.extras }),
    ...(volume.problem === undefined ? {} : { problem: volume.problem }),
  };
}

function scrubJson(result: ScrubResultView | null): Record<string, unknown> | null {
  return result === null ? null : {
    mode: result.repair ? 'repair' : 'check',
    status: result.status,
    reason: result.reason,
    started_at: result.startedAt,
    duration_seconds: result.durationSeconds,
    bytes_done: result.bytesDone,
    bytes_total: result.bytesTotal,
    mismatch_sectors: result.mismatchSectors,
    repaired_sectors: result.repairedSectors,
    media_error_sectors: result.mediaErrorSectors,
    media_error_sectors_rewritten: result.mediaErrorSectorsRewritten,
    unreadable_ranges: result.unreadableRanges.map((range) => ({ offset_bytes: range.offsetBytes, length_bytes: range.lengthBytes })),
    unreadable_ranges_dropped: result.unreadableRangesDropped,
  };
}

export function inquiryJson(view: InquiryView, volumeFilter: string | undefined, command: string): Record<string, unknown> {
  const volumes: Record<string, unknown> = {};
  for (const volume of view.volumes) {
    if (volumeFilter === undefined || volume.deviceName === volumeFilter) volumes[volume.deviceName] = volumeJson(volume);
  }
  const hotSpares = volumeFilter === undefined
    ? view.hotSpares.map((spare) => ({ name: spare.name, volume_index: spare.volumeIndex, status: 'Hot spare', size_bytes: spare.sizeBytes, channel: spare.volumeIndex, target: 0, lun: 0 }))
    : [];
  return { output_version: outputVersion(command), controller: view.controllerName, volumes, hot_spares: hotSpares };
}

export function bioStatusJson(status: BioStatus): Record<string, unknown> {
  return { controller: status.controller, status: status.status, messages: status.messages };
}
