// One client connection: greeting, option haggling (through Negotiation),
// the optional TLS upgrade, then the transmission phase with many requests
// in flight and replies sent as each completes (out of order, as the spec
// allows). Reading stops while the connection is at its in-flight limits
// (backpressure); nothing is allocated for a request beyond its limits.
//
// Data path (docs/nbd.md, "Data path"): the socket reads into the parser's
// receive buffer or straight into a WRITE's payload (direct-read-socket.ts);
// payloads and READ replies come from the server's BufferPool and go back
// to it once the device or the socket is done with them; a READ reply is
// header and data in one buffer the device reads into; replies completing
// in one turn of the event loop leave in one writev.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { assert } from '@openbsd38/libutil/assert.js';
import { MiB } from '@openbsd38/libutil/units.js';
import type { BlockDevice } from '@openbsd38/bio/block-device.js';
import type { BufferPool } from './buffer-pool.js';
import { withDirectReads } from './direct-read-socket.js';
import type { ExportRegistry } from './export-registry.js';
import type { NbdServerLimits } from './limits.js';
import type { ClientFrame, RequestFrame } from './messages.js';
import { Negotiation, BASE_ALLOCATION_CONTEXT_ID, type Transmission } from './negotiation.js';
import { ClientStreamParser, NbdProtocolError } from './parser.js';
import { checkRequest } from './request-check.js';
import { nbdErrorFromDeviceError } from './errno.js';
import {
  CLIENT_FLAGS_KNOWN, NBD_CMD_BLOCK_STATUS, NBD_CMD_DISC, NBD_CMD_FLAG_FUA, NBD_CMD_FLAG_NO_HOLE, NBD_CMD_FLUSH,
  NBD_CMD_READ, NBD_CMD_TRIM, NBD_CMD_WRITE, NBD_CMD_WRITE_ZEROES, NBD_EINVAL, NBD_ESHUTDOWN, NBD_FLAG_C_NO_ZEROES,
  NBD_FLAG_FIXED_NEWSTYLE, NBD_FLAG_NO_ZEROES,
} from './protocol.js';
import {
  blockStatusReply, readReplyHeaderBytes, serverGreeting, simpleReply, structuredError, structuredNone, writeReadReplyHeader,
} from './serializer.js';

/** Bytes the parser may hold before the connection is considered broken. */
const PARSER_BUFFERED_BYTES_MAX = 4 * MiB;
/** After a clean end, how long the peer has to close before the socket is destroyed. */
const CLOSE_GRACE_MS = 2000;

export interface ServerTls {
  context: SecureContext;
  required: boolean;
  /** Ask for and verify a client certificate against the configured CA. */
  verifyClient: boolean;
}

export interface ConnectionContext {
  registry: ExportRegistry;
  limits: NbdServerLimits;
  /** WRITE payloads and READ replies (shared by the server's connections). */
  pool: BufferPool;
  tls: ServerTls | undefined;
  shuttingDown: () => boolean;
  onClosed: (connection: NbdConnection) => void;
  /** Reports why a client was dropped (tests and the daemon's log). */
  onProtocolError?: (reason: string) => void;
}

export class NbdConnection {
  private socket: Socket;
  private readonly parser: ClientStreamParser;
  private readonly negotiation: Negotiation;
  private session: Transmission | undefined;
  private requestsInFlight = 0;
  private inFlightBytes = 0;
  private optionsSeen = 0;
  /** No more requests are read: DISC, server shutdown or a removed export. */
  private draining = false;
  private pausedByUs = false;
  private corked = false;
  private closed = false;
  private upgrading = false;
  private timer: NodeJS.Timeout | undefined;
  /** The device told that this client is in the middle of sending a request (BlockDevice.plug). */
  private pluggedDevice: BlockDevice | null = null;
  private resolveClosed!: () => void;
  readonly closedPromise = new Promise<void>((resolve) => { this.resolveClosed = resolve; });

  /** @param accepted a socket accepted with pauseOnConnect: nothing has been read from it yet */
  constructor(accepted: Socket, private readonly context: ConnectionContext) {
    this.parser = new ClientStreamParser({
      optionBytesMax: context.limits.optionBytesMax,
      payloadBytesMax: context.limits.payloadBytesMax,
      bufferedBytesMax: PARSER_BUFFERED_BYTES_MAX,
    }, context.pool);
    this.negotiation = new Negotiation({
      registry: context.registry,
      tlsAvailable: context.tls !== undefined,
      tlsRequired: context.tls?.required ?? false,
      payloadBytesMax: context.limits.payloadBytesMax,
      shuttingDown: context.shuttingDown,
    });
    const direct = withDirectReads(accepted, { buffer: this.readTarget, callback: this.onRead });
    const raw = direct ?? accepted;
    this.socket = raw;
    raw.setNoDelay?.(true);
    this.attach(raw);
    if (direct === undefined) {
      raw.on('data', this.onData);
      raw.resume();
    }
    raw.on('close', this.onClose);
    this.timer = setTimeout(() => this.hardDisconnect('handshake timeout'), context.limits.handshakeTimeoutMs);
    raw.write(serverGreeting(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES));
  }

  get inTransmission(): boolean {
    return this.session !== undefined;
  }

  /** The export this client uses, once in transmission. */
  get exportName(): string | null {
    return this.session?.exportName ?? null;
  }

  /** Server shutdown: handshakes are cut, transmissions finish their requests first. */
  shutdown(): void {
    if (this.session === undefined) this.hardDisconnect('server shutting down');
    else this.startDraining();
  }

  private attach(socket: Socket): void {
    socket.on('error', this.onError);
    socket.on('drain', this.pump);
  }

  /** Bytes from 'data' events: the TLS socket, or a Node that cannot read directly. */
  private readonly onData = (chunk: Buffer): void => {
    try {
      this.parser.push(chunk);
    } catch (error) {
      this.protocolFailure(error);
      return;
    }
    this.pump();
  };

  private readonly readTarget = (): Buffer => this.parser.readTarget();

  /** A direct read landed in the target the parser chose. */
  private readonly onRead = (lengthBytes: number, target: Buffer): void => {
    try {
      this.parser.received(target, lengthBytes);
    } catch (error) {
      this.protocolFailure(error);
      return;
    }
    this.pump();
  };

  private readonly onError = (): void => {
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.setPlugged(false);
    this.context.onClosed(this);
    this.resolveClosed();
  };

  private protocolFailure(error: unknown): void {
    if (!(error instanceof NbdProtocolError)) throw error;
    this.hardDisconnect(error.message);
  }

  private hardDisconnect(reason: string): void {
    if (this.closed) return;
    this.context.onProtocolError?.(reason);
    this.socket.destroy();
  }

  /** Reads and handles frames until input runs out or a limit is reached. */
  private readonly pump = (): void => {
    while (!this.closed && !this.draining && !this.upgrading) {
      if (this.session !== undefined && !this.canAdmit()) {
        this.setPaused(true);
        return;
      }
      let frame: ClientFrame | undefined;
      try {
        frame = this.parser.next();
      } catch (error) {
        this.protocolFailure(error);
        return;
      }
      if (frame === undefined) {
        this.setPaused(false);
        this.setPlugged(this.parser.inFrame);
        return;
      }
      this.handle(frame);
    }
  };

  private canAdmit(): boolean {
    const limits = this.context.limits;
    return this.requestsInFlight < limits.requestsInFlightMax
      && this.inFlightBytes < limits.inFlightBytesMax
      && this.socket.writableLength < limits.replyQueueBytesMax;
  }

  /**
   * While a request is half received, its device may hold a partial write
   * for it to complete (the RAID 5 row gatherer); once input runs out at a
   * frame boundary, nothing more is known to be coming.
   */
  private setPlugged(plugged: boolean): void {
    const device = plugged ? this.session?.device ?? null : null;
    if (device === this.pluggedDevice) return;
    this.pluggedDevice?.unplug?.();
    this.pluggedDevice = device;
    device?.plug?.();
  }

  private setPaused(paused: boolean): void {
    if (paused === this.pausedByUs) return;
    this.pausedByUs = paused;
    if (paused) this.socket.pause();
    else this.socket.resume();
  }

  private handle(frame: ClientFrame): void {
    switch (frame.kind) {
      case 'clientFlags':
        if ((frame.flags & ~CLIENT_FLAGS_KNOWN) !== 0) {
          this.hardDisconnect(`unknown client flags 0x${frame.flags.toString(16)}`);
          return;
        }
        this.negotiation.noZeroes = (frame.flags & NBD_FLAG_C_NO_ZEROES) !== 0;
        this.parser.phase = 'option';
        return;
      case 'option':
        this.handleOption(frame);
        return;
      case 'request':
        this.handleRequest(frame);
        return;
    }
  }

  private handleOption(frame: ClientFrame & { kind: 'option' }): void {
    if (++this.optionsSeen > this.context.limits.optionsMax) {
      this.hardDisconnect(`more than ${this.context.limits.optionsMax} options`);
      return;
    }
    const step = this.negotiation.handle(frame, (reply) => this.socket.write(reply));
    switch (step.next) {
      case 'continue':
        return;
      case 'abort':
        this.startDraining();
        return;
      case 'disconnect':
        this.hardDisconnect(step.reason);
        return;
      case 'starttls':
        this.startTls();
        return;
      case 'transmission':
        clearTimeout(this.timer);
        this.session = step.transmission;
        this.parser.phase = 'request';
        return;
    }
  }

  private startTls(): void {
    const tls = this.context.tls;
    assert(tls !== undefined, 'STARTTLS acknowledged without TLS configured');
    if (this.parser.takeRemaining() > 0) {
      this.hardDisconnect('data sent after NBD_OPT_STARTTLS before its reply');
      return;
    }
    const raw = this.socket;
    raw.removeListener('data', this.onData);
    raw.removeListener('drain', this.pump);
    raw.pause();
    this.upgrading = true;
    const secure = new TLSSocket(raw, {
      isServer: true,
      secureContext: tls.context,
      requestCert: tls.verifyClient,
      rejectUnauthorized: tls.verifyClient,
    });
    this.negotiation.tlsActive = true;
    this.socket = secure;
    this.attach(secure);
    secure.on('data', this.onData);
    secure.on('close', this.onClose);
    secure.once('secure', () => {
      this.upgrading = false;
      this.pump();
    });
  }

  private startDraining(): void {
    this.draining = true;
    this.finishIfIdle();
  }

  private finishIfIdle(): void {
    if (!this.draining || this.requestsInFlight > 0 || this.closed) return;
    this.uncork();
    this.socket.end();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
  }

  // ---- transmission ----

  private handleRequest(frame: RequestFrame): void {
    const session = this.session;
    assert(session !== undefined, 'request before transmission');
    if (frame.type === NBD_CMD_DISC) {
      this.startDraining();
      return;
    }
    if (this.context.registry.get(session.exportName) !== session.device || this.context.shuttingDown()) {
      this.send(this.errorReply(frame, NBD_ESHUTDOWN, `export ${session.exportName} is going away`), false);
      this.startDraining();
      return;
    }
    const error = checkRequest(frame, session);
    if (error !== 0) {
      this.send(this.errorReply(frame, error, 'request refused'), false);
      return;
    }
    const bytes = frame.type === NBD_CMD_READ || frame.type === NBD_CMD_WRITE ? frame.lengthBytes : 0;
    this.requestsInFlight++;
    this.inFlightBytes += bytes;
    void this.serve(frame, session, bytes);
  }

  private async serve(frame: RequestFrame, session: Transmission, bytes: number): Promise<void> {
    let reply: Buffer;
    let pooled = false;
    try {
      if (frame.type === NBD_CMD_READ && frame.lengthBytes > 0) {
        reply = await this.read(frame, session);
        pooled = true;
      } else {
        reply = await this.execute(frame, session);
      }
    } catch (error) {
      reply = this.errorReply(frame, nbdErrorFromDeviceError(error), error instanceof Error ? error.message : 'I/O error');
    } finally {
      this.requestsInFlight--;
      this.inFlightBytes -= bytes;
    }
    this.send(reply, pooled);
    if (this.draining) this.finishIfIdle();
    else if (this.pausedByUs) this.pump();
  }

  /** A READ into a pooled reply buffer; on failure the buffer is dropped, not reused. */
  private async read(frame: RequestFrame, session: Transmission): Promise<Buffer> {
    const headerBytes = readReplyHeaderBytes(session.structuredReplies);
    const reply = this.context.pool.acquire(headerBytes + frame.lengthBytes);
    writeReadReplyHeader(reply, session.structuredReplies, frame.cookieHi, frame.cookieLo, frame.offsetBytes, frame.lengthBytes);
    await session.device.read(frame.offsetBytes, reply.subarray(headerBytes));
    return reply;
  }

  private async execute(frame: RequestFrame, session: Transmission): Promise<Buffer> {
    const { device } = session;
    const fua = (frame.flags & NBD_CMD_FLAG_FUA) !== 0;
    switch (frame.type) {
      case NBD_CMD_READ:
        assert(frame.lengthBytes === 0, 'READ with data outside read()');
        return this.okReply(frame);
      case NBD_CMD_WRITE: {
        const payload = frame.payload;
        assert(payload !== undefined && payload.length === frame.lengthBytes, 'WRITE without its payload');
        if (frame.lengthBytes === 0) return this.okReply(frame);
        await device.write(frame.offsetBytes, payload, { fua });
        // The device is done with it (on failure it is dropped instead: a sub-I/O might still hold it).
        this.context.pool.release(payload);
        return this.okReply(frame);
      }
      case NBD_CMD_FLUSH:
        await device.flush();
        return this.okReply(frame);
      case NBD_CMD_TRIM:
        await this.inPieces(frame, session, (offsetBytes, lengthBytes) => device.trim(offsetBytes, lengthBytes));
        if (fua) await device.flush();
        return this.okReply(frame);
      case NBD_CMD_WRITE_ZEROES: {
        const mayTrim = (frame.flags & NBD_CMD_FLAG_NO_HOLE) === 0;
        await this.inPieces(frame, session, (offsetBytes, lengthBytes) => device.writeZeroes(offsetBytes, lengthBytes, { fua, mayTrim }));
        return this.okReply(frame);
      }
      case NBD_CMD_BLOCK_STATUS: {
        if (frame.lengthBytes === 0) return this.errorReply(frame, NBD_EINVAL, 'empty block status request');
        // The device has no allocation map: one extent, allocated, contents unknown.
        return blockStatusReply(frame.cookieHi, frame.cookieLo, BASE_ALLOCATION_CONTEXT_ID, [{ lengthBytes: frame.lengthBytes, statusFlags: 0 }]);
      }
      default:
        return this.errorReply(frame, NBD_EINVAL, `command ${frame.type} is not supported`);
    }
  }

  /** TRIM and WRITE_ZEROES may exceed the device's request limit: split them, in order. */
  private async inPieces(frame: RequestFrame, session: Transmission, operation: (offsetBytes: number, lengthBytes: number) => Promise<void>): Promise<void> {
    const pieceBytesMax = session.info.payloadBytesMax;
    for (let done = 0; done < frame.lengthBytes;) {
      const lengthBytes = Math.min(pieceBytesMax, frame.lengthBytes - done);
      await operation(frame.offsetBytes + done, lengthBytes);
      done += lengthBytes;
    }
  }

  private okReply(frame: RequestFrame): Buffer {
    // Without a payload a simple reply is allowed even with structured replies (never for READ).
    if (this.session?.structuredReplies && frame.type === NBD_CMD_READ) return structuredNone(frame.cookieHi, frame.cookieLo);
    return simpleReply(0, frame.cookieHi, frame.cookieLo);
  }

  private errorReply(frame: RequestFrame, error: number, message: string): Buffer {
    if (this.session?.structuredReplies) return structuredError(frame.cookieHi, frame.cookieLo, error, message.slice(0, 1024));
    return simpleReply(error, frame.cookieHi, frame.cookieLo);
  }

  /**
   * Replies completing in the same turn of the event loop leave in one
   * writev. A pooled reply goes back to the pool once the socket wrote it.
   */
  private send(reply: Buffer, pooled: boolean): void {
    if (this.closed || this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.uncork);
    }
    if (pooled) this.socket.write(reply, (error) => { if (error == null) this.context.pool.release(reply); });
    else this.socket.write(reply);
  }

  private readonly uncork = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  };
}
