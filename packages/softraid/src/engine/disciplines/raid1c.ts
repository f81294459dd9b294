// RAID 1C: a mirror of encrypted sectors (softraid_raid1c.c): RAID 1's
// mapping, reads, writes, scrub, resync and rebuild, over what the volume
// core has already encrypted (capabilities.encrypted) with one set of keys
// for every member; its reads come back decrypted from the core's view of
// the chunks (volume/encrypted-io.ts). A rebuild or resync copies ciphertext, never decrypting,
// and a scrub compares ciphertext: mirrors of the same sectors under the
// same keys are byte-identical.
import { assert } from '@openbsd38/libutil/assert.js';
import { levelTable } from '@openbsd38/bio/levels.js';
import { raid1 } from './raid1.js';
import type { Discipline, Geometry } from './discipline.js';

export const raid1c: Discipline = {
  ...raid1,
  level: 'raid1c',
  capabilities: { ...raid1.capabilities, encrypted: true },
  validate(geometry: Geometry): void {
    assert(geometry.level === 'raid1c', 'raid1c: wrong level');
    assert(geometry.chunkCount >= 2 && geometry.chunkCount <= levelTable.raid1c.maximumChunks, 'raid1c: chunk count out of range');
    assert(Number.isSafeInteger(geometry.chunkDataSizeBytes) && geometry.chunkDataSizeBytes > 0, 'raid1c: bad chunk data size');
  },
};
