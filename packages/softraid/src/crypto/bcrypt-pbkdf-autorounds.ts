// bcrypt_pbkdf_autorounds (OpenBSD bioctl): time a small, fixed derivation,
// then scale the rounds so that one derivation takes about the target time,
// never fewer than the 16 rounds bioctl's policy requires. bioctl times 100
// rounds of "testpassword" with a 128-byte salt and a 32-byte key on the
// thread's CPU clock. Node 20 has no per-thread CPU clock (process.cpuUsage
// counts every thread, and softraidd's copy threads may be busy), so here the
// same derivation with probeRounds rounds is timed on the wall clock, the
// fastest of probeCount tries (other load only ever makes a try slower), after
// one untimed round that builds Blowfish's initial state and warms the JIT.
import { performance } from 'node:perf_hooks';
import { assert } from '@openbsd38/libutil/assert.js';
import { bcryptPbkdf } from './bcrypt-pbkdf.js';

export const autoRoundsMin = 16;
const probeRounds = 16;
const probeCount = 3;
const probeSaltBytes = 128;
const probeKeyBytes = 32;
const probePassphrase = new TextEncoder().encode('testpassword');

/** Milliseconds one bcrypt_pbkdf round takes on this thread (of a 32-byte key). */
export function bcryptPbkdfMillisecondsPerRound(): number {
  const salt = new Uint8Array(probeSaltBytes);
  bcryptPbkdf(probePassphrase, salt, 1, probeKeyBytes);
  let fastestMilliseconds = Number.POSITIVE_INFINITY;
  for (let probe = 0; probe < probeCount; probe++) {
    const start = performance.now();
    bcryptPbkdf(probePassphrase, salt, probeRounds, probeKeyBytes);
    fastestMilliseconds = Math.min(fastestMilliseconds, performance.now() - start);
  }
  return fastestMilliseconds / probeRounds;
}

/** Rounds for one derivation of about targetMilliseconds here, at least autoRoundsMin. */
export function bcryptPbkdfAutoRounds(targetMilliseconds = 1000): number {
  assert(Number.isFinite(targetMilliseconds) && targetMilliseconds > 0,
    `bcryptPbkdfAutoRounds: a target of ${targetMilliseconds} ms`);
  return Math.max(autoRoundsMin, Math.floor(targetMilliseconds / bcryptPbkdfMillisecondsPerRound()));
}
