// Memory for secrets (passphrases, keys) that can really be zeroed.
//
// V8 keeps a typed array of at most 64 bytes inside the JavaScript heap
// (typed_array_max_size_in_heap), not in an ArrayBuffer of its own: every
// scavenge that moves it leaves the old copy behind in the page it left, and
// the first touch of its .buffer (a transfer to a thread, say) copies it out
// and leaves the in-heap copy behind too. fill(0) then zeroes only the last
// copy. An ArrayBuffer made with its constructor always has its own backing
// store outside the heap: it never moves, a transfer moves it without a copy,
// and fill(0) reaches the only copy there is. So a secret lives in
// secretBytes() or secretCopy(), never in Uint8Array.from, new Uint8Array(n),
// a Buffer (the pool) or a JavaScript string or array.
import { assert } from './assert.js';

/** `length` zero bytes outside the JavaScript heap, for a secret. */
export function secretBytes(length: number): Uint8Array<ArrayBuffer> {
  assert(Number.isSafeInteger(length) && length >= 0, `secretBytes: length ${length}`);
  return new Uint8Array(new ArrayBuffer(length));
}

/** A copy of `source` outside the JavaScript heap; the caller zeroes both in time. */
export function secretCopy(source: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = secretBytes(source.length);
  copy.set(source);
  return copy;
}
