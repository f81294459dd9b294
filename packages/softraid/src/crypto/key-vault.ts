// softraidd's key vault: the engine's KeyVault (engine/crypto/sector-cipher.ts)
// over this folder's primitives. bcrypt_pbkdf runs on a worker thread, so a
// second of key derivation never stalls another volume's I/O; a volume's
// data keys become a ParallelVolumeCipher (parallel-cipher.ts).
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { KeyVault } from '../engine/crypto/sector-cipher.js';
import { bcryptPbkdfInWorker } from './bcrypt-pbkdf-worker.js';
import { autoRoundsMin } from './bcrypt-pbkdf-autorounds.js';
import { generateDataKeys, maskDataKeys, maskKeyBytes, unmaskDataKeys } from './key-scheme.js';
import { ParallelVolumeCipher } from './parallel-cipher.js';

/**
 * bcrypt_pbkdf_autorounds without stalling the daemon: the probe runs on
 * worker threads too. A thread's start (and its Blowfish tables from pi) is
 * not a round's cost, so a round costs the difference between a 49-round and
 * a 1-round derivation, over 48; the least of three tries (load only ever
 * slows one). When start-up noise swamps the difference, the 49-round time
 * over 49 (which overstates a round, so gives fewer rounds, never more).
 */
async function autoRoundsOffThread(targetMilliseconds = 1000): Promise<number> {
  const probe = new TextEncoder().encode('testpassword');
  const salt = new Uint8Array(128);
  const timed = async (rounds: number): Promise<number> => {
    const start = performance.now();
    (await bcryptPbkdfInWorker(probe, salt, rounds, maskKeyBytes)).fill(0);
    return performance.now() - start;
  };
  let perRoundMs = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3; attempt++) {
    const one = await timed(1);
    const many = await timed(49);
    const difference = (many - one) / 48;
    perRoundMs = Math.min(perRoundMs, difference > many / 49 / 4 ? difference : many / 49);
  }
  return Math.max(autoRoundsMin, Math.floor(targetMilliseconds / perRoundMs));
}

export function nodeKeyVault(): KeyVault {
  return {
    randomBytes: (bytes) => { randomFillSync(bytes); },
    deriveMaskKey: (passphrase, salt, rounds) => bcryptPbkdfInWorker(passphrase, salt, rounds, maskKeyBytes),
    autoRounds: autoRoundsOffThread,
    newDataKeys: generateDataKeys,
    maskDataKeys,
    unmaskDataKeys,
    cipher: (dataKeys) => new ParallelVolumeCipher(dataKeys),
  };
}
