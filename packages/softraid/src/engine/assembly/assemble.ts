// Assembling a volume from its chunks (softraid's sr_ioctl_createraid
// assemble path and sr_boot_assembly), in order:
//   1. refuse duplicates and chunks in use;
//   2. read every chunk's metadata: refuse corrupt metadata, chunks without
//      metadata, hot spares, chunks of another volume;
//   3. take the record with the highest event counter (the freshest);
//   4. place each chunk at its index, keeping the freshest of duplicates;
//   5. decide each member: present and current -> used; missing, stale, or
//      Offline in the freshest record -> null and Offline;
//   6. refuse when the level cannot serve with the members left.
// Stale: softraid marks every chunk below the highest counter Offline. Here a
// chunk the freshest record lists as serving stays current while its counter
// is at least the record's eventCounterFloor (the last save that reached all
// members): a crash in the middle of a save, which reaches some members and
// not others, then fails nobody. See docs/on-disk-format.md.
// The record is returned, not written: the caller saves it (with dirty set)
// once the volume is attached, as softraid does.
import { MetadataError, SoftraidError } from '../errors.js';
import type { ChunkBackend } from '../chunk.js';
import type { BioMessage } from '@openbsd38/bio/controller.js';
import { isRedundant, levelLayouts, levelTable, type RaidLevel } from '@openbsd38/bio/levels.js';
import type { ChunkState } from '@openbsd38/bio/states.js';
import { assertChunkTransition, volumeStateFromChunks } from '../state-transitions.js';
import type { VolumeRecord } from '../metadata/record.js';
import { chunkNameBytes, featureFlag } from '../metadata/layout.js';
import { problemOf, readChunkMetadata, type ChunkMetadata } from '../metadata/io.js';
import { fitName } from '../metadata/text.js';
import { MetadataVersionError } from '../metadata/version-error.js';
import { describeOwner, refuseDuplicates, refuseInUse, type ChunksInUse } from './checks.js';

export interface AssembleOptions {
  chunksInUse: ChunksInUse;
  /** Refuse chunks of any other volume (assembly by UUID). */
  expectedUuid?: string;
  /**
   * Bring up a RAID 5 volume that is both dirty and degraded although it has
   * no partial parity log (md's --force / start_dirty_degraded).
   */
  forceDirtyDegraded?: boolean;
}

export interface AssembledVolume {
  record: VolumeRecord;
  /** Indexed by chunk index; null for a member missing, stale or Offline. */
  members: (ChunkBackend | null)[];
  messages: BioMessage[];
}

interface Candidate {
  chunk: ChunkBackend;
  metadata: ChunkMetadata;
}

const servingStates: readonly ChunkState[] = ['Online', 'Rebuild', 'Scrubbing'];

function corrupt(chunk: ChunkBackend, problem: string): MetadataError {
  return new MetadataError(chunk.name, `one of the chunks has corrupt metadata; aborting assembly (${problem})`);
}

async function readCandidate(chunk: ChunkBackend): Promise<Candidate> {
  let metadata: ChunkMetadata | null;
  try {
    metadata = await readChunkMetadata(chunk);
  } catch (error) {
    if (error instanceof MetadataVersionError || !(error instanceof MetadataError)) throw error;
    throw corrupt(chunk, problemOf(error, chunk.name));
  }
  if (metadata === null) throw new SoftraidError(`chunk ${chunk.name} has no softraid metadata`);
  if (metadata.record.kind === 'hotspare') throw new SoftraidError(`chunk ${chunk.name} is a hot spare, not a member of a volume`);
  if (metadata.record.kind === 'keydisk') throw new SoftraidError(`chunk ${chunk.name} is a key disk, not a member of a volume: name it with -k`);
  return { chunk, metadata };
}

/** The fields every member's record must agree on. */
function geometryKey(record: VolumeRecord): string {
  return JSON.stringify([record.kind, record.chunkCount, record.layout, record.stripSizeBytes, record.dataOffsetBytes, record.chunkDataSizeBytes]);
}

export async function assembleVolume(chunks: readonly ChunkBackend[], options: AssembleOptions): Promise<AssembledVolume> {
  if (chunks.length === 0) throw new SoftraidError('no chunks given');
  refuseDuplicates(chunks);
  refuseInUse(chunks, options.chunksInUse);
  const candidates: Candidate[] = [];
  for (const chunk of chunks) candidates.push(await readCandidate(chunk));

  const uuid = options.expectedUuid ?? candidates[0]!.metadata.record.uuid;
  for (const { chunk, metadata } of candidates) {
    if (metadata.record.uuid !== uuid) {
      throw new SoftraidError(`chunk ${chunk.name} is not part of the same volume: it belongs to ${describeOwner(metadata.record)}, expected uuid ${uuid}`);
    }
  }
  // Freshest first; on equal counters the listed order decides.
  const ordered = [...candidates].sort((a, b) => b.metadata.record.eventCounter - a.metadata.record.eventCounter);
  const freshest = ordered[0]!.metadata.record;
  for (const { chunk, metadata } of ordered) {
    if (geometryKey(metadata.record) !== geometryKey(freshest)) {
      throw corrupt(chunk, `its level, chunk count or geometry differs from the freshest metadata of volume ${uuid}`);
    }
  }

  const messages: BioMessage[] = [];
  const byIndex = new Map<number, Candidate>();
  for (const candidate of ordered) {
    const kept = byIndex.get(candidate.metadata.chunkIndex);
    if (kept) {
      messages.push({ type: 'warning', text: `found duplicate chunk ${candidate.metadata.chunkIndex} for volume ${uuid} on device ${candidate.chunk.name}; using ${kept.chunk.name}` });
      continue;
    }
    byIndex.set(candidate.metadata.chunkIndex, candidate);
  }

  const record = structuredClone(freshest);
  const deviceName = record.deviceName;
  const eventCounterMax = freshest.eventCounter;
  const floor = freshest.eventCounterFloor ?? eventCounterMax;
  const members: (ChunkBackend | null)[] = new Array<ChunkBackend | null>(record.chunkCount).fill(null);
  const states = record.chunks.map((chunk) => chunk.state);
  const usedCounters: number[] = [];
  for (let index = 0; index < record.chunkCount; index++) {
    const entry = record.chunks[index]!;
    const candidate = byIndex.get(index);
    const serving = servingStates.includes(entry.state);
    if (candidate === undefined) {
      if (serving) states[index] = 'Offline';
      continue;
    }
    const { chunk, metadata } = candidate;
    const counter = metadata.record.eventCounter;
    if (!serving) {
      messages.push({ type: 'warning', text: counter < eventCounterMax ? `chunk ${chunk.name} is stale, marked offline` : `chunk ${chunk.name} is ${entry.state.toLowerCase()} in the volume's metadata, not used` });
      continue;
    }
    if (counter < floor) {
      states[index] = 'Offline';
      messages.push({ type: 'warning', text: `chunk ${chunk.name} is stale, marked offline` });
      continue;
    }
    members[index] = chunk;
    usedCounters.push(counter);
    if (counter < eventCounterMax) {
      messages.push({ type: 'info', text: `chunk ${chunk.name} missed an interrupted metadata save (event ${counter} of ${eventCounterMax}); still current` });
    }
    for (const problem of metadata.copyProblems) {
      if (problem !== null) messages.push({ type: 'warning', text: `chunk ${chunk.name}: metadata ${problem}; rewritten at the next save` });
    }
    const name = fitName(chunk.name, chunkNameBytes);
    if (entry.name !== name) {
      messages.push({ type: 'info', text: `roaming device ${entry.name === '' ? '(unnamed)' : entry.name} -> ${name}` });
      entry.name = name;
    }
  }

  const level = record.kind as RaidLevel; // readCandidate refused the pseudo-volumes
  const redundant = isRedundant(level, record.chunkCount);
  const tolerated = levelTable[level].toleratedMissing(record.chunkCount);
  if (volumeStateFromChunks(states, tolerated) === 'Offline') {
    throw new SoftraidError(`${deviceName} is offline, will not be brought online`);
  }
  states.forEach((state, index) => {
    assertChunkTransition(redundant, record.chunks[index]!.state, state);
    record.chunks[index]!.state = state;
  });
  // md's policy: a parity volume both dirty and degraded may have lost data
  // nobody was writing (the write hole), so it is refused unless forced —
  // unless its partial parity log lets assembly make every row consistent.
  const parity = levelLayouts[level].length > 0;
  const logged = ((record.featureFlags ?? 0) & featureFlag.partialParityLog) !== 0;
  if (parity && record.dirty && members.includes(null) && !logged) {
    if (!options.forceDirtyDegraded) {
      throw new SoftraidError(`${deviceName} is dirty and degraded without a partial parity log: data may be corrupt; not brought up unless forced`);
    }
    messages.push({ type: 'warning', text: `${deviceName} is dirty and degraded: forced, data may be corrupt` });
  }
  if (members.includes(null)) messages.push({ type: 'warning', text: `trying to bring up ${deviceName} degraded` });
  if (record.dirty) messages.push({ type: 'warning', text: `${deviceName} was not shutdown properly` });
  record.eventCounter = eventCounterMax;
  record.eventCounterFloor = Math.min(...usedCounters);
  return { record, members, messages };
}
