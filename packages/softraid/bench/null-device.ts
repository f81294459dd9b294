// A block device that stores nothing: reads leave the caller's buffer as it
// is, writes and flushes are dropped at once. Served by bench/serve-volume.ts
// (--level none) it measures the NBD layer alone, socket copies and request
// handling with no member I/O: the ceiling any volume served by this process
// model can reach, next to nbdkit's file plugin in the same run.
import type { BlockDevice } from '@openbsd38/bio/block-device.js';
import { MiB } from '@openbsd38/libutil/units.js';

export function nullDevice(sizeBytes: number): BlockDevice {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % 4096 !== 0) {
    throw new Error(`null device: size ${sizeBytes} is not a positive multiple of 4096 bytes`);
  }
  return {
    sizeBytes,
    blockSizeMinBytes: 512,
    blockSizePreferredBytes: 4096,
    requestBytesMax: 32 * MiB,
    readOnly: false,
    flushIsGlobal: true,
    read: () => Promise.resolve(),
    write: () => Promise.resolve(),
    writeZeroes: () => Promise.resolve(),
    trim: () => Promise.resolve(),
    flush: () => Promise.resolve(),
  };
}
