// I/O vectors: what is left of one after a short preadv/pwritev (which may
// stop anywhere). Shared by FileChunk (file.ts) and the copy threads
// (copy-thread.ts), which both resume short transfers.
import { assert } from '@openbsd38/libutil/assert.js';

/** What is left of a vector after a short transfer of doneBytes. */
export function vectorsAfter(buffers: readonly Uint8Array[], doneBytes: number): Uint8Array[] {
  assert(Number.isSafeInteger(doneBytes) && doneBytes >= 0, `vectorsAfter: bad byte count ${doneBytes}`);
  let skip = doneBytes;
  let index = 0;
  while (index < buffers.length && skip >= buffers[index]!.length) skip -= buffers[index++]!.length;
  assert(index < buffers.length, `vectorsAfter: ${doneBytes} bytes done is past the vector`);
  const rest = buffers.slice(index);
  rest[0] = rest[0]!.subarray(skip);
  return rest;
}

