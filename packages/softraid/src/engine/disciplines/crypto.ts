// CRYPTO: one chunk, every sector encrypted (softraid_crypto.c). The
// discipline is the identity map onto its chunk; the volume core hands it a
// view of the chunk whose reads come back decrypted and whose writes are
// encrypted on their way (capabilities.encrypted, volume/encrypted-io.ts),
// so what the chunk holds is ciphertext only.
import { assert } from '@openbsd38/libutil/assert.js';
import { unavailable } from './sub-io.js';
import type { Discipline, Geometry } from './discipline.js';

/**
 *   volume byte o -> chunk 0 byte o
 */
export const crypto: Discipline = {
  level: 'crypto',
  capabilities: { redundant: false, rebuild: false, nonCoerced: false, encrypted: true },
  validate(geometry: Geometry): void {
    assert(geometry.level === 'crypto', 'crypto: wrong level');
    assert(geometry.chunkCount === 1, 'crypto: exactly one chunk');
    assert(Number.isSafeInteger(geometry.chunkDataSizeBytes) && geometry.chunkDataSizeBytes > 0, 'crypto: bad chunk data size');
  },
  volumeSizeBytes: (g) => g.chunkDataSizeBytes,
  chunkUsedBytes: (g) => g.chunkDataSizeBytes,
  preferredBlockSizeBytes: () => 4096,
  lockRange: (_g, offsetBytes, lengthBytes) => ({ offsetBytes, lengthBytes }),
  rowBytes: () => 0,
  async read(io, _g, offsetBytes, into) {
    if (!io.isReadable(0)) unavailable(`CRYPTO: its chunk is offline, cannot read volume byte ${offsetBytes}`);
    await io.read(0, offsetBytes, into);
  },
  async write(io, _g, offsetBytes, data) {
    if (!io.isWritable(0)) unavailable(`CRYPTO: its chunk is offline, cannot write volume byte ${offsetBytes}`);
    await io.write(0, offsetBytes, data);
  },
};
