// Node reads a socket into a fresh 64 KiB buffer per read and hands it out
// in 'data' events; the parser then copies WRITE payloads out of those
// chunks. A net.Socket created with `onread: { buffer: () => target,
// callback }` (documented for net.Socket and net.connect) instead reads into
// whatever memory the buffer function returns after each read: the parser's
// receive buffer, or the very buffer a large WRITE payload goes to the device
// in. net.Server creates its sockets without that option, so the accepted
// handle is moved into a new net.Socket that has it. That relies on
// `socket._handle` and the `handle` constructor option, which net.Server
// itself uses but which are not documented: when they are missing, the
// caller keeps the accepted socket and its 'data' events.
import { Socket, type SocketConstructorOpts } from 'node:net';

export interface DirectReads {
  /** Where the next read lands; called once at the start and after every read. Must not throw. */
  buffer: () => Buffer;
  /** `lengthBytes` arrived at the start of `target`. */
  callback: (lengthBytes: number, target: Buffer) => void;
}

interface WithHandle {
  _handle: object | null;
}

/**
 * A socket reading through `reads`, taking over the handle of `accepted`
 * (accepted with pauseOnConnect, so nothing was read yet); undefined when
 * this Node cannot do it, and `accepted` is untouched.
 */
export function withDirectReads(accepted: Socket, reads: DirectReads): Socket | undefined {
  const holder = accepted as unknown as WithHandle;
  const handle = holder._handle;
  if (handle === null || typeof handle !== 'object' || !('readStart' in handle) || !('useUserBuffer' in handle)) return undefined;
  holder._handle = null;
  // With no handle left, destroy() only releases the server's count of this connection.
  accepted.destroy();
  const options = {
    handle,
    readable: true,
    writable: true,
    onread: { buffer: reads.buffer, callback: reads.callback },
  } as unknown as SocketConstructorOpts;
  return new Socket(options);
}
