// An encrypted volume's member set as its discipline sees it (CRYPTO, RAID
// 1C): each read comes back decrypted (MemberSet.readDecrypted), each write
// is encrypted on its way (MemberSet.writeEncrypted), so that where the
// owner's member I/O can do both in one step, an I/O is one hand-off instead
// of a member I/O and a cipher job. It holds because an encrypted
// discipline maps volume byte o to chunk byte o (the tests check it): a
// chunk I/O at o is the volume's sectors from o / 512. The core writes
// through it only where each volume byte goes to one chunk (CRYPTO): a
// mirror's writes would each encrypt the same bytes again, so RAID 1C
// encrypts once and writes the ciphertext through the member set itself.
// Rebuild, resync and scrub move ciphertext through the member set too.
import type { SectorCipher } from '../crypto/sector-cipher.js';
import type { ChunkIo } from '../disciplines/discipline.js';
import { settleAll } from '../disciplines/sub-io.js';
import type { MemberSet } from './member-set.js';

export function encryptedIo(members: MemberSet, cipher: SectorCipher): ChunkIo {
  return {
    chunkCount: members.chunkCount,
    isReadable: (chunkIndex) => members.isReadable(chunkIndex),
    isWritable: (chunkIndex) => members.isWritable(chunkIndex),
    nextRoundRobin: () => members.nextRoundRobin(),
    read: (chunkIndex, chunkOffsetBytes, into) => members.readDecrypted(chunkIndex, chunkOffsetBytes, into, cipher),
    write: (chunkIndex, chunkOffsetBytes, data) => members.writeEncrypted(chunkIndex, chunkOffsetBytes, data, cipher),
    readv: (chunkIndex, chunkOffsetBytes, into) =>
      eachBuffer(chunkOffsetBytes, into, (atBytes, buffer) => members.readDecrypted(chunkIndex, atBytes, buffer, cipher)),
    writev: (chunkIndex, chunkOffsetBytes, data) =>
      eachBuffer(chunkOffsetBytes, data, (atBytes, buffer) => members.writeEncrypted(chunkIndex, atBytes, buffer, cipher)),
  };
}

/** One I/O per buffer, the buffers one after another from `offsetBytes`, every one settled before a failure is reported (settleAll). */
function eachBuffer(offsetBytes: number, buffers: readonly Uint8Array[], io: (atBytes: number, buffer: Uint8Array) => Promise<void>): Promise<void> {
  let atBytes = offsetBytes;
  return settleAll(buffers.map((buffer) => {
    const call = io(atBytes, buffer);
    atBytes += buffer.length;
    return call;
  }));
}
