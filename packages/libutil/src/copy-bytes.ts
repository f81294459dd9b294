// Copying bytes between Uint8Arrays at memcpy speed, shared memory included.
//
// V8 copies into or out of a SharedArrayBuffer (TypedArray.prototype.set,
// and Node 20's Buffer.copy, which is built on it) with relaxed atomic word
// moves: measured 11–21 GB/s against 31–38 GB/s for ordinary memory on this
// project's machines. The NBD server's buffers are shared (so copy threads
// can see them: src/chunk/copy-threads.ts), and RAID 5 stages them through
// the parity arena, so those copies are on the hot path. Node's
// Buffer.prototype.fill with a buffer as the pattern is a plain memcpy in
// C++ when the pattern is exactly as long as the range (documented: the
// value is repeated to fill the range), at 31–35 GB/s either way. Elsewhere
// (no Node, or no shared memory involved) this is TypedArray.set.
import { assert } from './assert.js';

type FillWithPattern = (this: Uint8Array, pattern: Uint8Array, offset: number, end: number) => Uint8Array;

const nodeFill = (globalThis as { Buffer?: { prototype: { fill: unknown } } }).Buffer?.prototype.fill as FillWithPattern | undefined;
/** Below this, the call into C++ costs more than the relaxed copy. */
const FILL_BYTES_MIN = 512;

/** target[targetOffset, targetOffset + source.length) := source, like target.set(source, targetOffset). */
export function copyBytes(target: Uint8Array, source: Uint8Array, targetOffset = 0): void {
  const lengthBytes = source.length;
  assert(Number.isSafeInteger(targetOffset) && targetOffset >= 0 && targetOffset + lengthBytes <= target.length,
    `copyBytes: ${lengthBytes} bytes at ${targetOffset} into ${target.length}`);
  if (nodeFill !== undefined && lengthBytes >= FILL_BYTES_MIN && target.buffer !== source.buffer
    && (target.buffer instanceof SharedArrayBuffer || source.buffer instanceof SharedArrayBuffer)) {
    nodeFill.call(target, source, targetOffset, targetOffset + lengthBytes);
    return;
  }
  target.set(source, targetOffset);
}
