// A key vault for the engine's tests, written the slow, obvious way with
// node:crypto alone: XTS one sector at a time through OpenSSL's own
// aes-256-xts, and PBKDF2-SHA256 standing in for bcrypt_pbkdf so a test
// does not spend a second per unlock. The engine cannot tell (it only sees
// KeyVault); src/crypto/'s vault, the one softraidd runs, is tested against
// standard vectors and against this arithmetic on its own.
import { createCipheriv, createDecipheriv, createHash, createHmac, pbkdf2Sync, randomFillSync, timingSafeEqual } from 'node:crypto';
import { dataKeyBytes, dataKeysBytes } from '../metadata/key-area.js';
import { cipherSectorBytes, sectorsPerDataKey, type KeyVault, type SectorCipher } from './sector-cipher.js';

function ecb(key: Uint8Array, data: Uint8Array, decrypt: boolean): Uint8Array {
  const cipher = decrypt ? createDecipheriv('aes-256-ecb', key, null) : createCipheriv('aes-256-ecb', key, null);
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(data), cipher.final()]));
}

function checkMacOf(dataKeys: Uint8Array, maskKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha1', createHash('sha1').update(maskKey).digest()).update(dataKeys).digest());
}

/** XTS-AES-256 of one 512-byte sector, as OpenSSL does it. */
export function xtsSector(dataKeys: Uint8Array, sector: number, data: Uint8Array, decrypt: boolean): Uint8Array {
  const slot = Math.floor(sector / sectorsPerDataKey);
  const key = dataKeys.subarray(slot * dataKeyBytes, (slot + 1) * dataKeyBytes);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64LE(BigInt(sector));
  const cipher = decrypt ? createDecipheriv('aes-256-xts', key, iv) : createCipheriv('aes-256-xts', key, iv);
  return new Uint8Array(Buffer.concat([cipher.update(data), cipher.final()]));
}

export interface TestVault extends KeyVault {
  /** Ciphers made and not yet destroyed. */
  readonly liveCiphers: number;
  /** Derivations done (a wrong passphrase costs one too). */
  readonly derivations: number;
}

export function testVault(): TestVault {
  let liveCiphers = 0;
  let derivations = 0;
  return {
    get liveCiphers() {
      return liveCiphers;
    },
    get derivations() {
      return derivations;
    },
    randomBytes: (bytes) => randomFillSync(bytes),
    deriveMaskKey: async (passphrase, salt, rounds) => {
      derivations++;
      await Promise.resolve();
      return new Uint8Array(pbkdf2Sync(passphrase, salt, rounds, 32, 'sha256'));
    },
    autoRounds: async () => {
      await Promise.resolve();
      return 16;
    },
    newDataKeys: () => randomFillSync(new Uint8Array(dataKeysBytes)),
    maskDataKeys: (dataKeys, maskKey) => ({ maskedKeys: ecb(maskKey, dataKeys, false), checkMac: checkMacOf(dataKeys, maskKey) }),
    unmaskDataKeys: (maskedKeys, checkMac, maskKey) => {
      const dataKeys = ecb(maskKey, maskedKeys, true);
      if (timingSafeEqual(checkMacOf(dataKeys, maskKey), checkMac)) return dataKeys;
      dataKeys.fill(0);
      return null;
    },
    cipher: (dataKeysGiven): SectorCipher => {
      const dataKeys = dataKeysGiven.slice();
      liveCiphers++;
      let destroyed = false;
      const run = (firstSector: number, source: Uint8Array, target: Uint8Array, decrypt: boolean): void => {
        if (destroyed) throw new Error('cipher used after destroy');
        for (let at = 0; at < source.length; at += cipherSectorBytes) {
          target.set(xtsSector(dataKeys, firstSector + at / cipherSectorBytes, source.subarray(at, at + cipherSectorBytes), decrypt), at);
        }
      };
      return {
        encryptSectors: async (firstSector, source, target) => {
          await Promise.resolve();
          run(firstSector, source, target, false);
        },
        decryptSectors: async (firstSector, source, target) => {
          await Promise.resolve();
          run(firstSector, source, target, true);
        },
        destroy: () => {
          if (destroyed) return;
          destroyed = true;
          dataKeys.fill(0);
          liveCiphers--;
        },
      };
    },
  };
}
