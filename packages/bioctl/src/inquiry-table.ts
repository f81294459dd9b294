// bioctl -i: OpenBSD's bio_inq() table, printf widths and all (reference
// §2.3): header "%-11s %-10s %14s %-8s", volume rows "%11s %-10s %14s %-7s "
// followed by the level ("RAID5 " keeps its trailing space: an empty cache
// column), disk rows "%11s %-10s %14s %-7s %-6s <%s>" with the index as
// "    %3u", channel:target.lun = volume index:chunk index.0, and hot spares
// as pseudo-volumes with a single disk row under "softraid0 N".
// Deliberate difference: member names are not cut to bd_vendor's 31 bytes.
import type { InquiryView, VolumeView } from '@openbsd38/bio/controller.js';
import { levelTable } from '@openbsd38/bio/levels.js';
import { fmtScaled } from '@openbsd38/libutil/fmt-scaled.js';

export interface InquiryFormatOptions {
  /** bioctl sd0: show only that volume (and so no hot spares). */
  volumeFilter: string | undefined;
  /** -h */
  human: boolean;
  /** -v: a serial line under every disk. */
  verbose: boolean;
}

const padLeft = (text: string, width: number): string => text.padStart(width);
const padRight = (text: string, width: number): string => text.padEnd(width);

function sizeColumn(sizeBytes: number, human: boolean): string {
  return padLeft(human ? (fmtScaled(sizeBytes) ?? '') : String(sizeBytes), 14);
}

/**
 * The level column as bio_inq prints it, with " NN% done" inserted. A
 * resync after a crash (md's, not OpenBSD's) is named, since the status
 * column shows the volume's state (Online, Degraded) rather than it; rebuild
 * and scrub are named there (Rebuild, Scrubbing).
 */
function levelColumn(volume: VolumeView): string {
  const progress = volume.progress;
  // md's reshape is named too; a waiting operation (md's delayed or pending) shows that instead of a percentage.
  const named = progress?.operation === 'resync' || progress?.operation === 'reshape' || progress?.waiting !== undefined;
  const operation = progress !== null && named ? ` ${progress.operation}` : '';
  const percent = progress === null ? '' : progress.waiting !== undefined ? `${operation} ${progress.waiting}` : `${operation} ${Math.floor(progress.percent)}% done`;
  const cache = ''; // softraid reports BIOC_CVUNKNOWN
  const code = levelTable[volume.level].bioLevelCode;
  if (code === 0x43) return `CRYPTO${percent}`;
  if (code === 0x63) return `CONCAT${percent}`;
  if (volume.level === 'unknown') return `UNKNOWN${percent}`;
  if (code === 0x1c || code === 0x1e) return `RAID${code.toString(16).toUpperCase()}${percent} ${cache}`;
  return `RAID${code}${percent} ${cache}`;
}

function diskRow(volname: string, status: string, size: string, scsiname: string, vendor: string): string {
  return `${padLeft(volname, 11)} ${padRight(status, 10)} ${padLeft(size, 14)} ${padRight(scsiname, 7)} ${padRight('noencl', 6)} <${vendor}>`;
}

function serialRow(flags: readonly string[] = []): string {
  const shown = flags.length > 0 ? ` ${flags.join(',')}` : '';
  return `${padLeft('', 11)} ${padRight('', 10)} ${padLeft('', 14)} ${padRight('', 7)} ${padRight('', 6)} 'unknown serial'${shown}`;
}

/**
 * -v under a volume: the controller's own facts (md's metadata version,
 * bitmap, array_state, mismatch count ...), its UUID first, and why it could
 * not be read when it could not.
 */
function extrasRows(volume: VolumeView): string[] {
  if (volume.extras === undefined && volume.problem === undefined) return [];
  const facts = Object.entries(volume.extras ?? {}).filter(([, value]) => value !== null).map(([key, value]) => `${key} ${String(value)}`);
  const rows = [`${padLeft('', 11)} uuid ${volume.uuid || 'unknown'}${facts.length > 0 ? `, ${facts.join(', ')}` : ''}`];
  if (volume.problem !== undefined) rows.push(`${padLeft('', 11)} problem: ${volume.problem}`);
  return rows;
}

export function formatInquiry(view: InquiryView, options: InquiryFormatOptions): string {
  const lines: string[] = [];
  type Entry = { index: number; volume: VolumeView } | { index: number; spare: InquiryView['hotSpares'][number] };
  const entries: Entry[] = [
    ...view.volumes.map((volume) => ({ index: volume.volumeIndex, volume })),
    ...view.hotSpares.map((spare) => ({ index: spare.volumeIndex, spare })),
  ].sort((a, b) => a.index - b.index);
  for (const entry of entries) {
    const deviceName = 'volume' in entry ? entry.volume.deviceName : '';
    if (options.volumeFilter !== undefined && options.volumeFilter !== deviceName) continue;
    if (lines.length === 0) lines.push(`${padRight('Volume', 11)} ${padRight('Status', 10)} ${padLeft('Size', 14)} ${padRight('Device', 8)}`);
    const volname = `${view.controllerName} ${entry.index}`;
    if ('spare' in entry) {
      lines.push(diskRow(volname, 'Hot spare', sizeColumn(entry.spare.sizeBytes, options.human), `${entry.index}:0.0`, entry.spare.name));
      if (options.verbose) lines.push(serialRow());
      continue;
    }
    const volume = entry.volume;
    lines.push(`${padLeft(volname, 11)} ${padRight(volume.state, 10)} ${sizeColumn(volume.sizeBytes, options.human)} ${padRight(volume.deviceName, 7)} ${levelColumn(volume)}`);
    if (options.verbose) lines.push(...extrasRows(volume));
    const keyDiskLevel = volume.level === 'crypto' || volume.level === 'raid1c';
    for (const chunk of volume.chunks) {
      const size = keyDiskLevel && chunk.sizeBytes === 0 ? padLeft('key disk', 14) : sizeColumn(chunk.sizeBytes, options.human);
      lines.push(diskRow(`    ${String(chunk.chunkIndex).padStart(3)}`, chunk.state, size, `${volume.volumeIndex}:${chunk.chunkIndex}.0`, chunk.name));
      if (options.verbose) lines.push(serialRow(chunk.flags));
    }
    // softraid lists a key disk after the chunks, its size column saying so (bd_size 0).
    if (keyDiskLevel && volume.keyDisk) {
      const index = volume.chunks.length;
      lines.push(diskRow(`    ${String(index).padStart(3)}`, 'Online', padLeft('key disk', 14), `${volume.volumeIndex}:${index}.0`, volume.keyDisk.name));
      if (options.verbose) lines.push(serialRow());
    }
  }
  return lines.map((line) => `${line}\n`).join('');
}
