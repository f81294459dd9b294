// Incremental parser of the client-to-server byte stream (pg-protocol's
// split: this file only turns bytes into frames; the connection decides what
// they mean). Bytes arrive in one of two ways:
//   - `readTarget()` / `received(target, n)`: the socket reads straight into
//     memory the parser chooses (Node's `onread` with a buffer function).
//     Headers and small payloads land in one receive buffer, reused for the
//     whole connection; a large WRITE payload lands directly in the buffer
//     that goes to the device, so its bytes are never copied in user space.
//   - `push(bytes)`: bytes from elsewhere (a TLS socket's 'data' events, the
//     tests) are copied in; a payload being collected takes them directly.
// `next()` returns one whole frame or undefined when more bytes are needed.
// Pulling frames one at a time lets the connection stop when its in-flight
// limit is reached and leave the rest in place.
//
// The receive buffer is only compacted or reset inside readTarget(), so a
// target handed to the socket stays valid until its read completes, even
// while reading is paused; a target that went stale anyway is copied in.
// Frames never alias the receive buffer: payloads and option data are
// copied out of it (a payload that arrives directly is not).
import { assert } from '@openbsd38/libutil/assert.js';
import { copyBytes } from '@openbsd38/libutil/copy-bytes.js';
import { KiB } from '@openbsd38/libutil/units.js';
import type { BufferPool } from './buffer-pool.js';
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

/** Initial size of a connection's receive buffer. */
const RECEIVE_BYTES_INITIAL = 256 * KiB;
/** A socket read is never offered less room than this (the buffer is compacted or grown). */
const READ_BYTES_MIN = 16 * KiB;
/**
 * Nor more than this: a read into the receive buffer may pick up the start
 * of a large WRITE payload after its header, and those bytes are copied out;
 * 64 KiB bounds that copy per request (a 256 KiB read copied up to a quarter
 * of a 1 MiB payload) and still holds 15 headers with 4 KiB payloads.
 */
const RECEIVE_READ_BYTES_MAX = 64 * KiB;
/** A WRITE payload with at least this much still to come is read straight into its buffer. */
const DIRECT_READ_BYTES_MIN = 64 * KiB;
const TWO_POW_32 = 4294967296;

type BodyState =
  | { kind: 'none' }
  | { kind: 'collect'; frame: ClientFrame & { kind: 'option' | 'request' }; into: Buffer; filledBytes: number }
  | { kind: 'skip'; frame: ClientFrame & { kind: 'option' | 'request' }; remainingBytes: number };

const NO_BODY: BodyState = { kind: 'none' };

export class ClientStreamParser {
  phase: ParserPhase = 'clientFlags';
  /** Unconsumed bytes are receive[start, end). */
  private receive = Buffer.allocUnsafeSlow(RECEIVE_BYTES_INITIAL);
  private start = 0;
  private end = 0;
  private body: BodyState = NO_BODY;

  /** @param pool where WRITE payloads come from (the connection gives them back); none: plain allocations */
  constructor(private readonly limits: ParserLimits, private readonly pool?: BufferPool) {
    assert(limits.payloadBytesMax > 0 && limits.optionBytesMax > 0 && limits.bufferedBytesMax > 0, 'ParserLimits');
  }

  get pendingBytes(): number {
    return this.end - this.start;
  }

  /** Part of a frame has arrived and the rest has not: the client is in the middle of sending it. */
  get inFrame(): boolean {
    return this.end > this.start || this.body.kind !== 'none';
  }

  /**
   * Where the next socket read should land: the rest of a large WRITE
   * payload when nothing else is buffered, else the receive buffer's free
   * tail. Only here is the receive buffer compacted or grown.
   */
  readTarget(): Buffer {
    const body = this.body;
    if (body.kind === 'collect' && body.frame.kind === 'request' && this.start === this.end
      && body.into.length - body.filledBytes >= DIRECT_READ_BYTES_MIN) {
      return body.into.subarray(body.filledBytes);
    }
    this.makeRoom(READ_BYTES_MIN);
    return this.receive.subarray(this.end, this.end + RECEIVE_READ_BYTES_MAX);
  }

  /** `lengthBytes` arrived at the start of `target`, a buffer readTarget() returned. */
  received(target: Buffer, lengthBytes: number): void {
    assert(lengthBytes > 0 && lengthBytes <= target.length, 'parser: read beyond its target');
    const body = this.body;
    if (body.kind === 'collect' && target.buffer === body.into.buffer
      && target.byteOffset === body.into.byteOffset + body.filledBytes) {
      body.filledBytes += lengthBytes;
      return;
    }
    assert(target.buffer === this.receive.buffer && target.byteOffset === this.receive.byteOffset + this.end,
      'parser: a read landed outside its target');
    this.end += lengthBytes;
    this.checkBuffered();
  }

  /** Copies bytes in; the rest of a payload being collected takes them directly. */
  push(bytes: Buffer): void {
    let at = 0;
    const body = this.body;
    if (this.start === this.end && body.kind === 'collect') {
      at = Math.min(bytes.length, body.into.length - body.filledBytes);
      copyBytes(body.into, bytes.subarray(0, at), body.filledBytes);
      body.filledBytes += at;
    }
    if (at === bytes.length) return;
    this.makeRoom(bytes.length - at);
    bytes.copy(this.receive, this.end, at);
    this.end += bytes.length - at;
    this.checkBuffered();
  }

  /** Drops everything buffered (after STARTTLS the plain-text stream must be empty). */
  takeRemaining(): number {
    const remaining = this.end - this.start;
    this.start = 0;
    this.end = 0;
    return remaining;
  }

  next(): ClientFrame | undefined {
    if (this.body.kind !== 'none') return this.continueBody();
    const headerBytes = this.headerBytes();
    if (this.end - this.start < headerBytes) return undefined;
    const bytes = this.receive;
    const at = this.start;
    this.start += headerBytes;
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

  private startBody<F extends ClientFrame & { kind: 'option' | 'request' }>(frame: F, lengthBytes: number, skip: boolean): F | undefined {
    if (lengthBytes === 0) {
      if (frame.kind === 'request') frame.payload = EMPTY;
      return frame;
    }
    if (skip) {
      if (frame.kind === 'option') frame.oversized = true;
      else frame.payloadDiscarded = true;
      this.body = { kind: 'skip', frame, remainingBytes: lengthBytes };
    } else {
      // Checked against the limit above: never an allocation the client chose beyond it.
      const into = frame.kind === 'request' && this.pool !== undefined ? this.pool.acquire(lengthBytes) : Buffer.allocUnsafe(lengthBytes);
      this.body = { kind: 'collect', frame, into, filledBytes: 0 };
    }
    return this.continueBody() as F | undefined;
  }

  private continueBody(): ClientFrame | undefined {
    const body = this.body;
    if (body.kind === 'collect') {
      const take = Math.min(body.into.length - body.filledBytes, this.end - this.start);
      if (take > 0) {
        copyBytes(body.into, this.receive.subarray(this.start, this.start + take), body.filledBytes);
        this.start += take;
        body.filledBytes += take;
      }
      if (body.filledBytes < body.into.length) return undefined;
      if (body.frame.kind === 'option') body.frame.data = body.into;
      else body.frame.payload = body.into;
      this.body = NO_BODY;
      return body.frame;
    }
    if (body.kind === 'skip') {
      const skipped = Math.min(body.remainingBytes, this.end - this.start);
      this.start += skipped;
      body.remainingBytes -= skipped;
      if (body.remainingBytes > 0) return undefined;
      this.body = NO_BODY;
      return body.frame;
    }
    return undefined;
  }

  /** At least `bytes` free after `end`: reset when empty, else compact, else grow. */
  private makeRoom(bytes: number): void {
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
    if (this.receive.length - this.end >= bytes) return;
    const pending = this.end - this.start;
    let target = this.receive;
    if (pending + bytes > target.length) {
      target = Buffer.allocUnsafeSlow(Math.max(2 * target.length, pending + bytes));
    }
    this.receive.copy(target, 0, this.start, this.end);
    this.receive = target;
    this.start = 0;
    this.end = pending;
  }

  private checkBuffered(): void {
    if (this.end - this.start > this.limits.bufferedBytesMax) {
      throw new NbdProtocolError(`parser buffer limit ${this.limits.bufferedBytesMax} bytes exceeded`);
    }
  }
}

const EMPTY = Buffer.alloc(0);
