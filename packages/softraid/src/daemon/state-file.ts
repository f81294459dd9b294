// What softraidd remembers between runs: the member names of every volume
// to assemble at start, the hot spares, and the device names kept for
// volumes not assembled at start (detached or noauto: no new volume takes
// their names). Only a hint of where to look — the on-disk metadata stays
// the truth (the controller's scan() reads it), and volumes created noauto
// are not listed to be assembled. Written atomically.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InquiryView, KeptDeviceName } from '@openbsd38/bio/controller.js';

export const stateFileName = 'volumes.json';
export const stateFileVersion = 1;
export const stateFileBytesMax = 4 * 1024 * 1024;

export interface RememberedVolumes {
  version: number;
  volumes: Array<{ device: string; uuid: string; chunks: string[] }>;
  hot_spares: string[];
  /** Absent in files written before it. */
  kept_device_names?: KeptDeviceName[];
}

export function rememberedFromInquiry(view: InquiryView, kept: readonly KeptDeviceName[] = []): RememberedVolumes {
  return {
    kept_device_names: [...kept],
    version: stateFileVersion,
    volumes: view.volumes.filter((volume) => !volume.noAutoAssemble).map((volume) => ({
      device: volume.deviceName,
      uuid: volume.uuid,
      // A key disk is scanned with the members, so that its volume assembles at start when it is there.
      chunks: [...volume.chunks.map((chunk) => chunk.name), volume.keyDisk?.name ?? ''].filter((name) => name.length > 0),
    })),
    hot_spares: view.hotSpares.map((spare) => spare.name),
  };
}

/** Every member name to scan at start, each once. */
export function chunkNamesToScan(remembered: RememberedVolumes): string[] {
  return [...new Set([...remembered.volumes.flatMap((volume) => volume.chunks), ...remembered.hot_spares])];
}

/**
 * The state file cannot be used. softraidd does not start then: it would
 * not know which volumes to assemble. The volumes themselves are untouched
 * (their members' metadata is the truth), and the message says how to get
 * them back.
 */
export class StateFileError extends Error {
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}. The volumes are not affected: their members' metadata describes them. `
      + 'Move the file aside and start softraidd with --scan MEMBERS, or assemble each volume with '
      + 'bioctl -c LEVEL -l MEMBERS softraid0');
    this.name = 'StateFileError';
  }
}

export class StateFile {
  readonly path: string;

  constructor(directory: string) {
    this.path = join(directory, stateFileName);
    mkdirSync(directory, { recursive: true, mode: 0o700 });
  }

  /** Undefined when there is no file yet; throws with the path when it is unreadable, StateFileError when it is malformed. */
  read(): RememberedVolumes | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (text.length > stateFileBytesMax) throw new StateFileError(this.path, `larger than ${stateFileBytesMax} bytes`);
    let json: Partial<RememberedVolumes> | null;
    try {
      json = JSON.parse(text) as Partial<RememberedVolumes> | null;
    } catch (error) {
      throw new StateFileError(this.path, `not valid JSON (${(error as Error).message})`);
    }
    const strings = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');
    if (typeof json !== 'object' || json === null || json.version !== stateFileVersion || !Array.isArray(json.volumes) || !strings(json.hot_spares)
      || !json.volumes.every((volume) => typeof volume === 'object' && volume !== null && strings(volume.chunks)
        && typeof volume.device === 'string' && typeof volume.uuid === 'string')
      || !(json.kept_device_names === undefined || (Array.isArray(json.kept_device_names) && json.kept_device_names.every((kept) =>
        typeof kept === 'object' && kept !== null && typeof kept.device === 'string' && typeof kept.uuid === 'string')))) {
      throw new StateFileError(this.path, `not a softraidd state file of version ${stateFileVersion}`);
    }
    return json as RememberedVolumes;
  }

  write(remembered: RememberedVolumes): void {
    const temporary = `${this.path}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(remembered, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.path);
  }
}
