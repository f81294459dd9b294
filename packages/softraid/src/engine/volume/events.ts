// What a volume reports to its owner: events with mdadm --monitor's names
// (a subset of the controller's ControllerEventName), and its injected
// dependencies.
import type { ChunkBackend } from '../chunk.js';
import type { VolumeRecord } from '../metadata/record.js';
import type { SectorCipher } from '../crypto/sector-cipher.js';
import type { VolumeKeyArea } from '../metadata/key-area.js';

export type VolumeEventName =
  | 'Fail' | 'FailSpare' | 'DegradedArray' | 'DeviceDisappeared' | 'SpareActive'
  | 'RebuildStarted' | 'Rebuild20' | 'Rebuild40' | 'Rebuild60' | 'Rebuild80' | 'RebuildFinished';

export interface VolumeEvent {
  name: VolumeEventName;
  /** The volume's device name (sd0). */
  device: string;
  /** The member concerned, when there is one. */
  member?: string;
  chunkIndex?: number;
  /** softraid-style wording for logs, e.g. "chunk /dev/loop1 went offline: read error EIO at byte 1048576". */
  message: string;
}

/**
 * Writes the record to every present member not Offline, after bumping its
 * event counter; resolves with the indexes whose write failed
 * (src/engine/metadata/io.ts's saveVolumeMetadata).
 */
export type SaveMetadata = (record: VolumeRecord, members: readonly (ChunkBackend | null)[]) => Promise<number[]>;

/** Injected time, so rate limits run on simulated time under test. */
export interface Clock {
  nowMs(): number;
  sleepMs(durationMs: number): Promise<void>;
}

export interface VolumeDeps {
  saveMetadata: SaveMetadata;
  onEvent: (event: VolumeEvent) => void;
  clock: Clock;
  /**
   * Encrypted levels (CRYPTO, RAID 1C): the open data keys (the volume
   * destroys the cipher at close) and the key area every member holds (a
   * rebuild target gets it before it takes its slot). Absent for the others.
   */
  encryption?: { cipher: SectorCipher; keyArea: VolumeKeyArea };
}
