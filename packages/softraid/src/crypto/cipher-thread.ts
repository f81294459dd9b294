// A thread of the cipher pool (parallel-cipher.ts): the volume's data keys
// arrive moved (transferred) at start and are zeroed here once the thread's
// VolumeCipher holds its copy; each job names a piece of shared memory to
// encrypt or decrypt, in place or into another; "destroy" wipes the keys and
// ends the thread.
import { parentPort, workerData } from 'node:worker_threads';
import { assert } from '@openbsd38/libutil/assert.js';
import { VolumeCipher } from './volume-cipher.js';

export interface CipherThreadData {
  dataKeys: Uint8Array;
}

/**
 * Shared memory is named by a number: each piece of memory is sent once
 * ("register") and jobs carry its number, since a SharedArrayBuffer in a
 * message costs the receiver a new object per message (and the collector
 * their sweeping). The pooled buffers the jobs name are few and reused.
 */
export type CipherJob =
  | {
    op: 'encrypt' | 'decrypt'; id: number; lengthBytes: number; firstSector: number;
    /** Where the piece is read from and written to (the same place: in place). */
    sourceMemory: number; sourceOffsetBytes: number; targetMemory: number; targetOffsetBytes: number;
  }
  | { op: 'register'; memoryId: number; memory: SharedArrayBuffer }
  | { op: 'forget'; memoryId: number }
  | { op: 'destroy' };

export interface CipherJobDone {
  id: number;
  error?: string;
}

const port = parentPort;
assert(port !== null, 'cipher-thread: not started as a worker thread');
const { dataKeys } = workerData as CipherThreadData;
const cipher = new VolumeCipher(dataKeys);
dataKeys.fill(0);

const memories = new Map<number, SharedArrayBuffer>();

function memoryOf(memoryId: number): SharedArrayBuffer {
  const memory = memories.get(memoryId);
  assert(memory !== undefined, `cipher-thread: a job names memory ${memoryId}, which was never registered`);
  return memory;
}

port.on('message', (job: CipherJob) => {
  switch (job.op) {
    case 'destroy':
      cipher.destroy();
      memories.clear();
      port.close();
      return;
    case 'register':
      memories.set(job.memoryId, job.memory);
      return;
    case 'forget':
      memories.delete(job.memoryId);
      return;
    default:
  }
  const done: CipherJobDone = { id: job.id };
  try {
    const source = new Uint8Array(memoryOf(job.sourceMemory), job.sourceOffsetBytes, job.lengthBytes);
    const target = job.sourceMemory === job.targetMemory && job.sourceOffsetBytes === job.targetOffsetBytes
      ? source : new Uint8Array(memoryOf(job.targetMemory), job.targetOffsetBytes, job.lengthBytes);
    if (job.op === 'encrypt') cipher.encryptSectors(job.firstSector, source, target);
    else cipher.decryptSectors(job.firstSector, source, target);
  } catch (error) {
    done.error = error instanceof Error ? error.message : String(error);
  }
  port.postMessage(done);
});
