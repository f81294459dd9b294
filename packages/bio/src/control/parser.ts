// Incremental frame parser: push() whatever bytes the socket delivered and
// get back every whole frame body; the rest is kept for the next push.
// The buffer is bounded: a header announcing more than frameBodyBytesMax is
// refused before any of the body is kept. A body may hold a passphrase
// (secret-section.ts), so the parser keeps copies of its own, outside the
// JavaScript heap, and zeroes each once it is assembled: the caller may zero
// the bytes it pushed at once, and zeroes the bodies it gets after use.
import { assert } from '@openbsd38/libutil/assert.js';
import { secretBytes, secretCopy } from '@openbsd38/libutil/secret-bytes.js';
import { ControlProtocolError } from './errors.js';
import { frameBodyBytesMax, frameHeaderBytes } from './protocol.js';

export class FrameParser {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Body length of the frame being assembled, once its header is complete. */
  private bodyBytes: number | undefined;
  private failed = false;

  constructor(private readonly bodyBytesMax: number = frameBodyBytesMax) {
    assert(Number.isSafeInteger(bodyBytesMax) && bodyBytesMax > 0 && bodyBytesMax <= 0xffffffff, 'bodyBytesMax out of range');
  }

  /** Bytes held between frames; never more than a header plus bodyBytesMax. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** Throws ControlProtocolError on an oversized frame; the parser is then unusable. */
  push(bytes: Uint8Array): Uint8Array[] {
    if (this.failed) throw new ControlProtocolError('parser already failed');
    const frames: Uint8Array[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      const need = this.bodyBytes === undefined ? frameHeaderBytes - this.pendingBytes : this.bodyBytes - this.pendingBytes;
      const take = Math.min(need, bytes.length - offset);
      this.pending.push(secretCopy(bytes.subarray(offset, offset + take)));
      this.pendingBytes += take;
      offset += take;
      if (this.pendingBytes < (this.bodyBytes ?? frameHeaderBytes)) continue;
      const whole = this.drain();
      if (this.bodyBytes === undefined) {
        const length = new DataView(whole.buffer, whole.byteOffset, frameHeaderBytes).getUint32(0, false);
        if (length > this.bodyBytesMax) {
          this.failed = true;
          throw new ControlProtocolError(`frame of ${length} bytes exceeds the limit of ${this.bodyBytesMax} bytes`);
        }
        this.bodyBytes = length;
        if (length === 0) {
          frames.push(new Uint8Array(0));
          this.bodyBytes = undefined;
        }
      } else {
        frames.push(whole);
        this.bodyBytes = undefined;
      }
    }
    assert(this.pendingBytes <= frameHeaderBytes + this.bodyBytesMax, 'parser buffer over its bound');
    return frames;
  }

  /** Concatenate (the pieces are the parser's own copies, zeroed here) and clear. */
  private drain(): Uint8Array {
    const whole = secretBytes(this.pendingBytes);
    let at = 0;
    for (const piece of this.pending) {
      whole.set(piece, at);
      at += piece.length;
      piece.fill(0);
    }
    this.pending = [];
    this.pendingBytes = 0;
    return whole;
  }
}
