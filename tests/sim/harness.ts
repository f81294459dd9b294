// Test scaffolding for the volume I/O path: volume records built by hand,
// a stand-in for the metadata codec (the record as JSON in each member's
// metadata area, so a failing member fails its metadata write as it would),
// a stand-in for assembly (the freshest copy wins), and a simulated clock.
import { MemoryChunk, seededRandom } from '../../src/chunk/memory.js';
import { Volume } from '../../src/engine/volume/volume.js';
import type { ChunkBackend } from '../../src/engine/chunk.js';
import type { Raid5Layout, RaidLevel } from '../../src/engine/levels.js';
import type { VolumeRecord } from '../../src/engine/metadata/record.js';
import type { Clock, VolumeDeps, VolumeEvent } from '../../src/engine/volume/events.js';
import type { VolumeLimits } from '../../src/engine/volume/limits.js';

/** Small metadata area: the tests' members are small. */
export const testDataOffsetBytes = 64 * 1024;

export interface VolumeSpec {
  level: RaidLevel;
  chunkCount: number;
  stripSizeBytes?: number;
  layout?: Raid5Layout;
  /** Bytes of each chunk's data area (CONCAT: one per chunk). */
  chunkDataSizeBytes: number | number[];
}

export function volumeSizeOf(spec: VolumeSpec): number {
  const sizes = chunkSizesOf(spec);
  const strip = spec.stripSizeBytes ?? 0;
  const striped = (size: number): number => Math.floor(size / strip) * strip;
  switch (spec.level) {
    case 'raid0': return striped(sizes[0]!) * spec.chunkCount;
    case 'raid5': return striped(sizes[0]!) * (spec.chunkCount - 1);
    case 'raid1': return sizes[0]!;
    case 'concat': return sizes.reduce((a, b) => a + b, 0);
    default: throw new Error(`no test geometry for ${spec.level}`);
  }
}

function chunkSizesOf(spec: VolumeSpec): number[] {
  return typeof spec.chunkDataSizeBytes === 'number'
    ? Array.from({ length: spec.chunkCount }, () => spec.chunkDataSizeBytes as number)
    : spec.chunkDataSizeBytes;
}

export function makeRecord(spec: VolumeSpec): VolumeRecord {
  const sizes = chunkSizesOf(spec);
  return {
    formatVersion: 1,
    uuid: '01234567-89ab-cdef-0123-456789abcdef',
    kind: spec.level,
    layout: spec.level === 'raid5' ? (spec.layout ?? 'left-asymmetric') : null,
    stripSizeBytes: spec.stripSizeBytes ?? 0,
    chunkCount: spec.chunkCount,
    dataOffsetBytes: testDataOffsetBytes,
    chunkDataSizeBytes: Math.min(...sizes),
    volumeSizeBytes: volumeSizeOf(spec),
    eventCounter: 1,
    deviceName: 'sd0',
    noAutoAssemble: false,
    dirty: false,
    rebuildCheckpointBytes: 0,
    chunks: sizes.map((size, index) => ({ index, state: 'Online', usableSizeBytes: size, name: `m${index}` })),
  };
}

export function makeMembers(spec: VolumeSpec, seed: number): MemoryChunk[] {
  return chunkSizesOf(spec).map((size, index) => new MemoryChunk(`m${index}`, testDataOffsetBytes + size, seededRandom(seed + index)));
}

/** The record as JSON at byte 0 of every present member not Offline; indexes whose write failed. */
export async function fakeSaveMetadata(record: VolumeRecord, members: readonly (ChunkBackend | null)[]): Promise<number[]> {
  record.eventCounter++;
  const failed: number[] = [];
  for (let index = 0; index < members.length; index++) {
    const member = members[index];
    if (!member || record.chunks[index]!.state === 'Offline') continue;
    const text = JSON.stringify({ ...record, chunkIndex: index });
    const bytes = new Uint8Array(testDataOffsetBytes);
    const encoded = new TextEncoder().encode(text);
    if (encoded.length + 4 > bytes.length) throw new Error('fake metadata too large');
    new DataView(bytes.buffer).setUint32(0, encoded.length, true);
    bytes.set(encoded, 4);
    try {
      await member.write(bytes, 0);
    } catch {
      failed.push(index);
    }
  }
  return failed;
}

/** Reads the fake metadata of a member back; null when unreadable or never written. */
export async function fakeLoadMetadata(member: ChunkBackend): Promise<VolumeRecord | null> {
  const bytes = new Uint8Array(testDataOffsetBytes);
  try {
    await member.read(bytes, 0);
  } catch {
    return null;
  }
  const length = new DataView(bytes.buffer).getUint32(0, true);
  if (length === 0 || length > bytes.length - 4) return null;
  const parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))) as VolumeRecord & { chunkIndex?: number };
  delete parsed.chunkIndex;
  return parsed;
}

/**
 * Assembly as the metadata helper will do it: the freshest record by event
 * counter; members whose copy is stale, unreadable or missing are Offline.
 */
export async function fakeAssemble(members: readonly (ChunkBackend | null)[]): Promise<{ record: VolumeRecord; members: (ChunkBackend | null)[] }> {
  const records = await Promise.all(members.map((member) => (member ? fakeLoadMetadata(member) : Promise.resolve(null))));
  let freshest: VolumeRecord | null = null;
  for (const record of records) if (record && (!freshest || record.eventCounter > freshest.eventCounter)) freshest = record;
  if (!freshest) throw new Error('fakeAssemble: no metadata');
  const record = freshest;
  const assembled = members.map((member, index) => {
    const own = records[index];
    const usable = member !== null && own !== null && own !== undefined && own.eventCounter === record.eventCounter
      && record.chunks[index]!.state !== 'Offline';
    if (!usable) record.chunks[index]!.state = 'Offline';
    return usable ? member : null;
  });
  return { record, members: assembled };
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
  clock = new FakeClock()): TestVolume {
  const events: VolumeEvent[] = [];
  const deps: VolumeDeps = { saveMetadata: fakeSaveMetadata, onEvent: (event) => events.push(event), clock };
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
