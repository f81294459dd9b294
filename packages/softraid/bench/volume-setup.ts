// What the benchmark's child processes share: build a volume with the
// engine (createVolume, then new Volume) on member files, the way softraidd
// attaches one, with a real clock and the real metadata save.
import { randomFillSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileChunk } from '../src/chunk/file.js';
import { createVolume } from '../src/engine/assembly/create.js';
import { saveVolumeMetadata } from '../src/engine/metadata/io.js';
import { Volume } from '../src/engine/volume/volume.js';
import type { ChunkBackend } from '../src/engine/chunk.js';
import { raidLevels, type RaidLevel } from '@openbsd38/bio/levels.js';
import type { Clock } from '../src/engine/volume/events.js';
import { disciplineFor } from '../src/engine/disciplines/registry.js';
import { newVolumeKeys } from '../src/engine/crypto/keying.js';
import { nodeKeyVault } from '../src/crypto/key-vault.js';

const vault = nodeKeyVault();

/** A --level argument of a child process (`who` names it in the error). */
export function parseLevel(text: string, who: string): RaidLevel {
  const level = raidLevels.find((name) => name === text);
  if (level === undefined) throw new Error(`${who}: unknown level ${text}`);
  return level;
}

export const realClock: Clock = {
  nowMs: () => performance.now(),
  sleepMs: async (durationMs) => {
    await sleep(durationMs);
  },
};

export interface BenchVolumeRequest {
  level: RaidLevel;
  memberPaths: string[];
  /** Chunk indexes left out of the volume after creation (a pulled disk): the volume runs degraded. */
  missingChunkIndexes: number[];
  stripSizeBytes?: number;
  deviceName: string;
}

export interface BenchVolume {
  volume: Volume;
  /** Every member handle opened, present or not, to close at the end. */
  chunks: ChunkBackend[];
}

/** Creates the volume on the member files (force: earlier runs leave metadata) and attaches it. */
export async function buildBenchVolume(request: BenchVolumeRequest): Promise<BenchVolume> {
  const chunks = await Promise.all(request.memberPaths.map((path) => FileChunk.open(path)));
  const created = await createVolume({
    level: request.level,
    ...(request.stripSizeBytes === undefined ? {} : { stripSizeBytes: request.stripSizeBytes }),
    chunks,
    deviceName: request.deviceName,
    noAutoAssemble: true,
    force: true,
    chunksInUse: () => false,
    random: (bytes) => randomFillSync(bytes),
    // CRYPTO and RAID 1C: softraidd's own vault, a passphrase at the 16-round floor (the KDF is not what is measured).
    ...(disciplineFor(request.level).capabilities.encrypted
      ? { newKeys: (uuid: string) => newVolumeKeys(vault, uuid, { kind: 'passphrase', passphrase: new TextEncoder().encode('bench'), kdfRounds: 16 }) }
      : {}),
  });
  const members = created.members.map((member, index): ChunkBackend | null => (request.missingChunkIndexes.includes(index) ? null : member));
  const volume = new Volume(created.record, members, {
    saveMetadata: saveVolumeMetadata,
    onEvent: (event) => process.stderr.write(`event ${event.name}: ${event.message}\n`),
    clock: realClock,
    ...(created.encryption === null ? {} : { encryption: created.encryption }),
  });
  return { volume, chunks };
}

/** Peak and current resident set of a process, from /proc/PID/status (KiB there), in bytes. */
export async function residentBytes(pid: number | 'self'): Promise<{ peakBytes: number; currentBytes: number } | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : 0;
  };
  return { peakBytes: field('VmHWM'), currentBytes: field('VmRSS') };
}
