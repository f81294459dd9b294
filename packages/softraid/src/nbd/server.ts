// The NBD server: listeners (Unix socket by default, TCP on loopback unless
// another address is given), the connection limit, TLS configuration and an
// orderly close. Everything per connection lives in connection.ts.
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import { lstat, unlink } from 'node:fs/promises';
import { assert } from '@openbsd38/libutil/assert.js';
import type { ExportRegistry } from './export-registry.js';
import { resolveLimits, type NbdServerLimits } from './limits.js';
import { BufferPool } from './buffer-pool.js';
import { NbdConnection, type ServerTls } from './connection.js';

export interface NbdServerTlsOptions {
  /** PEM private key and certificate of the server. */
  key: string | Buffer;
  cert: string | Buffer;
  /** PEM CA: when given, clients must present a certificate it signed. */
  ca?: string | Buffer;
  /** FORCEDTLS: every option but STARTTLS (and ABORT) is refused before TLS. */
  required: boolean;
}

export interface NbdServerOptions {
  exports: ExportRegistry;
  limits?: Partial<NbdServerLimits>;
  tls?: NbdServerTlsOptions;
  /** Called with the reason whenever a client is dropped for breaking the protocol. */
  onProtocolError?: (reason: string) => void;
}

export class NbdServer {
  readonly limits: NbdServerLimits;
  private readonly listeners: Server[] = [];
  private readonly connections = new Set<NbdConnection>();
  private readonly tls: ServerTls | undefined;
  private readonly pool: BufferPool;
  private closing = false;

  constructor(private readonly options: NbdServerOptions) {
    this.limits = resolveLimits(options.limits);
    this.pool = new BufferPool(this.limits.bufferPoolBytesMax);
    const tls = options.tls;
    this.tls = tls === undefined ? undefined : {
      context: createSecureContext({ key: tls.key, cert: tls.cert, ...(tls.ca === undefined ? {} : { ca: tls.ca }) }),
      required: tls.required,
      verifyClient: tls.ca !== undefined,
    };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Clients in transmission on an export (bioctl -d refuses to pull a volume from under them). */
  clientsOf(exportName: string): number {
    let count = 0;
    for (const connection of this.connections) if (connection.exportName === exportName) count++;
    return count;
  }

  /** Listens on a Unix socket; a stale socket file left by a previous run is replaced. */
  async listenUnix(path: string): Promise<void> {
    const existing = await lstat(path).catch(() => undefined);
    if (existing !== undefined) {
      assert(existing.isSocket(), `${path} exists and is not a socket`);
      await unlink(path);
    }
    await this.listen((server, done) => server.listen(path, done));
  }

  /** Listens on TCP, loopback unless a host is given; port 0 picks a free port. Returns the port. */
  async listenTcp(options: { host?: string; port: number }): Promise<number> {
    const server = await this.listen((listener, done) => listener.listen(options.port, options.host ?? '127.0.0.1', done));
    const address = server.address();
    assert(address !== null && typeof address === 'object', 'TCP listener without an address');
    return address.port;
  }

  /** Stops listening, lets requests in flight finish, then disconnects every client. */
  async close(): Promise<void> {
    this.closing = true;
    const stopped = this.listeners.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    const connections = [...this.connections];
    for (const connection of connections) connection.shutdown();
    await Promise.all([...stopped, ...connections.map((connection) => connection.closedPromise)]);
  }

  private async listen(start: (server: Server, done: () => void) => void): Promise<Server> {
    assert(!this.closing, 'NbdServer: listen after close');
    // pauseOnConnect: nothing is read before the connection takes the socket over (direct-read-socket.ts).
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      start(server, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    this.listeners.push(server);
    return server;
  }

  private accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    if (this.closing || this.connections.size >= this.limits.connectionsMax) {
      this.options.onProtocolError?.(this.closing ? 'server closing' : `connection limit ${this.limits.connectionsMax} reached`);
      socket.destroy();
      return;
    }
    const connection = new NbdConnection(socket, {
      registry: this.options.exports,
      limits: this.limits,
      pool: this.pool,
      tls: this.tls,
      shuttingDown: () => this.closing,
      onClosed: (closed) => this.connections.delete(closed),
      ...(this.options.onProtocolError === undefined ? {} : { onProtocolError: this.options.onProtocolError }),
    });
    this.connections.add(connection);
  }
}
