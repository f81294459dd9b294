// bcrypt_pbkdf on a worker thread: a derivation takes about a second by
// design (bcryptPbkdfAutoRounds), and softraidd's event loop must keep
// serving I/O meanwhile. One short-lived Worker per derivation: nothing of
// the passphrase outlives it, and unlocking a volume is rare.
//
// The caller's passphrase is copied once into a buffer of its own that is
// then moved (transferred) to the thread, so this thread keeps no copy and
// holds no reference to the caller's buffer; the thread zeroes it after use.
// The key comes back moved as well.
//
// From dist/ the thread is the compiled bcrypt-pbkdf-thread.js beside this
// module. From source under tsx (the tests), tsx's --import hook does not
// reach worker threads on Node 20, so the thread starts from a short
// bootstrap that registers tsx's loader through its API, then imports the
// TypeScript thread module.
import { Worker } from 'node:worker_threads';
import { assert } from '@openbsd38/libutil/assert.js';
import { keyBytesMax, saltBytesMax } from './bcrypt-pbkdf.js';
import type { DerivationReply, DerivationRequest } from './bcrypt-pbkdf-thread.js';

const fromSource = import.meta.url.endsWith('.ts');

function startThread(request: DerivationRequest): Worker {
  const options = { workerData: request, transferList: [request.passphrase.buffer as ArrayBuffer] };
  if (!fromSource) {
    return new Worker(new URL('./bcrypt-pbkdf-thread.js', import.meta.url), { ...options, execArgv: [] });
  }
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const thread = new URL('./bcrypt-pbkdf-thread.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); `
    + `return import(${JSON.stringify(thread)}); });`;
  // The "source" export condition, so that packages resolve to their sources as in the calling process.
  return new Worker(bootstrap, { ...options, eval: true, execArgv: ['--conditions=source'] });
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
    passphrase: Uint8Array.from(passphrase), salt: Uint8Array.from(salt), rounds, keyBytes,
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
