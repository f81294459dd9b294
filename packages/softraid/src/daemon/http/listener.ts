// softraidd's HTTP listener, read-only: GET or HEAD only, no request changes
// anything (so there is nothing to forge across sites).
//
//   /                 the status page (static/index.html)
//   /status.css, /status-page/*.js   its files
//   /status.json      the status document (status-document.ts)
//   /status/stream    the same as server-sent events, live
//   /metrics          Prometheus metrics
//
// Every other path is 404, every other method 405. Access (loopback, or
// credentials) is decided for every request by access.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { decideAccess, type HttpCredentials } from './access.js';
import type { PageAsset } from './page-assets.js';
import type { StatusStream } from './status-stream.js';

export interface HttpRoutes {
  metrics: Registry;
  /** Appended to the registry's exposition (the per-volume I/O families). */
  extraMetrics(): string;
  statusJson(): Promise<string>;
  stream: StatusStream;
  assets: ReadonlyMap<string, PageAsset>;
  credentials: HttpCredentials | null;
}

/** The page's only sources are its own files; it may only talk back to this listener. */
const pageHeaders: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

function text(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...pageHeaders, ...headers, 'content-type': 'text/plain; charset=utf-8' }).end(body);
}

function handle(routes: HttpRoutes, request: IncomingMessage, response: ServerResponse): void {
  const access = decideAccess(request, routes.credentials);
  if (!access.allowed) {
    text(response, access.status, access.message, access.headers);
    return;
  }
  const path = (request.url ?? '/').split('?', 1)[0]!;
  const asset = path === '/index.html' ? routes.assets.get('/') : routes.assets.get(path);
  const known = asset !== undefined || path === '/metrics' || path === '/status.json' || path === '/status/stream';
  if (!known) {
    text(response, 404, 'not found: softraidd serves its status page at /, and /metrics\n');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    text(response, 405, 'method not allowed: this listener is read-only\n', { allow: 'GET, HEAD' });
    return;
  }
  const head = request.method === 'HEAD';
  if (asset !== undefined) {
    response.writeHead(200, { ...pageHeaders, 'content-type': asset.contentType, 'content-length': String(asset.body.length) }).end(head ? undefined : asset.body);
    return;
  }
  if (path === '/status/stream') {
    if (head) {
      response.writeHead(200, { ...pageHeaders, 'content-type': 'text/event-stream; charset=utf-8' }).end();
    } else if (!routes.stream.attach(response, pageHeaders)) {
      text(response, 503, 'too many status streams open; /status.json answers without one\n', { 'retry-after': '10' });
    }
    return;
  }
  const body = path === '/metrics'
    ? routes.metrics.metrics().then((exposition) => ({ type: routes.metrics.contentType, text: exposition + routes.extraMetrics() }))
    : routes.statusJson().then((json) => ({ type: 'application/json; charset=utf-8', text: json }));
  body.then(({ type, text: content }) => {
    response.writeHead(200, { ...pageHeaders, 'content-type': type }).end(head ? undefined : content);
  }, (error: unknown) => {
    text(response, 500, `${path.slice(1)} failed: ${(error as Error).message}\n`);
  });
}

export async function listenHttp(host: string, port: number, routes: HttpRoutes): Promise<{ server: Server; address: string }> {
  const server = createServer((request, response) => handle(routes, request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`HTTP listener ${host}:${port}: ${error.code === 'EADDRINUSE' ? 'address already in use (--http or SOFTRAID_HTTP chooses another, off turns it off)' : error.message}`)));
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
  return { server, address: `${host.includes(':') ? `[${host}]` : host}:${boundPort}` };
}
