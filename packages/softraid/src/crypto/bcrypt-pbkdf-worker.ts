// bcrypt_pbkdf on a worker thread: a derivation takes about a second by
// design (bcryptPbkdfAutoRounds), and softraidd's event loop must keep
// serving I/O meanwhile. One short-lived Worker per derivation: nothing of
// the passphrase outlives it, and unlocking a volume is rare.
//
// The caller's passphrase is copied once into a buffer of its own (outside
// the JavaScript heap: libutil's secret-bytes.ts) that is then moved (transferred) to the thread, so this thread keeps no copy and
// holds no reference to the caller's buffer; the thread zeroes it after use.
// The key comes back moved as well. thread-start.ts starts the thread from
// dist/ or from source.
import type { Worker } from 'node:worker_threads';
import { startCryptoThread } from './thread-start.js';
import { assert } from '@openbsd38/libutil/assert.js';
import { secretCopy } from '@openbsd38/libutil/secret-bytes.js';
import { keyBytesMax, saltBytesMax } from './bcrypt-pbkdf.js';
import type { DerivationReply, DerivationRequest } from './bcrypt-pbkdf-thread.js';

function startThread(request: DerivationRequest): Worker {
  return startCryptoThread('bcrypt-pbkdf-thread', { workerData: request, transferList: [request.passphrase.buffer as ArrayBuffer] });
}

/** bcryptPbkdf(passphrase, salt, rounds, keyBytes), computed on a worker thread. */
export async function bcryptPbkdfInWorker(
  passphrase: Uint8Array, salt: Uint8Array, rounds: number, keyBytes: number,
): Promise<Uint8Array> {
  // The same bounds as bcryptPbkdf, checked here so that a bad call fails in its caller's stack.
  assert(passphrase.length > 0, 'bcryptPbkdfInWorker: empty passphrase');
  assert(salt.length > 0 && salt.length <= saltBytesMax, `bcryptPbkdfInWorker: salt of ${salt.length} bytes`);
  assert(Number.isSafeInteger(rounds) && rounds >= 1, `bcryptPbkdfInWorker: ${rounds} rounds`);
  assert(Number.isSafeInteger(keyBytes) && keyBytes >= 1 && keyBytes <= keyBytesMax,
    `bcryptPbkdfInWorker: ${keyBytes} key bytes`);
  const request: DerivationRequest = {
    passphrase: secretCopy(passphrase), salt: Uint8Array.from(salt), rounds, keyBytes,
  };
  const worker = startThread(request);
  assert(request.passphrase.byteLength === 0, 'bcryptPbkdfInWorker: the passphrase was copied, not moved');
  return new Promise<Uint8Array>((resolve, reject) => {
    let settled = false;
    worker.once('message', (reply: DerivationReply) => {
      settled = true;
      resolve(reply.key);
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`bcrypt_pbkdf worker thread exited with code ${code} and no key`));
    });
  });
}
