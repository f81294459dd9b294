import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { Registry } from 'prom-client';
import { parseCredentials, type HttpCredentials } from './access.js';
import { listenHttp } from './listener.js';
import { StatusStream } from './status-stream.js';
import type { PageAsset } from './page-assets.js';

const assets = new Map<string, PageAsset>([
  ['/', { contentType: 'text/html; charset=utf-8', body: Buffer.from('<!doctype html><title>t</title>') }],
  ['/status-page/main.js', { contentType: 'text/javascript; charset=utf-8', body: Buffer.from('export {};') }],
]);

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with any Host header (fetch would not let a test set it). */
function get(port: number, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { host: `127.0.0.1:${port}`, ...options.headers } }, (response) => {
      let body = '';
      response.on('data', (bytes: Buffer) => { body += bytes.toString(); });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** The first server-sent event of /status/stream, then the connection is dropped. */
function firstEvent(port: number): Promise<{ status: number; event: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, path: '/status/stream', headers: { host: 'localhost' } }, (response) => {
      let text = '';
      response.on('data', (bytes: Buffer) => {
        text += bytes.toString();
        const match = /event: status\ndata: (.*)\n\n/.exec(text);
        if (match) {
          resolve({ status: response.statusCode ?? 0, event: match[1]! });
          outgoing.destroy();
        }
      });
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

async function withListener(credentials: HttpCredentials | null, body: (port: number, stream: StatusStream) => Promise<void>): Promise<void> {
  const registry = new Registry();
  let builds = 0;
  const statusJson = async (): Promise<string> => JSON.stringify({ status_version: 1, build: ++builds });
  const stream = new StatusStream(statusJson, () => {}, 50, 2);
  const { server, address } = await listenHttp('127.0.0.1', 0, { metrics: registry, extraMetrics: () => '# extra\n', statusJson, stream, assets, credentials });
  try {
    await body(Number(address.split(':')[1]), stream);
  } finally {
    stream.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

test('the listener serves the page, its files, status.json, the stream and /metrics; nothing else; read-only', async () => {
  await withListener(null, async (port, stream) => {
    const page = await get(port, '/');
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal((await get(port, '/index.html')).body, page.body);
    assert.equal((await get(port, '/status-page/main.js')).headers['content-type'], 'text/javascript; charset=utf-8');
    const head = await get(port, '/', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');

    const status = await get(port, '/status.json?cache=1');
    assert.equal(status.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal((JSON.parse(status.body) as { status_version: number }).status_version, 1);
    assert.match((await get(port, '/metrics')).body, /# extra\n$/);

    for (const path of ['/status-page/../../etc/passwd', '/static/status.css', '/status-page/main.d.ts', '/metrics/x', '/favicon.ico']) {
      assert.equal((await get(port, path)).status, 404, path);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const refused = await get(port, '/status.json', { method });
      assert.equal(refused.status, 405, method);
      assert.equal(refused.headers.allow, 'GET, HEAD');
    }
    assert.equal((await get(port, '/', { headers: { host: 'attacker.example' } })).status, 403);

    const first = await firstEvent(port);
    assert.equal(first.status, 200);
    assert.equal((JSON.parse(first.event) as { status_version: number }).status_version, 1);
    // At most clientsMax (2 here) streams at once: the third is told to use status.json.
    const held: Array<ReturnType<typeof httpRequest>> = [];
    for (let index = 0; index < 2; index++) {
      await new Promise<void>((resolve) => {
        const outgoing = httpRequest({ host: '127.0.0.1', port, path: '/status/stream', headers: { host: 'localhost' } }, () => resolve());
        outgoing.end();
        held.push(outgoing);
      });
    }
    const deadline = Date.now() + 5000;
    while (stream.clientCount < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    const third = await get(port, '/status/stream');
    assert.equal(third.status, 503);
    assert.match(third.body, /status\.json/);
    for (const outgoing of held) outgoing.destroy();
  });
});

test('with credentials, every path needs them; any Host is fine then', async () => {
  await withListener(parseCredentials('admin:s3cret-enough', 'auth'), async (port) => {
    for (const path of ['/', '/status.json', '/metrics', '/status/stream', '/nothing']) {
      const refused = await get(port, path, { headers: { host: 'nas.example:9797' } });
      assert.equal(refused.status, 401, path);
      assert.match(String(refused.headers['www-authenticate']), /^Basic realm="softraidd"/);
    }
    const authorization = `Basic ${Buffer.from('admin:s3cret-enough').toString('base64')}`;
    assert.equal((await get(port, '/status.json', { headers: { host: 'nas.example:9797', authorization } })).status, 200);
    assert.equal((await get(port, '/metrics', { headers: { authorization: 'Bearer s3cret-enough' } })).status, 200);
  });
});
