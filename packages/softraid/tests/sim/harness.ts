// Test scaffolding for the volume I/O path: volumes created and assembled
// by the metadata helper's real code on fault-injecting memory chunks, the
// real metadata save, and a simulated clock.
import { MemoryChunk } from '../../src/chunk/memory.js';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { Volume } from '../../src/engine/volume/volume.js';
import { createVolume } from '../../src/engine/assembly/create.js';
import { assembleVolume } from '../../src/engine/assembly/assemble.js';
import { dataOffsetBytesDefault } from '../../src/engine/metadata/layout.js';
import { saveVolumeMetadata } from '../../src/engine/metadata/io.js';
import type { ChunkBackend } from '../../src/engine/chunk.js';
import type { Raid5Layout, RaidLevel } from '@openbsd38/bio/levels.js';
import type { VolumeRecord } from '../../src/engine/metadata/record.js';
import type { Clock, VolumeDeps, VolumeEvent } from '../../src/engine/volume/events.js';
import type { VolumeLimits } from '../../src/engine/volume/limits.js';
import { disciplineFor } from '../../src/engine/disciplines/registry.js';
import { newVolumeKeys, type KeySource } from '../../src/engine/crypto/keying.js';
import { openVolumeKeys } from '../../src/engine/controller/encryption.js';
import { testVault } from '../../src/engine/crypto/test-vault.test-helper.js';

/**
 * Encrypted levels (RAID 1C, CRYPTO) in the simulators: one vault and one
 * passphrase for every volume (the engine's test vault: OpenSSL's XTS
 * sector by sector, a cheap KDF), so that assembly unlocks as the
 * controller does.
 */
export const simVault = testVault();
const simPassphrase = new TextEncoder().encode('simulated passphrase');
export const simKeySource: KeySource = { kind: 'passphrase', passphrase: simPassphrase, kdfRounds: 16 };

export function isEncrypted(level: RaidLevel): boolean {
  return disciplineFor(level).capabilities.encrypted;
}

/** The keys a created or assembled encrypted volume opens with (undefined for other levels). */
export async function openSimKeys(record: VolumeRecord, members: readonly (ChunkBackend | null)[]): Promise<VolumeDeps['encryption']> {
  if (!isEncrypted(record.kind as RaidLevel)) return undefined;
  return openVolumeKeys(simVault, record, members, simKeySource, []);
}

export interface VolumeSpec {
  level: RaidLevel;
  chunkCount: number;
  stripSizeBytes?: number;
  layout?: Raid5Layout;
  /** Bytes of each chunk's data area (CONCAT: one per chunk); at least 1 MiB (metadata's minimum). */
  chunkDataSizeBytes: number | number[];
}

function chunkSizesOf(spec: VolumeSpec): number[] {
  return typeof spec.chunkDataSizeBytes === 'number'
    ? Array.from({ length: spec.chunkCount }, () => spec.chunkDataSizeBytes as number)
    : spec.chunkDataSizeBytes;
}

/** Members sized so that each chunk's data area is exactly the spec's. */
export function makeMembers(spec: VolumeSpec, seed: number): MemoryChunk[] {
  return chunkSizesOf(spec).map((size, index) => {
    const member = new MemoryChunk(`m${index}`, dataOffsetBytesDefault + size, seededRandom(seed + index));
    member.trackDirtyPages = true;
    return member;
  });
}

/** A volume created by the metadata helper's createVolume on fresh members. */
export async function createTestVolume(spec: VolumeSpec, seed: number):
  Promise<{ record: VolumeRecord; members: MemoryChunk[]; encryption?: VolumeDeps['encryption'] }> {
  const members = makeMembers(spec, seed);
  const random = seededRandom(seed ^ 0x5eed);
  const created = await createVolume({
    level: spec.level,
    ...(spec.layout ? { layout: spec.layout } : {}),
    ...(spec.stripSizeBytes ? { stripSizeBytes: spec.stripSizeBytes } : {}),
    chunks: members,
    deviceName: 'sd0',
    noAutoAssemble: false,
    force: false,
    chunksInUse: () => false,
    random: (bytes) => {
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
    },
    ...(isEncrypted(spec.level) ? { newKeys: (uuid: string) => newVolumeKeys(simVault, uuid, simKeySource) } : {}),
  });
  return { record: created.record, members, ...(created.encryption === null ? {} : { encryption: created.encryption }) };
}

/** Assembly from the members a scan would find (a pulled or unreadable disk is not listed). */
export async function assembleTestVolume(members: readonly (MemoryChunk | null)[]): Promise<{ record: VolumeRecord; members: (ChunkBackend | null)[] }> {
  const listed = members.filter((member): member is MemoryChunk => member !== null && !member.disappeared && !(member.faults.readErrorRate ?? 0));
  const assembled = await assembleVolume(listed, { chunksInUse: () => false });
  return { record: assembled.record, members: assembled.members };
}

/** Simulated time: sleeping advances it at once. */
export class FakeClock implements Clock {
  constructor(public nowValueMs = 0) {}
  nowMs(): number {
    return this.nowValueMs;
  }
  async sleepMs(durationMs: number): Promise<void> {
    this.nowValueMs += durationMs;
    await Promise.resolve();
  }
}

export interface TestVolume {
  volume: Volume;
  events: VolumeEvent[];
  clock: FakeClock;
}

export function openVolume(record: VolumeRecord, members: (ChunkBackend | null)[], limits: Partial<VolumeLimits> = {},
  clock = new FakeClock(), encryption?: VolumeDeps['encryption']): TestVolume {
  const events: VolumeEvent[] = [];
  const deps: VolumeDeps = { saveMetadata: saveVolumeMetadata, onEvent: (event) => events.push(event), clock, ...(encryption ? { encryption } : {}) };
  return { volume: new Volume(record, members, deps, limits), events, clock };
}

/** Deterministic bytes for a test pattern (four bytes per draw). */
export function randomBytes(random: () => number, lengthBytes: number): Uint8Array {
  const bytes = new Uint8Array(lengthBytes);
  const view = new DataView(bytes.buffer);
  let i = 0;
  for (; i + 4 <= lengthBytes; i += 4) view.setUint32(i, Math.floor(random() * 2 ** 32));
  for (; i < lengthBytes; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** SOFTRAID_SEED replays a failure; otherwise a fresh seed (printed on failure by the tests). */
export function seedFromEnv(): number {
  const fromEnv = process.env['SOFTRAID_SEED'];
  return fromEnv !== undefined ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}
