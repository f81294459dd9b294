// The worker thread of bcrypt-pbkdf-worker.ts: one derivation, then it ends.
// The passphrase arrives moved (transferred) into this thread and is zeroed
// here after use; the key leaves moved too, so no copy of either stays
// behind in this thread's memory. bcryptPbkdf zeroes its own intermediates.
import { parentPort, workerData } from 'node:worker_threads';
import { assert } from '@openbsd38/libutil/assert.js';
import { bcryptPbkdf } from './bcrypt-pbkdf.js';

export interface DerivationRequest {
  passphrase: Uint8Array;
  salt: Uint8Array;
  rounds: number;
  keyBytes: number;
}

export interface DerivationReply {
  key: Uint8Array;
}

const port = parentPort;
assert(port !== null, 'bcrypt-pbkdf-thread: not started as a worker thread');
const request = workerData as DerivationRequest;
try {
  const key = bcryptPbkdf(request.passphrase, request.salt, request.rounds, request.keyBytes);
  const reply: DerivationReply = { key };
  port.postMessage(reply, [key.buffer as ArrayBuffer]);
} finally {
  request.passphrase.fill(0);
}
