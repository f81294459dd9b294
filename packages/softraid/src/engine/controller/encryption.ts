// The controller's side of CRYPTO and RAID 1C: which source unlocks a
// volume being created or assembled, opening its keys from its members'
// key areas, and the answers to bioctl's questions (the KDF hint, -P).
// keying.ts does the key life cycle; this file reads and writes chunks.
import { SoftraidError, MetadataError } from '../errors.js';
import type { ChunkBackend } from '../chunk.js';
import type { BioMessage, CryptoUnlock, KdfHintView } from '@openbsd38/bio/controller.js';
import { levelTable, type RaidLevel } from '@openbsd38/bio/levels.js';
import { disciplineFor } from '../disciplines/registry.js';
import { readKeyArea, wipeKeyAreaSecrets, writeKeyArea, type VolumeKeyArea } from '../metadata/key-area.js';
import { reservedRegionsDefault } from '../metadata/layout.js';
import { readChunkMetadata } from '../metadata/io.js';
import { isVolumeKind, type VolumeRecord } from '../metadata/record.js';
import { unlockVolumeKeys, type KeySource } from '../crypto/keying.js';
import type { KeyVault, SectorCipher } from '../crypto/sector-cipher.js';

export interface OpenEncryption {
  cipher: SectorCipher;
  keyArea: VolumeKeyArea;
}

/** Refuses crypto parameters a level does not take, and an encrypted level without exactly one source. */
export function checkUnlockRequest(level: RaidLevel, crypto: CryptoUnlock | undefined, vault: KeyVault | undefined): void {
  const name = levelTable[level].displayName;
  if (!disciplineFor(level).capabilities.encrypted) {
    if (crypto !== undefined) throw new SoftraidError(`${name} is not encrypted: -k, -p, -s and -r apply to CRYPTO and RAID 1C only`);
    return;
  }
  if (vault === undefined) throw new SoftraidError(`${name} is not available here: this controller has no key vault`);
  const sources = (crypto?.passphrase === undefined ? 0 : 1) + (crypto?.keyDisk === undefined ? 0 : 1);
  if (sources !== 1) throw new SoftraidError(`${name} needs a passphrase or a key disk (-k), ${sources === 0 ? 'none given' : 'not both'}`);
}

/** The region key areas live in, on a member or a key disk. */
export function cryptoRegionOf(record: VolumeRecord): { offsetBytes: number; lengthBytes: number } {
  return (record.reservedRegions ?? reservedRegionsDefault).crypto;
}

/**
 * Opens an assembled volume's keys: the key areas of its members, unlocked
 * by the source; members whose area is not the one that opened (a crash
 * during bioctl -P) get it written back. With no source, says what the
 * volume needs.
 */
export async function openVolumeKeys(vault: KeyVault, record: VolumeRecord, members: readonly (ChunkBackend | null)[],
  source: KeySource | null, messages: BioMessage[]): Promise<OpenEncryption> {
  const region = cryptoRegionOf(record);
  const areas: { member: ChunkBackend; area: VolumeKeyArea | null }[] = [];
  for (const member of members) {
    if (member === null) continue;
    let area;
    try {
      area = await readKeyArea(member, region);
    } catch (error) {
      if (!(error instanceof MetadataError)) throw error;
      messages.push({ type: 'warning', text: error.message });
      area = null;
    }
    if (area !== null && (area.kind !== 'volume' || area.uuid !== record.uuid)) {
      wipeKeyAreaSecrets(area);
      messages.push({ type: 'warning', text: `chunk ${member.name}: its key area belongs to another volume (uuid ${area.uuid}), not used` });
      area = null;
    }
    areas.push({ member, area: area as VolumeKeyArea | null });
  }
  const found = areas.flatMap(({ area }) => (area === null ? [] : [area]));
  const name = levelTable[record.kind as RaidLevel].displayName;
  if (found.length === 0) throw new SoftraidError(`${record.deviceName}: no member holds the keys of this ${name} volume`);
  if (source === null) {
    const byKeyDisk = found[0]!.kdf.type === 'keydisk';
    throw new SoftraidError(`${record.deviceName} is a ${name} volume unlocked by ${byKeyDisk ? 'a key disk, which is not here' : 'a passphrase'}: `
      + `assemble it with bioctl -c ${record.kind === 'crypto' ? 'C' : '1C'} ${byKeyDisk ? '-k KEYDISK ' : ''}-l ${record.chunks.map((chunk) => chunk.name).join(',')} softraid0`);
  }
  const opened = await unlockVolumeKeys(vault, found, source, region);
  try {
    for (const { member, area } of areas) {
      if (area !== null && area.generation === opened.area.generation) continue;
      messages.push({ type: 'info', text: `chunk ${member.name}: key area brought up to date` });
      await writeKeyArea(member, region, opened.area);
    }
  } catch (error) {
    await opened.cipher.destroy();
    throw error;
  }
  return { cipher: opened.cipher, keyArea: opened.area };
}

/** What the chunks hold, for bioctl -c C/1C's first step: an encrypted volume, and how it is unlocked. */
export async function kdfHintOfChunks(chunks: readonly ChunkBackend[]): Promise<KdfHintView> {
  for (const chunk of chunks) {
    let found;
    try {
      found = await readChunkMetadata(chunk);
    } catch (error) {
      if (!(error instanceof MetadataError)) throw error;
      continue;
    }
    if (found === null || !isVolumeKind(found.record.kind) || !disciplineFor(found.record.kind).capabilities.encrypted) continue;
    let area;
    try {
      area = await readKeyArea(chunk, cryptoRegionOf(found.record));
    } catch (error) {
      if (!(error instanceof MetadataError)) throw error;
      continue;
    }
    if (area === null) continue;
    if (area.kind !== 'volume') {
      wipeKeyAreaSecrets(area);
      continue;
    }
    return area.kdf.type === 'bcrypt-pbkdf'
      ? { existing: true, unlock: 'passphrase', kdfRounds: area.kdf.rounds }
      : { existing: true, unlock: 'keydisk', kdfRounds: null };
  }
  return { existing: false, unlock: null, kdfRounds: null };
}
