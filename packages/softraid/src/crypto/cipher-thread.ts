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

export type CipherJob =
  | {
    op: 'encrypt' | 'decrypt'; id: number; lengthBytes: number; firstSector: number;
    /** Where the piece is read from and written to (the same place: in place). */
    source: SharedArrayBuffer; sourceOffsetBytes: number; target: SharedArrayBuffer; targetOffsetBytes: number;
  }
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

port.on('message', (job: CipherJob) => {
  if (job.op === 'destroy') {
    cipher.destroy();
    port.close();
    return;
  }
  const done: CipherJobDone = { id: job.id };
  try {
    const source = new Uint8Array(job.source, job.sourceOffsetBytes, job.lengthBytes);
    const target = job.source === job.target && job.sourceOffsetBytes === job.targetOffsetBytes
      ? source : new Uint8Array(job.target, job.targetOffsetBytes, job.lengthBytes);
    if (job.op === 'encrypt') cipher.encryptSectors(job.firstSector, source, target);
    else cipher.decryptSectors(job.firstSector, source, target);
  } catch (error) {
    done.error = error instanceof Error ? error.message : String(error);
  }
  port.postMessage(done);
});
