// softraidd's key vault: the engine's KeyVault (engine/crypto/sector-cipher.ts)
// over this folder's primitives. bcrypt_pbkdf runs on a worker thread, so a
// second of key derivation never stalls another volume's I/O; the data keys
// become one XtsAes256 per 512 GiB slot, made when a request first reaches
// that slot.
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { assert } from '@openbsd38/libutil/assert.js';
import type { KeyVault, SectorCipher } from '../engine/crypto/sector-cipher.js';
import { bcryptPbkdfInWorker } from './bcrypt-pbkdf-worker.js';
import { autoRoundsMin } from './bcrypt-pbkdf-autorounds.js';
import { dataKeyBytes, dataKeysBytes, generateDataKeys, maskDataKeys, maskKeyBytes, sectorsPerDataKey, unmaskDataKeys } from './key-scheme.js';
import { XtsAes256 } from './xts.js';

const sectorBytes = 512;

/** A volume's data keys as ciphers: sectors [i * 2^30, (i+1) * 2^30) use data key i. */
export class VolumeCipher implements SectorCipher {
  private dataKeys: Uint8Array | null;
  private readonly slots = new Map<number, XtsAes256>();

  constructor(dataKeys: Uint8Array) {
    assert(dataKeys.length === dataKeysBytes, `VolumeCipher: ${dataKeys.length} bytes of keys`);
    this.dataKeys = Uint8Array.from(dataKeys);
  }

  encryptSectors(firstSector: number, source: Uint8Array, target: Uint8Array): void {
    this.run(firstSector, source, target, false);
  }

  decryptSectors(firstSector: number, source: Uint8Array, target: Uint8Array): void {
    this.run(firstSector, source, target, true);
  }

  destroy(): void {
    for (const cipher of this.slots.values()) cipher.destroy();
    this.slots.clear();
    this.dataKeys?.fill(0);
    this.dataKeys = null;
  }

  /** A request that crosses a slot boundary is cut there (at most once: requests are far smaller than 512 GiB). */
  private run(firstSector: number, source: Uint8Array, target: Uint8Array, decrypt: boolean): void {
    assert(source.length === target.length && source.length % sectorBytes === 0, 'VolumeCipher: whole sectors, same lengths');
    const sectors = source.length / sectorBytes;
    for (let done = 0; done < sectors;) {
      const sector = firstSector + done;
      const slot = Math.floor(sector / sectorsPerDataKey);
      const count = Math.min(sectors - done, (slot + 1) * sectorsPerDataKey - sector);
      const from = source.subarray(done * sectorBytes, (done + count) * sectorBytes);
      const to = target.subarray(done * sectorBytes, (done + count) * sectorBytes);
      const cipher = this.slotCipher(slot);
      if (decrypt) cipher.decryptSectors(sector, from, to);
      else cipher.encryptSectors(sector, from, to);
      done += count;
    }
  }

  private slotCipher(slot: number): XtsAes256 {
    let cipher = this.slots.get(slot);
    if (cipher === undefined) {
      assert(this.dataKeys !== null, 'VolumeCipher used after destroy');
      cipher = new XtsAes256(this.dataKeys.subarray(slot * dataKeyBytes, (slot + 1) * dataKeyBytes));
      this.slots.set(slot, cipher);
    }
    return cipher;
  }
}

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
    cipher: (dataKeys) => new VolumeCipher(dataKeys),
  };
}
