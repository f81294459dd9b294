// What an encrypted volume's discipline reads through (CRYPTO, RAID 1C):
// the member set, each read coming back decrypted (MemberSet.readDecrypted),
// so that where the owner's member I/O can decrypt what it reads, a read is
// one hand-off instead of a read and then a decryption. It holds because an
// encrypted discipline maps volume byte o to chunk byte o (the tests check
// it): a chunk read at o is the volume's sectors from o / 512. Reads only:
// rebuild, resync and scrub move ciphertext through the member set itself.
import { unreachable } from '@openbsd38/libutil/assert.js';
import type { SectorCipher } from '../crypto/sector-cipher.js';
import type { ChunkIo } from '../disciplines/discipline.js';
import type { MemberSet } from './member-set.js';

export function decryptingReads(members: MemberSet, cipher: SectorCipher): ChunkIo {
  return {
    chunkCount: members.chunkCount,
    isReadable: (chunkIndex) => members.isReadable(chunkIndex),
    isWritable: (chunkIndex) => members.isWritable(chunkIndex),
    nextRoundRobin: () => members.nextRoundRobin(),
    read: (chunkIndex, chunkOffsetBytes, into) => members.readDecrypted(chunkIndex, chunkOffsetBytes, into, cipher),
    async readv(chunkIndex, chunkOffsetBytes, into) {
      let atBytes = chunkOffsetBytes;
      const reads = into.map((buffer) => {
        const read = members.readDecrypted(chunkIndex, atBytes, buffer, cipher);
        atBytes += buffer.length;
        return read;
      });
      // Every read settled before the first failure is reported: none may still be writing into a buffer.
      const outcomes = await Promise.allSettled(reads);
      for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    },
    write: () => unreachable('decryptingReads: a read does not write'),
    writev: () => unreachable('decryptingReads: a read does not write'),
  };
}
