// AES-XTS-256 over 512-byte sectors, the tweak of each sector its 64-bit
// volume sector number, little-endian (softraid_crypto's IV; dm-crypt's
// aes-xts-plain64 with 512-byte sectors).
//
// node:crypto has 'aes-256-xts', but one cipher object serves one data unit:
// a createCipheriv per sector runs at well under 0.1 GB/s. Here OpenSSL does
// only bulk AES (ECB, which is stateless, so one long-lived object per key and
// direction serves every call) and xts-kernel.ts does the whitening. For each
// chunk of up to 128 sectors:
//   1. T_0 of every sector = AES-ECB_K2(sector number) — one update() call;
//   2. the chunk is copied into the kernel's memory and whitened (⊕ T_0·α^i);
//   3. AES-ECB_K1 (encrypt, or decrypt) of the whole chunk — one update() call;
//   4. the result is whitened again (with the tweaks step 2 kept) and copied
//      to the target.
// Decryption also encrypts the tweak (IEEE 1619-2007 §5.4).
// Every update() allocates its output (Node 20 has no update-into); each
// output is freed as soon as it is copied (free-now.ts), so that malloc hands
// the same warm memory to the next one instead of the heap being trimmed
// and faulted in again.
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { assert } from '@openbsd38/libutil/assert.js';
import { copyBytes } from '@openbsd38/libutil/copy-bytes.js';
import { freeNow } from './free-now.js';
import { chunkSectorsMax, instantiateXtsKernel, sectorBytes, tweakBytes, type XtsKernel } from './xts-kernel.js';

export const xtsKeyBytes = 64;
const halfKeyBytes = xtsKeyBytes / 2;
const twoPower32 = 0x1_0000_0000;
// The sector numbers are written as Uint32 words and read by OpenSSL as bytes.
assert(new Uint8Array(Uint32Array.of(1).buffer)[0] === 1, 'XtsAes256: a little-endian host is required');

function ecbCipher(key: Uint8Array): Cipher {
  const cipher = createCipheriv('aes-256-ecb', key, null);
  cipher.setAutoPadding(false);
  return cipher;
}

function ecbDecipher(key: Uint8Array): Decipher {
  const decipher = createDecipheriv('aes-256-ecb', key, null);
  decipher.setAutoPadding(false);
  return decipher;
}

/** True when the two views share bytes but do not start at the same one (in place is exactly the same view). */
function overlapsPartly(a: Uint8Array, b: Uint8Array): boolean {
  if (a.buffer !== b.buffer || a.byteOffset === b.byteOffset) return false;
  return a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

/**
 * encryptSectors/decryptSectors: `source` holds whole sectors from
 * `firstSector` on; `target` is the same length, and either the very same
 * bytes (in place) or bytes that do not overlap them.
 */
export class XtsAes256 {
  private readonly tweakCipher: Cipher;
  private readonly dataCipher: Cipher;
  private readonly dataDecipher: Decipher;
  private readonly kernel: XtsKernel;
  /** The ECB input of step 1: one 16-byte block per sector, its number in the low 8 bytes. */
  private readonly sectorNumbers = new Uint8Array(chunkSectorsMax * tweakBytes);
  private readonly sectorNumberWords = new Uint32Array(this.sectorNumbers.buffer);
  private destroyed = false;

  /** key = key1 ‖ key2 (64 bytes). OpenSSL keeps its own copies; this object keeps none of the caller's bytes. */
  constructor(key: Uint8Array) {
    assert(key.length === xtsKeyBytes, `XtsAes256: the key is ${xtsKeyBytes} bytes, not ${key.length}`);
    const dataKey = key.subarray(0, halfKeyBytes);
    const tweakKey = key.subarray(halfKeyBytes);
    this.tweakCipher = ecbCipher(tweakKey);
    this.dataCipher = ecbCipher(dataKey);
    this.dataDecipher = ecbDecipher(dataKey);
    this.kernel = instantiateXtsKernel();
  }

  encryptSectors(firstSector: number, source: Uint8Array, target: Uint8Array): void {
    this.run(firstSector, source, target, this.dataCipher);
  }

  decryptSectors(firstSector: number, source: Uint8Array, target: Uint8Array): void {
    this.run(firstSector, source, target, this.dataDecipher);
  }

  /**
   * Ends the three OpenSSL contexts (final() frees them, and OpenSSL clears a
   * cipher context's key schedule when it frees it) and zeroes the kernel's
   * memory, which held tweaks. The object is unusable afterwards.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.tweakCipher.final();
    this.dataCipher.final();
    this.dataDecipher.final();
    this.kernel.wipe();
  }

  private run(firstSector: number, source: Uint8Array, target: Uint8Array, aes: Cipher | Decipher): void {
    assert(!this.destroyed, 'XtsAes256: used after destroy()');
    assert(source.length % sectorBytes === 0, `XtsAes256: ${source.length} bytes is not a whole number of sectors`);
    assert(target.length === source.length, `XtsAes256: target of ${target.length} bytes for ${source.length}`);
    assert(!overlapsPartly(source, target), 'XtsAes256: target overlaps source without being it');
    const sectorCount = source.length / sectorBytes;
    assert(Number.isSafeInteger(firstSector) && firstSector >= 0 && Number.isSafeInteger(firstSector + sectorCount),
      `XtsAes256: sector ${firstSector} out of range`);
    const { kernel } = this;
    for (let done = 0; done < sectorCount; done += chunkSectorsMax) {
      const chunkSectors = Math.min(chunkSectorsMax, sectorCount - done);
      const chunkBytes = chunkSectors * sectorBytes;
      const offsetBytes = done * sectorBytes;
      this.encryptTweaks(firstSector + done, chunkSectors);
      const data = kernel.data.subarray(0, chunkBytes);
      // copyBytes: the NBD server's buffers are shared memory, which TypedArray.set copies a word at a time.
      copyBytes(data, source.subarray(offsetBytes, offsetBytes + chunkBytes));
      kernel.whiten(chunkSectors);
      const transformed = aes.update(data);
      assert(transformed.length === chunkBytes, 'XtsAes256: ECB returned a partial chunk');
      data.set(transformed);
      freeNow(transformed);
      kernel.unwhiten(chunkSectors);
      copyBytes(target, data, offsetBytes);
    }
    // The first chunk is the largest: every tweak computed lies within its extent.
    kernel.clearTweaks(Math.min(chunkSectorsMax, sectorCount));
  }

  /** Step 1: T_0 = AES-ECB_K2(sector number) for `count` sectors from `firstSector`, into the kernel's tweaks. */
  private encryptTweaks(firstSector: number, count: number): void {
    const words = this.sectorNumberWords;
    let low = firstSector % twoPower32;
    let high = Math.floor(firstSector / twoPower32);
    for (let sector = 0; sector < count; sector++) {
      words[sector * 4] = low;
      words[sector * 4 + 1] = high;
      if (++low === twoPower32) {
        low = 0;
        high++;
      }
    }
    const tweaks = this.tweakCipher.update(this.sectorNumbers.subarray(0, count * tweakBytes));
    assert(tweaks.length === count * tweakBytes, 'XtsAes256: ECB returned partial tweaks');
    this.kernel.tweaks.set(tweaks);
    tweaks.fill(0);
    freeNow(tweaks);
  }
}
