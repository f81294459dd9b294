// Reusable buffers for WRITE payloads and READ replies. Allocating a fresh
// 1 MiB buffer per request cost a fifth of the server's CPU in garbage
// collection under sequential fio load (docs/nbd.md, "Data path"); a pool
// keeps them. Buffers are grouped in power-of-two size classes, each with
// `HEADROOM_BYTES` extra so a READ reply's header and its payload share one
// buffer. Only a buffer nobody references any more may be released: the
// connection releases a payload after the device's write resolved and a
// reply after the socket's write callback; on any error it simply drops the
// buffer (the garbage collector takes it), never risking reuse while in use.
import { assert } from '@openbsd38/libutil/assert.js';
import { KiB } from '@openbsd38/libutil/units.js';

/** Room for the largest reply header in front of a payload of a class's size. */
export const HEADROOM_BYTES = 32;
/** The smallest class: smaller requests share it. */
const CLASS_BYTES_MIN = 4 * KiB;

export class BufferPool {
  /** Free ArrayBuffers by class (payload bytes without the headroom). */
  private readonly free = new Map<number, SharedArrayBuffer[]>();
  private freeBytes = 0;

  /** @param freeBytesMax free buffers kept beyond it are left to the garbage collector */
  constructor(readonly freeBytesMax: number) {
    assert(Number.isSafeInteger(freeBytesMax) && freeBytesMax >= 0, `BufferPool: freeBytesMax ${freeBytesMax}`);
  }

  /** A buffer of exactly `lengthBytes`, its contents undefined. */
  acquire(lengthBytes: number): Buffer {
    assert(Number.isSafeInteger(lengthBytes) && lengthBytes > 0, `BufferPool.acquire(${lengthBytes})`);
    const classBytes = classBytesFor(lengthBytes);
    const list = this.free.get(classBytes);
    const reused = list?.pop();
    if (reused !== undefined) {
      this.freeBytes -= reused.byteLength;
      return Buffer.from(reused, 0, lengthBytes);
    }
    // Shared memory, so that copy threads may move it to and from members (src/chunk/copy-threads.ts).
    return Buffer.from(new SharedArrayBuffer(classBytes + HEADROOM_BYTES), 0, lengthBytes);
  }

  /** Gives back a buffer from acquire() that nothing references any more. */
  release(buffer: Buffer): void {
    const backing = buffer.buffer;
    const classBytes = backing.byteLength - HEADROOM_BYTES;
    assert(buffer.byteOffset === 0 && classBytesFor(Math.max(1, classBytes)) === classBytes,
      'BufferPool.release: not a buffer from this pool');
    if (this.freeBytes + backing.byteLength > this.freeBytesMax) return;
    let list = this.free.get(classBytes);
    if (list === undefined) {
      list = [];
      this.free.set(classBytes, list);
    }
    list.push(backing as SharedArrayBuffer);
    this.freeBytes += backing.byteLength;
  }

  get freeBytesHeld(): number {
    return this.freeBytes;
  }
}

/** The class holding `lengthBytes`: the power of two at or above `lengthBytes - HEADROOM_BYTES`. */
function classBytesFor(lengthBytes: number): number {
  const payloadBytes = Math.max(CLASS_BYTES_MIN, lengthBytes - HEADROOM_BYTES);
  return 2 ** Math.ceil(Math.log2(payloadBytes));
}
