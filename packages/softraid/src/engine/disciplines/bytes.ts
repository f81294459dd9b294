// Byte comparisons the scrub rules and the scrub share: word-wise when the
// views are 4-byte aligned (fresh buffers are).

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  if ((a.byteOffset & 3) === 0 && (b.byteOffset & 3) === 0) {
    const words = a.length >>> 2;
    const wa = new Uint32Array(a.buffer, a.byteOffset, words);
    const wb = new Uint32Array(b.buffer, b.byteOffset, words);
    for (let w = 0; w < words; w++) if (wa[w] !== wb[w]) return false;
    i = words << 2;
  }
  for (; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isZero(bytes: Uint8Array): boolean {
  let i = 0;
  if ((bytes.byteOffset & 3) === 0) {
    const words = bytes.length >>> 2;
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset, words);
    for (let w = 0; w < words; w++) if (view[w] !== 0) return false;
    i = words << 2;
  }
  for (; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
