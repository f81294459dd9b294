// bioctl's side of the control socket: connect, send one request at a time,
// wait for the reply with the same id. Node-specific (node:net).
import { createConnection, type Socket } from 'node:net';
import { ControlProtocolError } from './errors.js';
import { decodeResponse, type RequestBody, type Response } from './messages.js';
import { FrameParser } from './parser.js';
import { frameBodyBytesMax, frameHeaderBytes } from './protocol.js';
import { encodeRequest } from './serializer.js';

/** Connecting failed: carries the errno code (EACCES, ENOENT, ECONNREFUSED ...) for err(3)-style messages. */
export class ControlConnectError extends Error {
  override name = 'ControlConnectError';
  constructor(readonly socketPath: string, readonly code: string, message: string) {
    super(message);
  }
}

/** How long bioctl waits for a reply (create over slow disks may take a while). */
export const replyTimeoutMilliseconds = 10 * 60 * 1000;

export class ControlClient {
  private readonly parser = new FrameParser();
  private nextId = 1;
  private waiting: { id: number; resolve: (response: Response) => void; reject: (error: Error) => void } | undefined;
  private closedError: Error | undefined;

  /** No reply frame has been read yet: the first bytes tell whether this is softraidd at all. */
  private firstBytes = true;

  private constructor(private readonly socket: Socket, private readonly socketPath: string) {
    socket.on('data', (bytes: Buffer) => this.onData(bytes));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new ControlProtocolError('softraidd closed the connection')));
  }

  static connect(socketPath: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path: socketPath });
      const onError = (error: NodeJS.ErrnoException): void => {
        reject(new ControlConnectError(socketPath, error.code ?? 'EIO', error.message));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new ControlClient(socket, socketPath));
      });
    });
  }

  request(body: RequestBody): Promise<Response> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.waiting) return Promise.reject(new Error('one request at a time'));
    const id = this.nextId++;
    return new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new ControlProtocolError('no reply from softraidd')), replyTimeoutMilliseconds);
      this.waiting = {
        id,
        resolve: (response) => { clearTimeout(timer); resolve(response); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      };
      const frame = encodeRequest(id, body);
      // The frame may hold a passphrase: zeroed once the socket is done with it.
      this.socket.write(frame, () => frame.fill(0));
    });
  }

  close(): void {
    this.closedError ??= new ControlProtocolError('connection closed');
    this.socket.destroy();
  }

  private onData(bytes: Buffer): void {
    if (this.firstBytes) {
      this.firstBytes = false;
      const problem = notControlReply(bytes);
      if (problem !== null) {
        this.fail(new ControlProtocolError(`${this.socketPath} is not softraidd's control socket: ${problem}`));
        return;
      }
    }
    try {
      for (const body of this.parser.push(bytes)) {
        const response = decodeResponse(body);
        const waiting = this.waiting;
        if (!waiting || waiting.id !== response.id) throw new ControlProtocolError(`unexpected reply id ${response.id}`);
        this.waiting = undefined;
        waiting.resolve(response);
      }
    } catch (error) {
      if (!(error instanceof ControlProtocolError)) throw error;
      this.fail(error);
    }
  }

  private fail(error: Error): void {
    this.closedError ??= error;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
    this.socket.destroy();
  }
}

/**
 * What a peer that is not softraidd sent first, in words, or null when the
 * bytes may begin a control reply (a length no larger than a frame may be).
 */
export function notControlReply(bytes: Uint8Array): string | null {
  const ascii = new TextDecoder('latin1').decode(bytes.subarray(0, 8));
  if (ascii === 'NBDMAGIC') return 'it speaks NBD (it is an NBD export socket; bioctl talks to the control socket, SOFTRAID_SOCKET)';
  if (ascii.startsWith('HTTP/')) return 'it speaks HTTP';
  if (bytes.length >= frameHeaderBytes) {
    const length = new DataView(bytes.buffer, bytes.byteOffset, frameHeaderBytes).getUint32(0, false);
    if (length > frameBodyBytesMax) return `its first bytes (${JSON.stringify(ascii.replace(/[^\x20-\x7e]/g, '.'))}) are no control reply`;
  }
  return null;
}
