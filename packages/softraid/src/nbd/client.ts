// One client connection to an NBD server: fixed newstyle handshake with
// NBD_OPT_GO (asking for block size constraints), then many requests in
// flight matched to their replies by cookie. Every wait is bounded: the
// connect+handshake by connectTimeoutMs, each request by requestTimeoutMs
// (a request that times out breaks the connection: its late reply could not
// be told apart safely, so every pending request fails and the owner
// reconnects).
import { connect, type Socket } from 'node:net';
import { assert } from '@openbsd38/libutil/assert.js';
import type { Errno } from '@openbsd38/libutil/errors.js';
import { KiB, MiB } from '@openbsd38/libutil/units.js';
import { errnoFromNbdError } from './errno.js';
import { NbdProtocolError } from './parser.js';
import { SimpleReplyParser } from './reply-parser.js';
import {
  IHAVEOPT_HI, IHAVEOPT_LO, NBD_CMD_DISC, NBD_CMD_READ, NBD_CMD_WRITE, NBD_FLAG_C_FIXED_NEWSTYLE,
  NBD_FLAG_C_NO_ZEROES, NBD_FLAG_FIXED_NEWSTYLE, NBD_FLAG_NO_ZEROES, NBD_INFO_BLOCK_SIZE, NBD_INFO_EXPORT,
  NBD_MAGIC_HI, NBD_MAGIC_LO, NBD_OPT_GO, NBD_REP_ACK, NBD_REP_ERR_TLS_REQD, NBD_REP_ERR_UNKNOWN, NBD_REP_INFO,
  OPTION_REPLY_HEADER_BYTES, OPTION_REPLY_MAGIC_HI, OPTION_REPLY_MAGIC_LO, REQUEST_HEADER_BYTES,
  SERVER_GREETING_BYTES, isOptionReplyError,
} from './protocol.js';
import { clientFlags, infoRequestData, option, readUInt64BE, writeRequestHeader } from './serializer.js';

export type NbdAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export interface NbdClientOptions {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  requestsInFlightMax: number;
}

/** An operating error of the NBD client; the chunk backend maps it to ChunkIoError. */
export class NbdClientError extends Error {
  override name = 'NbdClientError';
  constructor(readonly errno: Errno, message: string) {
    super(message);
  }
}

/** Option replies larger than this during the handshake break the connection. */
const OPTION_REPLY_BYTES_MAX = 64 * 1024;
const REPLY_BUFFERED_BYTES_MAX = 64 * MiB;

interface Pending {
  into: Buffer | undefined;
  startedMs: number;
  resolve: () => void;
  reject: (error: NbdClientError) => void;
}

/** Accumulates handshake bytes and hands out exact counts. */
class HandshakeReader {
  private buffered = Buffer.alloc(0);
  private waiter: { bytes: number; resolve: (data: Buffer) => void } | undefined;

  push(chunk: Buffer): void {
    // The handshake is a few small messages: concatenation is fine here, never in transmission.
    this.buffered = Buffer.concat([this.buffered, chunk]);
    this.wake();
  }

  read(bytes: number): Promise<Buffer> {
    assert(this.waiter === undefined, 'HandshakeReader: one read at a time');
    return new Promise((resolve) => {
      this.waiter = { bytes, resolve };
      this.wake();
    });
  }

  rest(): Buffer {
    return this.buffered;
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined || this.buffered.length < waiter.bytes) return;
    this.waiter = undefined;
    const data = this.buffered.subarray(0, waiter.bytes);
    this.buffered = this.buffered.subarray(waiter.bytes);
    waiter.resolve(data);
  }
}

const isPowerOfTwo = (value: number): boolean => value > 0 && (value & (value - 1)) === 0;

/**
 * The spec's block size constraints (doc/proto.md): a server outside them
 * is refused, because the sizes decide how every request is split and
 * aligned (a maximum payload below a sector would split requests into
 * pieces of nothing).
 */
function checkBlockSizes(minimum: number, preferred: number, maximum: number): void {
  const advertised = `block sizes ${minimum}/${preferred}/${maximum}`;
  if (!isPowerOfTwo(minimum) || minimum > 64 * KiB) {
    throw new NbdProtocolError(`${advertised}: minimum block size ${minimum} is not a power of two from 1 to 65536`);
  }
  if (!isPowerOfTwo(preferred) || preferred < Math.max(minimum, 512)) {
    throw new NbdProtocolError(`${advertised}: preferred block size ${preferred} is not a power of two of at least ${Math.max(minimum, 512)}`);
  }
  if (maximum !== 0xffffffff && (maximum % minimum !== 0 || maximum < Math.min(preferred, 32 * MiB))) {
    throw new NbdProtocolError(`${advertised}: maximum payload ${maximum} is not a multiple of ${minimum} of at least ${Math.min(preferred, 32 * MiB)}`);
  }
}

export class NbdClientConnection {
  sizeBytes = 0;
  transmissionFlags = 0;
  blockSizeMinBytes = 1;
  blockSizePreferredBytes = 4096;
  payloadBytesMax = 32 * MiB;
  private readonly pending = new Map<number, Pending>();
  private nextCookie = 1;
  private readonly replies = new SimpleReplyParser(REPLY_BUFFERED_BYTES_MAX);
  private failure: NbdClientError | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly waiters: (() => void)[] = [];

  private constructor(private readonly socket: Socket, private readonly options: NbdClientOptions) {}

  static async connect(address: NbdAddress, exportName: string, options: NbdClientOptions): Promise<NbdClientConnection> {
    const socket = address.kind === 'unix' ? connect(address.path) : connect(address.port, address.host);
    socket.setNoDelay(true);
    const reader = new HandshakeReader();
    const connection = new NbdClientConnection(socket, options);
    let timer: NodeJS.Timeout | undefined;
    const onData = (chunk: Buffer): void => reader.push(chunk);
    socket.on('data', onData);
    const failed = new Promise<never>((_resolve, reject) => {
      socket.once('error', (error: NodeJS.ErrnoException) => reject(new NbdClientError(error.code === 'ETIMEDOUT' ? 'ETIMEDOUT' : 'EIO', `connect failed: ${error.message.replace(/^connect /, '')}`)));
      socket.once('close', () => reject(new NbdClientError('EIO', 'connection closed during the handshake')));
      timer = setTimeout(() => reject(new NbdClientError('ETIMEDOUT', `no handshake within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
    });
    try {
      await Promise.race([connection.handshake(reader, exportName), failed]);
    } catch (error) {
      socket.destroy();
      throw error instanceof NbdProtocolError ? new NbdClientError('EIO', error.message) : error;
    } finally {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
    }
    failed.catch(() => undefined);
    connection.startTransmission(reader.rest());
    return connection;
  }

  get alive(): boolean {
    return this.failure === undefined;
  }

  private async handshake(reader: HandshakeReader, exportName: string): Promise<void> {
    const greeting = await reader.read(SERVER_GREETING_BYTES);
    if (greeting.readUInt32BE(0) !== NBD_MAGIC_HI || greeting.readUInt32BE(4) !== NBD_MAGIC_LO) throw new NbdProtocolError('not an NBD server');
    if (greeting.readUInt32BE(8) !== IHAVEOPT_HI || greeting.readUInt32BE(12) !== IHAVEOPT_LO) throw new NbdProtocolError('server does not speak newstyle');
    const handshakeFlags = greeting.readUInt16BE(16);
    if ((handshakeFlags & NBD_FLAG_FIXED_NEWSTYLE) === 0) throw new NbdProtocolError('server does not speak fixed newstyle');
    const noZeroes = (handshakeFlags & NBD_FLAG_NO_ZEROES) !== 0 ? NBD_FLAG_C_NO_ZEROES : 0;
    this.socket.write(clientFlags(NBD_FLAG_C_FIXED_NEWSTYLE | noZeroes));
    this.socket.write(option(NBD_OPT_GO, infoRequestData(exportName, [NBD_INFO_BLOCK_SIZE])));
    let sawExport = false;
    for (;;) {
      const header = await reader.read(OPTION_REPLY_HEADER_BYTES);
      if (header.readUInt32BE(0) !== OPTION_REPLY_MAGIC_HI || header.readUInt32BE(4) !== OPTION_REPLY_MAGIC_LO) throw new NbdProtocolError('option reply with wrong magic');
      if (header.readUInt32BE(8) !== NBD_OPT_GO) throw new NbdProtocolError('reply to an option not sent');
      const replyType = header.readUInt32BE(12);
      const lengthBytes = header.readUInt32BE(16);
      if (lengthBytes > OPTION_REPLY_BYTES_MAX) throw new NbdProtocolError('option reply too long');
      const data = lengthBytes === 0 ? Buffer.alloc(0) : await reader.read(lengthBytes);
      if (isOptionReplyError(replyType)) {
        const message = data.toString('utf8');
        if (replyType === NBD_REP_ERR_UNKNOWN) throw new NbdClientError('ENOENT', `no export ${JSON.stringify(exportName)}${message ? `: ${message}` : ''}`);
        if (replyType === NBD_REP_ERR_TLS_REQD) throw new NbdClientError('EPERM', 'server requires TLS, which this client does not speak');
        throw new NbdClientError('EIO', `NBD_OPT_GO refused (0x${replyType.toString(16)})${message ? `: ${message}` : ''}`);
      }
      if (replyType === NBD_REP_ACK) break;
      if (replyType !== NBD_REP_INFO || data.length < 2) continue;
      const infoType = data.readUInt16BE(0);
      if (infoType === NBD_INFO_EXPORT && data.length === 12) {
        sawExport = true;
        this.sizeBytes = readUInt64BE(data, 2);
        this.transmissionFlags = data.readUInt16BE(10);
      } else if (infoType === NBD_INFO_BLOCK_SIZE && data.length === 14) {
        const minimum = data.readUInt32BE(2);
        const preferred = data.readUInt32BE(6);
        const maximum = data.readUInt32BE(10);
        checkBlockSizes(minimum, preferred, maximum);
        this.blockSizeMinBytes = minimum;
        this.blockSizePreferredBytes = preferred;
        this.payloadBytesMax = Math.min(maximum, 32 * MiB);
      }
    }
    if (!sawExport) throw new NbdProtocolError('NBD_OPT_GO succeeded without NBD_INFO_EXPORT');
    if (!Number.isSafeInteger(this.sizeBytes)) throw new NbdProtocolError('export size beyond 2^53');
  }

  private startTransmission(rest: Buffer): void {
    this.socket.on('data', this.onData);
    this.socket.on('error', (error) => this.fail(new NbdClientError('EIO', `connection error: ${error.message}`)));
    this.socket.on('close', () => this.fail(new NbdClientError('EIO', 'connection closed by the server')));
    if (rest.length > 0) this.onData(rest);
  }

  private readonly onData = (chunk: Buffer): void => {
    try {
      this.replies.push(chunk);
      for (;;) {
        const reply = this.replies.next((cookieHi, cookieLo) => (cookieHi === 0 ? this.pending.get(cookieLo)?.into : undefined));
        if (reply === undefined) return;
        const request = reply.cookieHi === 0 ? this.pending.get(reply.cookieLo) : undefined;
        if (request === undefined) throw new NbdProtocolError(`reply for unknown cookie ${reply.cookieHi}:${reply.cookieLo}`);
        this.pending.delete(reply.cookieLo);
        if (reply.error === 0) request.resolve();
        else request.reject(new NbdClientError(errnoFromNbdError(reply.error), `server replied error ${reply.error}`));
        this.waiters.shift()?.();
      }
    } catch (error) {
      if (!(error instanceof NbdProtocolError)) throw error;
      this.fail(new NbdClientError('EIO', error.message));
    }
  };

  /** Sends one request; `payload` for WRITE, `into` for READ (filled on success). */
  async request(type: number, flags: number, offsetBytes: number, lengthBytes: number, payload?: Buffer, into?: Buffer): Promise<void> {
    assert(type !== NBD_CMD_WRITE || payload?.length === lengthBytes, 'WRITE payload length');
    assert(type !== NBD_CMD_READ || into?.length === lengthBytes, 'READ buffer length');
    while (this.failure === undefined && this.pending.size >= this.options.requestsInFlightMax) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.failure !== undefined) throw this.failure;
    const cookie = this.nextCookie;
    this.nextCookie = this.nextCookie >= 0xffffffff ? 1 : this.nextCookie + 1;
    const header = Buffer.allocUnsafe(REQUEST_HEADER_BYTES);
    writeRequestHeader(header, 0, type, flags, 0, cookie, offsetBytes, lengthBytes);
    const done = new Promise<void>((resolve, reject) => {
      this.pending.set(cookie, { into, startedMs: Date.now(), resolve, reject });
    });
    this.socket.cork();
    this.socket.write(header);
    if (payload !== undefined && payload.length > 0) this.socket.write(payload);
    this.socket.uncork();
    this.armSweeper();
    return done;
  }

  async close(): Promise<void> {
    if (this.failure === undefined) {
      const header = Buffer.allocUnsafe(REQUEST_HEADER_BYTES);
      writeRequestHeader(header, 0, NBD_CMD_DISC, 0, 0, 0, 0, 0);
      this.socket.end(header);
    }
    this.fail(new NbdClientError('EIO', 'connection closed'));
    if (!this.socket.destroyed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { this.socket.destroy(); resolve(); }, 1000);
        this.socket.once('close', () => { clearTimeout(timer); resolve(); });
      });
    }
  }

  private fail(error: NbdClientError): void {
    if (this.failure === undefined) this.failure = error;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const request of this.pending.values()) request.reject(error);
    this.pending.clear();
    for (const waiter of this.waiters.splice(0)) waiter();
    if (error.errno === 'ETIMEDOUT') this.socket.destroy();
  }

  /** One timer per connection checks the oldest requests, instead of one timer per request. */
  private armSweeper(): void {
    if (this.sweeper !== undefined) return;
    const periodMs = Math.max(10, Math.floor(this.options.requestTimeoutMs / 4));
    this.sweeper = setInterval(() => {
      if (this.pending.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
        return;
      }
      const nowMs = Date.now();
      for (const request of this.pending.values()) {
        if (nowMs - request.startedMs >= this.options.requestTimeoutMs) {
          this.fail(new NbdClientError('ETIMEDOUT', `no reply within ${this.options.requestTimeoutMs} ms`));
          return;
        }
        break; // insertion order: the first is the oldest
      }
    }, periodMs);
    this.sweeper.unref();
  }
}
