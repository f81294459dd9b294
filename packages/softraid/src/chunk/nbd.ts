// A chunk that is an NBD export: `nbd://host[:port]/export` or
// `nbd+unix:///export?socket=PATH` (the NBD project's doc/uri.md). Every wait
// is bounded, so an unreachable member fails with ChunkIoError (ETIMEDOUT or
// EIO) and the engine marks it Offline instead of hanging:
//   - connect + handshake: connectTimeoutMs per attempt;
//   - each request: requestTimeoutMs, after which the connection is dropped;
//   - after a lost connection, the next operation reconnects, at most
//     reconnectAttemptsMax times, reconnectDelayMs apart; an operation that
//     was in flight when the connection broke is not retried (the engine
//     decides what a failed write means).
// docs/nbd.md documents the defaults.
import { resolve as resolvePath } from 'node:path';
import { assert } from '@openbsd38/libutil/assert.js';
import { ChunkIoError, type ChunkOperation } from '../engine/errors.js';
import type { ChunkBackend } from '../engine/chunk.js';
import { NbdClientConnection, NbdClientError, type NbdAddress, type NbdClientOptions } from '../nbd/client.js';
import {
  NBD_CMD_FLUSH, NBD_CMD_READ, NBD_CMD_TRIM, NBD_CMD_WRITE, NBD_DEFAULT_PORT, NBD_FLAG_READ_ONLY,
  NBD_FLAG_SEND_FLUSH, NBD_FLAG_SEND_TRIM,
} from '../nbd/protocol.js';

export interface NbdUri {
  address: NbdAddress;
  exportName: string;
  /** The one spelling of this export: the chunk's identity. */
  canonical: string;
}

export interface NbdChunkOptions extends NbdClientOptions {
  reconnectAttemptsMax: number;
  reconnectDelayMs: number;
}

export const NBD_CHUNK_DEFAULTS: NbdChunkOptions = {
  connectTimeoutMs: 5000,
  requestTimeoutMs: 30_000,
  requestsInFlightMax: 64,
  reconnectAttemptsMax: 3,
  reconnectDelayMs: 200,
};

export function isNbdUri(name: string): boolean {
  return /^nbds?(\+unix)?:\/\//.test(name);
}

/** Parses an NBD URI; throws a plain Error describing what is wrong. */
export function parseNbdUri(text: string): NbdUri {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${text}: not a URI`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'nbds' || scheme === 'nbds+unix') throw new Error(`${text}: TLS (${scheme}) is not supported by the NBD chunk client`);
  if (scheme !== 'nbd' && scheme !== 'nbd+unix') throw new Error(`${text}: not an nbd:// or nbd+unix:// URI`);
  if (url.username !== '' || url.password !== '') throw new Error(`${text}: user information is not supported`);
  const exportName = decodeURIComponent(url.pathname.startsWith('/') ? url.pathname.slice(1) : url.pathname);
  const parameters = [...url.searchParams.keys()];
  if (scheme === 'nbd+unix') {
    const socket = url.searchParams.get('socket');
    if (socket === null || socket === '') throw new Error(`${text}: nbd+unix needs ?socket=PATH`);
    if (url.host !== '') throw new Error(`${text}: nbd+unix takes no host`);
    const unknown = parameters.filter((key) => key !== 'socket');
    if (unknown.length > 0) throw new Error(`${text}: unknown parameter ${unknown[0]}`);
    const path = resolvePath(socket);
    return {
      address: { kind: 'unix', path },
      exportName,
      canonical: `nbd+unix:///${encodeURIComponent(exportName)}?socket=${encodeURIComponent(path)}`,
    };
  }
  if (parameters.length > 0) throw new Error(`${text}: unknown parameter ${parameters[0]}`);
  if (url.hostname === '') throw new Error(`${text}: nbd:// needs a host`);
  const port = url.port === '' ? NBD_DEFAULT_PORT : Number(url.port);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const hostText = host.includes(':') ? `[${host}]` : host.toLowerCase();
  return {
    address: { kind: 'tcp', host, port },
    exportName,
    canonical: `nbd://${hostText}:${port}/${encodeURIComponent(exportName)}`,
  };
}

export class NbdChunk implements ChunkBackend {
  readonly identity: string;
  readonly sizeBytes: number;
  readonly sectorSizeBytes: number;
  private connection: NbdClientConnection | undefined;
  private connecting: Promise<NbdClientConnection> | undefined;
  private closed = false;

  private constructor(readonly name: string, private readonly uri: NbdUri, private readonly options: NbdChunkOptions, first: NbdClientConnection) {
    this.identity = uri.canonical;
    this.connection = first;
    this.sizeBytes = first.sizeBytes;
    this.sectorSizeBytes = Math.max(512, first.blockSizeMinBytes);
  }

  /** Connects to the export; an unreachable or unknown export rejects with ChunkIoError('open'). */
  static async open(name: string, options: Partial<NbdChunkOptions> = {}): Promise<NbdChunk> {
    const resolved = { ...NBD_CHUNK_DEFAULTS, ...options };
    let uri: NbdUri;
    try {
      uri = parseNbdUri(name);
    } catch (error) {
      throw new ChunkIoError('open', name, 0, 0, 'EINVAL', (error as Error).message);
    }
    const first = await connectWithRetries(name, uri, resolved, 'open');
    return new NbdChunk(name, uri, resolved, first);
  }

  async read(buffer: Uint8Array, offsetBytes: number): Promise<void> {
    const into = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    await this.inPieces('read', offsetBytes, buffer.length, (connection, at, length) =>
      connection.request(NBD_CMD_READ, 0, offsetBytes + at, length, undefined, into.subarray(at, at + length)));
  }

  async write(buffer: Uint8Array, offsetBytes: number): Promise<void> {
    const data = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    await this.inPieces('write', offsetBytes, buffer.length, (connection, at, length) => {
      if ((connection.transmissionFlags & NBD_FLAG_READ_ONLY) !== 0) throw new NbdClientError('EPERM', 'export is read-only');
      return connection.request(NBD_CMD_WRITE, 0, offsetBytes + at, length, data.subarray(at, at + length));
    });
  }

  async flush(): Promise<void> {
    await this.operate('flush', 0, 0, async (connection) => {
      if ((connection.transmissionFlags & NBD_FLAG_SEND_FLUSH) !== 0) await connection.request(NBD_CMD_FLUSH, 0, 0, 0);
    });
  }

  async trim(offsetBytes: number, lengthBytes: number): Promise<void> {
    await this.inPieces('trim', offsetBytes, lengthBytes, async (connection, at, length) => {
      // Trim is advisory: a server that does not offer it has nothing to discard.
      if ((connection.transmissionFlags & NBD_FLAG_SEND_TRIM) !== 0) await connection.request(NBD_CMD_TRIM, 0, offsetBytes + at, length);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close();
  }

  /** Splits a request at the server's maximum payload; the pieces run in parallel. */
  private async inPieces(operation: ChunkOperation, offsetBytes: number, lengthBytes: number, piece: (connection: NbdClientConnection, atBytes: number, lengthBytes: number) => Promise<void>): Promise<void> {
    assert(Number.isSafeInteger(offsetBytes) && offsetBytes >= 0 && offsetBytes + lengthBytes <= this.sizeBytes,
      `${this.name}: ${operation} out of range: ${offsetBytes}+${lengthBytes} > ${this.sizeBytes}`);
    await this.operate(operation, offsetBytes, lengthBytes, async (connection) => {
      const pieceBytesMax = connection.payloadBytesMax - (connection.payloadBytesMax % this.sectorSizeBytes);
      // The handshake refuses block sizes that could make this 0 (client.ts, checkBlockSizes).
      assert(pieceBytesMax > 0, `${this.name}: maximum payload ${connection.payloadBytesMax} below a sector of ${this.sectorSizeBytes}`);
      if (lengthBytes <= pieceBytesMax) {
        await piece(connection, 0, lengthBytes);
        return;
      }
      const pieces: Promise<void>[] = [];
      for (let at = 0; at < lengthBytes; at += pieceBytesMax) pieces.push(piece(connection, at, Math.min(pieceBytesMax, lengthBytes - at)));
      await Promise.all(pieces);
    });
  }

  private async operate(operation: ChunkOperation, offsetBytes: number, lengthBytes: number, body: (connection: NbdClientConnection) => Promise<void>): Promise<void> {
    assert(!this.closed, `${this.name}: I/O after close`);
    try {
      await body(await this.live(operation));
    } catch (error) {
      if (error instanceof ChunkIoError) throw new ChunkIoError(operation, this.name, offsetBytes, lengthBytes, error.errno, error.message);
      if (error instanceof NbdClientError) throw new ChunkIoError(operation, this.name, offsetBytes, lengthBytes, error.errno, error.message);
      throw error;
    }
  }

  private async live(operation: ChunkOperation): Promise<NbdClientConnection> {
    if (this.connection?.alive) return this.connection;
    if (this.connecting === undefined) {
      const previous = this.connection;
      this.connection = undefined;
      void previous?.close();
      this.connecting = connectWithRetries(this.name, this.uri, this.options, operation).finally(() => { this.connecting = undefined; });
      this.connection = await this.connecting;
      return this.connection;
    }
    return this.connecting;
  }
}

async function connectWithRetries(name: string, uri: NbdUri, options: NbdChunkOptions, operation: ChunkOperation): Promise<NbdClientConnection> {
  let last: NbdClientError | undefined;
  for (let attempt = 0; attempt < Math.max(1, options.reconnectAttemptsMax); attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, options.reconnectDelayMs));
    try {
      return await NbdClientConnection.connect(uri.address, uri.exportName, options);
    } catch (error) {
      if (!(error instanceof NbdClientError)) throw error;
      last = error;
      // An export the server does not have will not appear by retrying at once.
      if (error.errno === 'ENOENT' || error.errno === 'EPERM') break;
    }
  }
  assert(last !== undefined, 'connectWithRetries without an attempt');
  throw new ChunkIoError(operation, name, 0, 0, last.errno === 'ETIMEDOUT' ? 'ETIMEDOUT' : last.errno === 'ENOENT' ? 'ENOENT' : 'EIO', last.message);
}
