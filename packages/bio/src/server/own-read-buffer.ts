// An accepted connection whose bytes are read into one buffer of its own.
//
// By default Node reads a socket into a fresh 64 KiB allocation and, when
// fewer bytes came, copies them into one of the right size and frees the
// 64 KiB without zeroing it: a passphrase in a control request would stay in
// freed memory whatever the daemon zeroes. With `onread` (net.Socket's
// option) libuv reads straight into the buffer given, which the caller zeroes
// after each read. Node has the option for sockets it connects, not for the
// ones a server accepts, so the accepted connection's handle (accepted with
// pauseOnConnect: nothing was read yet) moves to a Socket made with it. This
// leans on net.Socket's `_handle` and its `handle` option, which Node 20
// does not document: the control socket's tests exercise it, and
// tests/e2e/secrets-in-memory.test.ts reads the daemon's memory for a
// passphrase.
import { Socket } from 'node:net';
import { assert } from '@openbsd38/libutil/assert.js';

interface HandleHolder {
  _handle: object | null;
}

/**
 * The same connection as `accepted` (which is destroyed, without closing the
 * connection), reading into `buffer`: `onBytes` gets a view of each read's
 * bytes, valid until it returns.
 */
export function adoptWithOwnReadBuffer(accepted: Socket, buffer: Uint8Array, onBytes: (bytes: Uint8Array) => void): Socket {
  const holder = accepted as unknown as HandleHolder;
  const handle = holder._handle;
  assert(handle !== null && typeof handle === 'object', 'adoptWithOwnReadBuffer: the accepted socket has no handle');
  assert((handle as { reading?: boolean }).reading !== true, 'adoptWithOwnReadBuffer: the server must accept with pauseOnConnect');
  holder._handle = null;
  accepted.destroy();
  const options = {
    handle, readable: true, writable: true, allowHalfOpen: false,
    onread: { buffer, callback: (bytes: number): boolean => { onBytes(buffer.subarray(0, bytes)); return true; } },
  };
  return new Socket(options as ConstructorParameters<typeof Socket>[0]);
}
