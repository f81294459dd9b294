// The control socket: a Unix socket created mode 0600 (only its owner —
// root for the system daemon — may manage volumes), one request at a time
// per connection, answered in order. A malformed frame or message is
// answered with an error (when its id can be read) and the connection closed.
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync } from 'node:fs';
import { secretBytes } from '@openbsd38/libutil/secret-bytes.js';
import { ControlProtocolError } from '../control/errors.js';
import { decodeRequest, peekRequestId } from '../control/messages.js';
import { FrameParser } from '../control/parser.js';
import { connectionsMax, requestTimeoutMsDefault } from '../control/protocol.js';
import { encodeResponse } from '../control/serializer.js';
import type { RequestHandler } from './handler.js';
import { adoptWithOwnReadBuffer } from './own-read-buffer.js';

/** Requests a client may queue on one connection before it is cut off. */
export const requestsQueuedPerConnectionMax = 16;

/** Each connection's read buffer (own-read-buffer.ts), zeroed after every read. */
const readBufferBytes = 64 * 1024;

export class ControlServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly handler: RequestHandler, private readonly controllerName: string, private readonly log: (line: string) => void,
    private readonly options: { requestTimeoutMs: number; nbdAddress: string } = { requestTimeoutMs: requestTimeoutMsDefault, nbdAddress: 'the NBD socket' }) {
    // Paused: a connection's first read goes to a buffer of its own (own-read-buffer.ts).
    this.server = createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
  }

  async listen(path: string): Promise<void> {
    const previousUmask = process.umask(0o177); // the socket is born 0600: no window for others
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(path, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(previousUmask);
    }
    chmodSync(path, 0o600);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private accept(accepted: Socket): void {
    if (this.sockets.size >= connectionsMax) {
      this.log(`control: connection limit ${connectionsMax} reached, connection refused`);
      accepted.destroy();
      return;
    }
    // Every read lands in this buffer, and is zeroed once the parser has copied it: the bytes may hold a passphrase.
    const readBuffer = secretBytes(readBufferBytes);
    let onBytes: (bytes: Uint8Array) => void = () => undefined;
    const socket = adoptWithOwnReadBuffer(accepted, readBuffer, (bytes) => {
      try {
        onBytes(bytes);
      } finally {
        bytes.fill(0);
      }
    });
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const parser = new FrameParser();
    const queue: Uint8Array[] = [];
    let busy = false;
    let framesSeen = 0;

    const protocolError = (error: ControlProtocolError, id: number | undefined): void => {
      this.log(`control: protocol error: ${error.message}`);
      const reply = encodeResponse(id ?? 0, { controller: this.controllerName, status: 'error', messages: [{ type: 'error', text: `protocol error: ${error.message}` }] });
      // The reply is sent, then the connection is gone, whether or not the peer closes its side.
      socket.end(reply, () => socket.destroy());
      queue.length = 0;
      clearTimeout(timer);
    };

    // A client that says nothing (an NBD client waiting for a greeting, a stuck script) is closed after the time limit.
    let timer: NodeJS.Timeout | undefined;
    const seconds = Math.round(this.options.requestTimeoutMs / 100) / 10;
    const armTimer = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const first = framesSeen === 0;
        this.log(`control: ${first ? 'a client sent no request' : 'a client sent nothing more'} in ${seconds} s, connection closed`);
        protocolError(new ControlProtocolError(`no request in ${seconds} s: this is softraidd's control socket, where bioctl connects; `
          + `NBD clients connect to ${this.options.nbdAddress}`), undefined);
      }, this.options.requestTimeoutMs);
    };
    armTimer();
    socket.on('close', () => clearTimeout(timer));

    const work = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      while (queue.length > 0 && !socket.destroyed) {
        const body = queue.shift()!;
        let request;
        try {
          request = decodeRequest(body);
        } catch (error) {
          if (!(error instanceof ControlProtocolError)) throw error;
          const id = peekRequestId(body);
          body.fill(0);
          protocolError(error, id);
          break;
        }
        // The frame may hold a passphrase: its bytes go as soon as the request is parsed.
        body.fill(0);
        const reply = await this.handler.handle(request);
        let frame: Uint8Array;
        try {
          frame = encodeResponse(request.id, reply.bioStatus, reply.result);
        } catch (error) {
          if (!(error instanceof ControlProtocolError)) throw error;
          frame = encodeResponse(request.id, { controller: this.controllerName, status: 'error', messages: [{ type: 'error', text: error.message }] });
        }
        if (!socket.destroyed) socket.write(frame);
      }
      busy = false;
      if (!socket.destroyed) armTimer();
    };

    onBytes = (bytes) => {
      let frames: Uint8Array[];
      try {
        frames = parser.push(bytes);
      } catch (error) {
        if (!(error instanceof ControlProtocolError)) throw error;
        protocolError(framesSeen > 0 ? error : new ControlProtocolError(`${error.message}: not a softraidd control request `
          + `(this is softraidd's control socket, where bioctl connects; NBD clients connect to ${this.options.nbdAddress})`), undefined);
        return;
      }
      framesSeen += frames.length;
      if (frames.length > 0 || busy) clearTimeout(timer);
      else armTimer();
      queue.push(...frames);
      if (queue.length > requestsQueuedPerConnectionMax) {
        protocolError(new ControlProtocolError(`more than ${requestsQueuedPerConnectionMax} requests queued`), undefined);
        return;
      }
      // A rejected promise here is a bug (an assertion): let it crash the daemon.
      work().catch((error: unknown) => process.nextTick(() => { throw error; }));
    };
  }
}
