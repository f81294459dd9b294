// How softraid0 shows its volumes: bio's views of a volume and of a scrub
// result, and the log lines a scrub or a failed rebuild leaves.
import type { BioMessage, ScrubResultView, VolumeView } from '@openbsd38/bio/controller.js';
import type { VolumeInfo } from '../volume/volume.js';
import type { ScrubResult } from '../volume/scrub.js';
import type { ByteRange } from '../disciplines/discipline.js';

/** Ranges named in one log line; the rest are counted. */
const logRangesMax = 8;

export function percentOf(result: ScrubResult): number {
  return result.bytesTotal === 0 ? 100 : Math.floor((result.bytesDone * 100) / result.bytesTotal);
}

export function scrubResultView(result: ScrubResult, startedAtWallMs: number): ScrubResultView {
  const { startedAtMs, finishedAtMs, ...counts } = result;
  return {
    ...counts,
    unreadableRanges: result.unreadableRanges.map((range) => ({ ...range })),
    startedAt: new Date(startedAtWallMs).toISOString(),
    durationSeconds: Math.round(finishedAtMs - startedAtMs) / 1000,
  };
}

/** "262144-327679, 393216-393727 and 3 more": inclusive byte numbers. */
export function formatRanges(ranges: readonly ByteRange[], dropped = 0): string {
  const shown = ranges.slice(0, logRangesMax).map((range) => `${range.offsetBytes}-${range.offsetBytes + range.lengthBytes - 1}`);
  const more = ranges.length - shown.length + dropped;
  return shown.length === 0 ? 'none' : `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** One line for the daemon's log: what a scrub found, as an error when data was lost. */
export function scrubLogMessage(deviceName: string, view: ScrubResultView): BioMessage {
  const what = view.repair ? 'repair' : 'scrub';
  const parts = [`${view.mismatchSectors} mismatched sectors${view.repair ? ` (${view.repairedSectors} repaired)` : ''}`];
  if (view.mediaErrorSectors > 0) parts.push(`${view.mediaErrorSectors} unreadable chunk sectors (${view.mediaErrorSectorsRewritten} rewritten)`);
  if (view.unreadableRanges.length > 0) parts.push(`data lost at volume bytes ${formatRanges(view.unreadableRanges, view.unreadableRangesDropped)}`);
  const ending = view.status === 'finished' ? 'finished' : `${view.status} at ${view.bytesTotal === 0 ? 100 : Math.floor((view.bytesDone * 100) / view.bytesTotal)}% (${view.reason ?? 'no reason'})`;
  const type = view.unreadableRanges.length > 0 || view.status === 'failed' ? 'error' : view.mismatchSectors > 0 || view.mediaErrorSectors > 0 ? 'warning' : 'info';
  return { type, text: `${what} of ${deviceName} ${ending}: ${parts.join(', ')}` };
}

/** bio's view of a volume (bioctl's table and JSON). */
export function volumeView(info: VolumeInfo, volumeIndex: number, lastScrub: ScrubResultView | null): VolumeView {
  return {
    volumeIndex,
    deviceName: info.deviceName,
    uuid: info.uuid,
    level: info.level,
    layout: info.layout,
    stripSizeBytes: info.stripSizeBytes,
    state: info.state,
    sizeBytes: info.sizeBytes,
    noAutoAssemble: info.noAutoAssemble,
    chunks: info.chunks.map((chunk) => ({
      chunkIndex: chunk.chunkIndex, name: chunk.present ? chunk.name : '', state: chunk.state, sizeBytes: chunk.sizeBytes, ioErrors: chunk.ioErrors,
    })),
    progress: info.progress && {
      operation: info.progress.operation,
      percent: info.progress.percent,
      bytesDone: info.progress.bytesDone,
      bytesTotal: info.progress.bytesTotal,
      rateBytesPerSecond: info.progress.rateBytesPerSecond,
      etaSeconds: info.progress.etaSeconds,
      ...(info.progress.operation === 'scrub' ? { repair: info.progress.repair, mismatchSectors: info.progress.mismatchSectors } : {}),
    },
    lastScrub,
  };
}
