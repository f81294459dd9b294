// A volume's data keys as ciphers on one thread: one XtsAes256 per 512 GiB
// slot, made when a request first reaches that slot; a request crossing a
// slot boundary is cut there.
import { assert } from '@openbsd38/libutil/assert.js';
import { dataKeyBytes, dataKeysBytes, sectorsPerDataKey } from './key-scheme.js';
import { XtsAes256 } from './xts.js';
import type { CopyThreads } from '../chunk/copy-threads.js';

const sectorBytes = 512;

/** A volume's data keys as ciphers, on this thread: sectors [i * 2^30, (i+1) * 2^30) use data key i. */
export class VolumeCipher {
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

  /** Gives copy threads their own copies of these keys (CopyThreads.registerKeys); their number there. */
  registerWith(threads: CopyThreads): number {
    assert(this.dataKeys !== null, 'VolumeCipher used after destroy');
    return threads.registerKeys(this.dataKeys);
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
