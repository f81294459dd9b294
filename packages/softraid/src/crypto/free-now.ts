// Giving an OpenSSL output buffer's memory back at once, not at the next
// collection.
//
// Every Cipher.update() returns a new Buffer (Node 20 has no update-into),
// and V8 frees its memory only when a scavenge finds the Buffer dead: a
// cipher thread piles up about 30 MiB of dead 64 KiB outputs between
// scavenges, glibc then trims the freed heap, and the next outputs fault
// their pages in again and are zeroed (calloc) on top. That was a fifth of
// XtsAes256's time and most of a cipher thread's resident memory.
// ArrayBuffer.prototype.transfer(0) detaches the output and drops its
// backing store on the spot, so the next update() gets the same warm
// 64 KiB back from malloc: measured 2.05 -> 2.8 GB/s per CPU-second for
// XtsAes256 and 88 -> 57 MiB peak RSS for one thread (docs/PERFORMANCE.md,
// round 15).
//
// Node 20's V8 (11.3) has transfer() behind --harmony-rab-gsab-transfer;
// V8 11.4 (Node 21) ships it. The flag is read when a context is made, so
// allowFreeNow() sets it before the crypto threads start (thread-start.ts):
// their contexts have transfer(), the event loop's does not (freeNow is
// then nothing, and the collector frees as before).
import { setFlagsFromString } from 'node:v8';

interface Transferable {
  transfer(newByteLength: number): ArrayBuffer;
}

const transfer = (ArrayBuffer.prototype as Partial<Transferable>).transfer;

/** Makes ArrayBuffer.prototype.transfer part of contexts (worker threads) made from now on. */
export function allowFreeNow(): void {
  if (transfer === undefined) setFlagsFromString('--harmony-rab-gsab-transfer');
}

/**
 * Frees `buffer`'s memory now and leaves it empty, when it is the whole of an
 * ArrayBuffer of its own (what update() returns). A slice of Buffer's
 * shared pool, or a view of shared memory, is left alone: detaching it
 * would empty every other view of that memory.
 */
export function freeNow(buffer: Uint8Array): void {
  if (transfer === undefined) return;
  const memory = buffer.buffer;
  if (!(memory instanceof ArrayBuffer) || buffer.byteOffset !== 0 || memory.byteLength !== buffer.byteLength) return;
  transfer.call(memory, 0);
}
