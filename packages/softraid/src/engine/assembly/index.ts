// Creating, assembling and scanning volumes, and hot spares: what the
// softraid0 controller calls.
export { createVolume, type CreateVolumeRequest, type CreatedVolume } from './create.js';
export { assembleVolume, type AssembleOptions, type AssembledVolume } from './assemble.js';
export { scanChunks, type ScanOptions, type ScanResult, type ScannedVolume } from './scan.js';
export { makeHotSpare, type MakeHotSpareOptions } from './hot-spare.js';
export type { ChunksInUse } from './checks.js';
export { usableSizeBytesOf, volumeSizeBytesFor } from './sizes.js';
