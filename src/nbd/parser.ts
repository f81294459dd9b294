// Incremental parser of the client-to-server byte stream (pg-protocol's
// split: this file only turns bytes into frames; the connection decides what
// they mean). `push(bytes)` keeps a reference to the socket's chunk (no copy,
// no concatenation); `next()` returns one whole frame or undefined when more
// bytes are needed. Pulling frames one at a time lets the connection stop
// when its in-flight limit is reached and leave the rest in place.
//
// Hot path: a request header that lies inside one chunk is read in place; a
// header split across chunks is gathered into a 28-byte scratch buffer. A
// WRITE payload inside one chunk is a subarray of it; a payload spanning
// chunks is copied once into a buffer allocated for that request, of the
// size the header announced, and only when that size is within the limit.
import { assert } from '../lib/assert.js';
import type { ClientFrame, ParserPhase } from './messages.js';
import {
  CLIENT_FLAGS_BYTES, IHAVEOPT_HI, IHAVEOPT_LO, NBD_CMD_WRITE, NBD_REQUEST_MAGIC, OPTION_HEADER_BYTES,
  REQUEST_HEADER_BYTES,
} from './protocol.js';

/** The client broke the framing: the only answer is a hard disconnect. */
export class NbdProtocolError extends Error {
  override name = 'NbdProtocolError';
}

export interface ParserLimits {
  /** Option data kept in memory; longer options are skipped and flagged oversized. */
  optionBytesMax: number;
  /** WRITE payload kept in memory; longer payloads are skipped and flagged discarded. */
  payloadBytesMax: number;
  /** Bytes pushed but not yet consumed (the caller must stop reading before this). */
  bufferedBytesMax: number;
}

const HEADER_SCRATCH_BYTES = Math.max(REQUEST_HEADER_BYTES, OPTION_HEADER_BYTES, CLIENT_FLAGS_BYTES);
const TWO_POW_32 = 4294967296;

type BodyState =
  | { kind: 'none' }
  | { kind: 'collect'; frame: ClientFrame & { kind: 'option' | 'request' }; into: Buffer; filledBytes: number }
  | { kind: 'skip'; frame: ClientFrame & { kind: 'option' | 'request' }; remainingBytes: number };

export class ClientStreamParser {
  phase: ParserPhase = 'clientFlags';
  private readonly chunks: Buffer[] = [];
  /** Read position inside chunks[0]. */
  private chunkOffset = 0;
  private bufferedBytes = 0;
  private readonly scratch = Buffer.alloc(HEADER_SCRATCH_BYTES);
  private scratchFilled = 0;
  private body: BodyState = { kind: 'none' };

  constructor(private readonly limits: ParserLimits) {
    assert(limits.payloadBytesMax > 0 && limits.optionBytesMax > 0 && limits.bufferedBytesMax > 0, 'ParserLimits');
  }

  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  push(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.bufferedBytes + bytes.length > this.limits.bufferedBytesMax) {
      throw new NbdProtocolError(`parser buffer limit ${this.limits.bufferedBytesMax} bytes exceeded`);
    }
    this.chunks.push(bytes);
    this.bufferedBytes += bytes.length;
  }

  /** Drops everything buffered (after STARTTLS the plain-text stream must be empty). */
  takeRemaining(): number {
    const remaining = this.bufferedBytes;
    this.chunks.length = 0;
    this.chunkOffset = 0;
    this.bufferedBytes = 0;
    return remaining;
  }

  next(): ClientFrame | undefined {
    if (this.body.kind !== 'none') return this.continueBody();
    const headerBytes = this.headerBytes();
    const header = this.takeHeader(headerBytes);
    if (header === undefined) return undefined;
    const { bytes, at } = header;
    switch (this.phase) {
      case 'clientFlags':
        return { kind: 'clientFlags', flags: bytes.readUInt32BE(at) };
      case 'option': {
        if (bytes.readUInt32BE(at) !== IHAVEOPT_HI || bytes.readUInt32BE(at + 4) !== IHAVEOPT_LO) {
          throw new NbdProtocolError('option without IHAVEOPT magic');
        }
        const lengthBytes = bytes.readUInt32BE(at + 12);
        const frame = { kind: 'option' as const, option: bytes.readUInt32BE(at + 8), data: EMPTY, lengthBytes, oversized: false };
        return this.startBody(frame, lengthBytes, lengthBytes > this.limits.optionBytesMax);
      }
      case 'request': {
        if (bytes.readUInt32BE(at) !== NBD_REQUEST_MAGIC) throw new NbdProtocolError('request with wrong magic');
        const type = bytes.readUInt16BE(at + 6);
        const lengthBytes = bytes.readUInt32BE(at + 24);
        const frame = {
          kind: 'request' as const,
          flags: bytes.readUInt16BE(at + 4),
          type,
          cookieHi: bytes.readUInt32BE(at + 8),
          cookieLo: bytes.readUInt32BE(at + 12),
          offsetBytes: bytes.readUInt32BE(at + 16) * TWO_POW_32 + bytes.readUInt32BE(at + 20),
          lengthBytes,
          payload: undefined as Buffer | undefined,
          payloadDiscarded: false,
        };
        if (type !== NBD_CMD_WRITE) return frame;
        return this.startBody(frame, lengthBytes, lengthBytes > this.limits.payloadBytesMax);
      }
    }
  }

  private headerBytes(): number {
    switch (this.phase) {
      case 'clientFlags': return CLIENT_FLAGS_BYTES;
      case 'option': return OPTION_HEADER_BYTES;
      case 'request': return REQUEST_HEADER_BYTES;
    }
  }

  /** A fixed-size header, in place when it lies inside one chunk, else via the scratch buffer. */
  private takeHeader(headerBytes: number): { bytes: Buffer; at: number } | undefined {
    const first = this.chunks[0];
    if (this.scratchFilled === 0 && first !== undefined && first.length - this.chunkOffset >= headerBytes) {
      const at = this.chunkOffset;
      this.consume(headerBytes);
      return { bytes: first, at };
    }
    this.scratchFilled += this.copyOut(this.scratch, this.scratchFilled, headerBytes - this.scratchFilled);
    if (this.scratchFilled < headerBytes) return undefined;
    this.scratchFilled = 0;
    return { bytes: this.scratch, at: 0 };
  }

  private startBody<F extends ClientFrame & { kind: 'option' | 'request' }>(frame: F, lengthBytes: number, skip: boolean): F | undefined {
    if (lengthBytes === 0) {
      if (frame.kind === 'request') frame.payload = EMPTY;
      return frame;
    }
    if (skip) {
      if (frame.kind === 'option') frame.oversized = true;
      else frame.payloadDiscarded = true;
      this.body = { kind: 'skip', frame, remainingBytes: lengthBytes };
      return this.continueBody() as F | undefined;
    }
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.chunkOffset >= lengthBytes) {
      // Zero-copy: the body lies inside the chunk the socket gave us.
      const data = first.subarray(this.chunkOffset, this.chunkOffset + lengthBytes);
      this.consume(lengthBytes);
      this.attach(frame, data);
      return frame;
    }
    this.body = { kind: 'collect', frame, into: Buffer.allocUnsafe(lengthBytes), filledBytes: 0 };
    return this.continueBody() as F | undefined;
  }

  private continueBody(): ClientFrame | undefined {
    const body = this.body;
    if (body.kind === 'collect') {
      body.filledBytes += this.copyOut(body.into, body.filledBytes, body.into.length - body.filledBytes);
      if (body.filledBytes < body.into.length) return undefined;
      this.attach(body.frame, body.into);
      this.body = { kind: 'none' };
      return body.frame;
    }
    if (body.kind === 'skip') {
      const skipped = Math.min(body.remainingBytes, this.bufferedBytes);
      this.consume(skipped);
      body.remainingBytes -= skipped;
      if (body.remainingBytes > 0) return undefined;
      this.body = { kind: 'none' };
      return body.frame;
    }
    return undefined;
  }

  private attach(frame: ClientFrame & { kind: 'option' | 'request' }, data: Buffer): void {
    if (frame.kind === 'option') frame.data = data;
    else frame.payload = data;
  }

  /** Copies up to `wantedBytes` buffered bytes into `into` at `at`; returns how many. */
  private copyOut(into: Buffer, at: number, wantedBytes: number): number {
    let copied = 0;
    while (copied < wantedBytes) {
      const first = this.chunks[0];
      if (first === undefined) break;
      const take = Math.min(wantedBytes - copied, first.length - this.chunkOffset);
      first.copy(into, at + copied, this.chunkOffset, this.chunkOffset + take);
      copied += take;
      this.consume(take);
    }
    return copied;
  }

  private consume(bytes: number): void {
    this.bufferedBytes -= bytes;
    let left = bytes;
    while (left > 0) {
      const first = this.chunks[0];
      assert(first !== undefined, 'parser: consumed more than buffered');
      const available = first.length - this.chunkOffset;
      if (left < available) {
        this.chunkOffset += left;
        return;
      }
      left -= available;
      this.chunks.shift();
      this.chunkOffset = 0;
    }
    if (this.chunks.length > 0 && this.chunkOffset === this.chunks[0]!.length) {
      this.chunks.shift();
      this.chunkOffset = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);
