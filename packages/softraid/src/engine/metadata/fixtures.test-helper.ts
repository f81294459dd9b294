// Fixtures for metadata tests: what a newer writer of the format would leave on a chunk.
// Field offsets are written out (version at 8, copy length at 16, checksum at 20) rather
// than taken from layout.ts, so a change to the layout constants shows up in the tests.
import { copyChecksum } from './codec.js';

/** Stamps a newer format version on the copy at `offsetBytes`, with a valid checksum (as a newer writer would). */
export function setVersion(bytes: Uint8Array, offsetBytes: number, version: number): void {
  const view = new DataView(bytes.buffer, offsetBytes);
  view.setUint32(8, version, true);
  const copyBytes = view.getUint32(16, true);
  view.setUint32(20, copyChecksum(bytes.subarray(offsetBytes, offsetBytes + copyBytes)), true);
}
