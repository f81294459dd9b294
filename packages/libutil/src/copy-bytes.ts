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
// value is repeated to fill the range), at 31–35 GB/s either way — also
// between two views of one buffer when they do not overlap (a memcpy may not
// overlap; overlapping views keep TypedArray.set's memmove). Elsewhere (no
// Node, or no shared memory involved) this is TypedArray.set.
//
// Zeroing is worse: TypedArray.fill(0), and Buffer.fill(0), on shared memory
// run at about 3 GB/s (against 120 for ordinary memory), so zeroBytes copies
// from a block of zeros instead.
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
  if (nodeFill !== undefined && lengthBytes >= FILL_BYTES_MIN
    && (target.buffer instanceof SharedArrayBuffer || source.buffer instanceof SharedArrayBuffer)
    && (target.buffer !== source.buffer || disjoint(target.byteOffset + targetOffset, source.byteOffset, lengthBytes))) {
    nodeFill.call(target, source, targetOffset, targetOffset + lengthBytes);
    return;
  }
  target.set(source, targetOffset);
}

function disjoint(targetStartBytes: number, sourceStartBytes: number, lengthBytes: number): boolean {
  return targetStartBytes + lengthBytes <= sourceStartBytes || sourceStartBytes + lengthBytes <= targetStartBytes;
}

/** Zeros to copy from; grows to the largest range zeroed in shared memory (a strip, in practice). */
let zeros = new Uint8Array(0);

/** target[startBytes, endBytes) := 0, like target.fill(0, startBytes, endBytes), at memcpy speed on shared memory too. */
export function zeroBytes(target: Uint8Array, startBytes = 0, endBytes = target.length): void {
  assert(Number.isSafeInteger(startBytes) && Number.isSafeInteger(endBytes) && 0 <= startBytes && startBytes <= endBytes
    && endBytes <= target.length, `zeroBytes: [${startBytes}, ${endBytes}) of ${target.length}`);
  const lengthBytes = endBytes - startBytes;
  if (nodeFill === undefined || lengthBytes < FILL_BYTES_MIN || !(target.buffer instanceof SharedArrayBuffer)) {
    target.fill(0, startBytes, endBytes);
    return;
  }
  if (zeros.length < lengthBytes) zeros = new Uint8Array(lengthBytes);
  nodeFill.call(target, zeros.subarray(0, lengthBytes), startBytes, endBytes);
}
