// Scanning candidate chunks (softraid's sr_boot_assembly): group them by
// volume UUID so each group can be assembled, collect hot spares, report
// corrupt metadata, ignore chunks without metadata, and skip volumes created
// noauto unless asked.
import { MetadataError } from '../errors.js';
import type { ChunkBackend } from '../chunk.js';
import type { BioMessage } from '@openbsd38/bio/controller.js';
import type { VolumeRecord } from '../metadata/record.js';
import { readChunkMetadata } from '../metadata/io.js';

export interface ScannedVolume {
  uuid: string;
  /** The freshest record among the group (by event counter). */
  record: VolumeRecord;
  /** The chunks to pass to assembleVolume, in the order found. */
  chunks: ChunkBackend[];
}

export interface ScanResult {
  volumes: ScannedVolume[];
  /** noauto volumes left out (includeNoAutoAssemble not set). */
  skipped: ScannedVolume[];
  hotSpares: { chunk: ChunkBackend; record: VolumeRecord }[];
  corrupt: { chunk: ChunkBackend; error: MetadataError }[];
  messages: BioMessage[];
}

export interface ScanOptions {
  /** Also return volumes created with -C noauto (an explicit request by UUID or name). */
  includeNoAutoAssemble?: boolean;
}

export async function scanChunks(chunks: readonly ChunkBackend[], options: ScanOptions = {}): Promise<ScanResult> {
  const result: ScanResult = { volumes: [], skipped: [], hotSpares: [], corrupt: [], messages: [] };
  const groups = new Map<string, ScannedVolume>();
  const seen = new Set<string>();
  for (const chunk of chunks) {
    if (seen.has(chunk.identity)) continue; // the same device reached by two paths
    seen.add(chunk.identity);
    let found;
    try {
      found = await readChunkMetadata(chunk);
    } catch (error) {
      if (!(error instanceof MetadataError)) throw error;
      result.corrupt.push({ chunk, error });
      result.messages.push({ type: 'warning', text: `chunk ${chunk.name} has corrupt metadata, ignored: ${error.message}` });
      continue;
    }
    if (found === null) continue;
    if (found.record.kind === 'hotspare') {
      result.hotSpares.push({ chunk, record: found.record });
      continue;
    }
    const group = groups.get(found.record.uuid);
    if (group === undefined) {
      groups.set(found.record.uuid, { uuid: found.record.uuid, record: found.record, chunks: [chunk] });
    } else {
      group.chunks.push(chunk);
      if (found.record.eventCounter > group.record.eventCounter) group.record = found.record;
    }
  }
  for (const group of groups.values()) {
    if (group.record.noAutoAssemble && !options.includeNoAutoAssemble) {
      result.skipped.push(group);
      result.messages.push({ type: 'info', text: `volume ${group.record.deviceName} (uuid ${group.uuid}) is noauto, not assembled` });
    } else {
      result.volumes.push(group);
    }
  }
  return result;
}
