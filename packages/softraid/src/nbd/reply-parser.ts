// Incremental parser of the server-to-client stream in the transmission
// phase (simple replies only: the client does not negotiate structured
// replies). A READ's data goes straight into the caller's buffer, found by
// cookie through `payloadFor`, with no intermediate copy or concatenation.
import { NbdProtocolError } from './parser.js';
import { NBD_SIMPLE_REPLY_MAGIC, SIMPLE_REPLY_HEADER_BYTES } from './protocol.js';

export interface SimpleReply {
  error: number;
  cookieHi: number;
  cookieLo: number;
}

export class SimpleReplyParser {
  private readonly chunks: Buffer[] = [];
  private chunkOffset = 0;
  private bufferedBytes = 0;
  private readonly header = Buffer.alloc(SIMPLE_REPLY_HEADER_BYTES);
  private headerFilled = 0;
  private pending: { reply: SimpleReply; into: Buffer; filledBytes: number } | undefined;

  constructor(private readonly bufferedBytesMax: number) {}

  push(bytes: Buffer): void {
    if (this.bufferedBytes + bytes.length > this.bufferedBytesMax) throw new NbdProtocolError('reply buffer limit exceeded');
    this.chunks.push(bytes);
    this.bufferedBytes += bytes.length;
  }

  /**
   * The next whole reply, or undefined when more bytes are needed.
   * `payloadFor` names the buffer that receives a successful reply's data
   * (a READ), or undefined when the request carries none.
   */
  next(payloadFor: (cookieHi: number, cookieLo: number) => Buffer | undefined): SimpleReply | undefined {
    if (this.pending === undefined) {
      this.headerFilled += this.copyOut(this.header, this.headerFilled, SIMPLE_REPLY_HEADER_BYTES - this.headerFilled);
      if (this.headerFilled < SIMPLE_REPLY_HEADER_BYTES) return undefined;
      this.headerFilled = 0;
      if (this.header.readUInt32BE(0) !== NBD_SIMPLE_REPLY_MAGIC) throw new NbdProtocolError('reply with wrong magic');
      const reply = { error: this.header.readUInt32BE(4), cookieHi: this.header.readUInt32BE(8), cookieLo: this.header.readUInt32BE(12) };
      const into = reply.error === 0 ? payloadFor(reply.cookieHi, reply.cookieLo) : undefined;
      if (into === undefined || into.length === 0) return reply;
      this.pending = { reply, into, filledBytes: 0 };
    }
    const pending = this.pending;
    pending.filledBytes += this.copyOut(pending.into, pending.filledBytes, pending.into.length - pending.filledBytes);
    if (pending.filledBytes < pending.into.length) return undefined;
    this.pending = undefined;
    return pending.reply;
  }

  private copyOut(into: Buffer, at: number, wantedBytes: number): number {
    let copied = 0;
    while (copied < wantedBytes && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const take = Math.min(wantedBytes - copied, first.length - this.chunkOffset);
      first.copy(into, at + copied, this.chunkOffset, this.chunkOffset + take);
      copied += take;
      this.chunkOffset += take;
      this.bufferedBytes -= take;
      if (this.chunkOffset === first.length) {
        this.chunks.shift();
        this.chunkOffset = 0;
      }
    }
    return copied;
  }
}
