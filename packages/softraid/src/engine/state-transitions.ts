// softraid's state transitions over bio(4)'s states, and the only place they
// are defined. An illegal transition is a bug: it throws an AssertionError
// (softraid panics), it is never an operating error.
import { assert } from '@openbsd38/libutil/assert.js';
import type { ChunkState, VolumeState } from '@openbsd38/bio/states.js';

type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

/**
 * Chunk transitions of redundant volumes (softraid_raid1.c's table, which
 * here serves RAID 1, 5 and 6 alike, because every redundant level takes hot
 * spares). A hot spare becomes Rebuild when it replaces a failed chunk.
 */
const redundantChunkTransitions: TransitionTable<ChunkState> = {
  Online: ['Offline', 'Scrubbing'],
  Offline: ['Rebuild', 'Hot spare'],
  Scrubbing: ['Online', 'Offline'],
  Rebuild: ['Online', 'Offline'],
  'Hot spare': ['Offline', 'Rebuild'],
  Failed: [],
  Unused: [],
  Invalid: [],
};

/** Chunk transitions of RAID 0, CONCAT, CRYPTO (softraid.c's default): Online -> Offline only. */
const plainChunkTransitions: TransitionTable<ChunkState> = {
  Online: ['Offline'],
  Offline: [],
  Scrubbing: [],
  Rebuild: [],
  'Hot spare': [],
  Failed: [],
  Unused: [],
  Invalid: [],
};

/** Volume transitions (softraid's RAID 1/5/6 table; Offline is final until reassembly). */
const volumeTransitions: TransitionTable<VolumeState> = {
  Online: ['Offline', 'Degraded', 'Rebuild', 'Scrubbing'],
  Degraded: ['Offline', 'Rebuild'],
  Rebuild: ['Online', 'Offline', 'Degraded'],
  Scrubbing: ['Online', 'Offline', 'Degraded'],
  Building: ['Online', 'Offline'],
  Offline: [],
  Invalid: [],
};

export function assertChunkTransition(redundant: boolean, from: ChunkState, to: ChunkState): void {
  if (from === to) return;
  const table = redundant ? redundantChunkTransitions : plainChunkTransitions;
  assert(table[from].includes(to), `illegal chunk state transition ${from} -> ${to}`);
}

export function assertVolumeTransition(from: VolumeState, to: VolumeState): void {
  if (from === to) return;
  assert(volumeTransitions[from].includes(to), `illegal volume state transition ${from} -> ${to}`);
}

/**
 * The volume state that follows from its chunks' states (softraid's
 * sd_set_vol_state, generalised by the number of missing chunks tolerated).
 */
export function volumeStateFromChunks(chunkStates: readonly ChunkState[], toleratedMissing: number): VolumeState {
  const chunkCount = chunkStates.length;
  const serving = chunkStates.filter((state) => state === 'Online' || state === 'Scrubbing').length;
  if (serving < chunkCount - toleratedMissing) return 'Offline';
  if (chunkStates.includes('Rebuild')) return 'Rebuild';
  if (chunkStates.includes('Scrubbing')) return 'Scrubbing';
  if (serving < chunkCount) return 'Degraded';
  return 'Online';
}
