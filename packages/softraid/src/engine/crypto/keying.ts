// softraid's key life cycle for CRYPTO and RAID 1C (softraid_crypto.c):
// new keys at creation, unlocking at assembly, a passphrase change that
// re-masks the same data keys (no data is re-encrypted). The arithmetic is
// the vault's (sector-cipher.ts); what is stored where is key-area.ts's.
// Every mask key and every plain copy of the data keys is zeroed as soon as
// the cipher holds its own; nothing here puts key bytes in a message.
import { assert } from '@openbsd38/libutil/assert.js';
import { secretBytes, secretCopy } from '@openbsd38/libutil/secret-bytes.js';
import { SoftraidError } from '../errors.js';
import type { ChunkBackend } from '../chunk.js';
import {
  kdfRoundsMax, kdfRoundsMin, kdfSaltBytes, maskKeyBytes, readKeyArea, type KeyDiskArea, type VolumeKeyArea,
} from '../metadata/key-area.js';
import type { KeyVault, SectorCipher } from './sector-cipher.js';

/** Where the mask key comes from: a passphrase (through bcrypt_pbkdf), or a key disk's own key area. */
export type KeySource =
  | { kind: 'passphrase'; passphrase: Uint8Array; kdfRounds?: number }
  | { kind: 'keydisk'; keyDisk: ChunkBackend };

/** softraid's EPERM text for a wrong passphrase or key disk. */
export const incorrectKeyText = 'incorrect key or passphrase';

export function checkKdfRounds(rounds: number): void {
  if (!Number.isSafeInteger(rounds) || rounds < kdfRoundsMin) throw new SoftraidError(`number of KDF rounds is too small: ${rounds}`);
  if (rounds > kdfRoundsMax) throw new SoftraidError(`number of KDF rounds is too large: ${rounds}`);
}

export interface NewKeys {
  /** What every chunk's key area holds. */
  area: VolumeKeyArea;
  /** Key disk volumes: what the key disk's key area holds. */
  keyDiskArea: KeyDiskArea | null;
  cipher: SectorCipher;
}

/** Keys for a new volume: random data keys masked under a mask key from the source. */
export async function newVolumeKeys(vault: KeyVault, uuid: string, source: KeySource): Promise<NewKeys> {
  const maskKey = secretBytes(maskKeyBytes);
  let kdf: VolumeKeyArea['kdf'];
  let keyDiskArea: KeyDiskArea | null = null;
  if (source.kind === 'passphrase') {
    if (source.passphrase.length === 0) throw new SoftraidError('empty passphrase');
    const rounds = source.kdfRounds ?? await vault.autoRounds();
    checkKdfRounds(rounds);
    const salt = new Uint8Array(kdfSaltBytes);
    vault.randomBytes(salt);
    const derived = await vault.deriveMaskKey(source.passphrase, salt, rounds);
    maskKey.set(derived);
    derived.fill(0);
    kdf = { type: 'bcrypt-pbkdf', rounds, salt };
  } else {
    vault.randomBytes(maskKey);
    kdf = { type: 'keydisk' };
    keyDiskArea = { kind: 'keydisk', uuid, generation: 1, maskKey: secretCopy(maskKey) };
  }
  const dataKeys = vault.newDataKeys();
  try {
    const { maskedKeys, checkMac } = vault.maskDataKeys(dataKeys, maskKey);
    return { area: { kind: 'volume', uuid, generation: 1, kdf, maskedKeys, checkMac }, keyDiskArea, cipher: vault.cipher(dataKeys) };
  } finally {
    dataKeys.fill(0);
    maskKey.fill(0);
  }
}

/** The mask key a source gives for a volume's key area; throws SoftraidError when the source does not fit it. */
async function maskKeyFor(vault: KeyVault, area: VolumeKeyArea, source: KeySource, keyDiskRegion: { offsetBytes: number; lengthBytes: number }):
  Promise<Uint8Array> {
  if (area.kdf.type === 'bcrypt-pbkdf') {
    if (source.kind !== 'passphrase') throw new SoftraidError('the volume is unlocked by a passphrase, not by a key disk');
    return vault.deriveMaskKey(source.passphrase, area.kdf.salt, area.kdf.rounds);
  }
  if (source.kind !== 'keydisk') throw new SoftraidError('the volume is unlocked by a key disk: name it with -k');
  const keyDisk = await readKeyArea(source.keyDisk, keyDiskRegion);
  if (keyDisk === null || keyDisk.kind !== 'keydisk') throw new SoftraidError(`${source.keyDisk.name} is not a key disk`);
  if (keyDisk.uuid !== area.uuid) {
    keyDisk.maskKey.fill(0);
    throw new SoftraidError(`key disk ${source.keyDisk.name} belongs to another volume (uuid ${keyDisk.uuid})`);
  }
  return keyDisk.maskKey;
}

/**
 * Opens a volume's keys. Members may hold areas of different generations
 * after a crash during a passphrase change: the newest is tried first, and
 * the one the source opens is returned (the caller writes it back to every
 * member). A source that opens none: "incorrect key or passphrase".
 */
export async function unlockVolumeKeys(vault: KeyVault, areas: readonly VolumeKeyArea[], source: KeySource,
  keyDiskRegion: { offsetBytes: number; lengthBytes: number }): Promise<{ area: VolumeKeyArea; cipher: SectorCipher }> {
  assert(areas.length > 0, 'unlock: no key area');
  const newestFirst = [...areas].sort((a, b) => b.generation - a.generation)
    .filter((area, index, all) => all.findIndex((other) => other.generation === area.generation) === index);
  for (const area of newestFirst) {
    const maskKey = await maskKeyFor(vault, area, source, keyDiskRegion);
    try {
      const dataKeys = vault.unmaskDataKeys(area.maskedKeys, area.checkMac, maskKey);
      if (dataKeys === null) continue;
      try {
        return { area, cipher: vault.cipher(dataKeys) };
      } finally {
        dataKeys.fill(0);
      }
    } finally {
      maskKey.fill(0);
    }
  }
  throw new SoftraidError(incorrectKeyText);
}

/**
 * bioctl -P: the same data keys masked under a new passphrase's mask key,
 * with a new salt, as the next generation. Rounds: as asked, else the
 * larger of a second's worth and the old rounds (bioctl's rule).
 */
export async function changePassphrase(vault: KeyVault, area: VolumeKeyArea, oldPassphrase: Uint8Array, newPassphrase: Uint8Array,
  kdfRounds: number | undefined): Promise<VolumeKeyArea> {
  if (area.kdf.type !== 'bcrypt-pbkdf') throw new SoftraidError('the volume is unlocked by a key disk: it has no passphrase to change');
  if (newPassphrase.length === 0) throw new SoftraidError('empty passphrase');
  const oldMaskKey = await vault.deriveMaskKey(oldPassphrase, area.kdf.salt, area.kdf.rounds);
  const dataKeys = vault.unmaskDataKeys(area.maskedKeys, area.checkMac, oldMaskKey);
  oldMaskKey.fill(0);
  if (dataKeys === null) throw new SoftraidError(incorrectKeyText);
  try {
    const rounds = kdfRounds ?? Math.max(await vault.autoRounds(), area.kdf.rounds);
    checkKdfRounds(rounds);
    const salt = new Uint8Array(kdfSaltBytes);
    vault.randomBytes(salt);
    const newMaskKey = await vault.deriveMaskKey(newPassphrase, salt, rounds);
    try {
      const { maskedKeys, checkMac } = vault.maskDataKeys(dataKeys, newMaskKey);
      return { kind: 'volume', uuid: area.uuid, generation: area.generation + 1, kdf: { type: 'bcrypt-pbkdf', rounds, salt }, maskedKeys, checkMac };
    } finally {
      newMaskKey.fill(0);
    }
  } finally {
    dataKeys.fill(0);
  }
}
