// Who may read softraidd's status page, with the real program: another
// address than loopback is refused at start without credentials, a
// credentials file others may read is refused, and with a private one every
// request needs basic auth or the bearer token; a loopback listener refuses
// a foreign Host header (DNS rebinding).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { softraiddPath, startSoftraidd, workspace } from '../../src/daemon/testing/softraidd-process.js';

const space = workspace('status-access');
after(() => space.remove());

function softraiddExits(args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [softraiddPath, ...args], { env: { ...process.env, ...space.env }, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stderr: result.stderr };
}

function get(port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, path, headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

test('status page access: refused off loopback without credentials; private credentials then required on every request', async () => {
  const refused = softraiddExits(['--http', '0.0.0.0:0']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^softraidd: --http 0\.0\.0\.0:0 is not a loopback address: serving the status page and metrics there needs --http-auth FILE/);

  const credentials = join(space.directory, 'http-auth');
  writeFileSync(credentials, 'admin:correct-horse-battery\n', { mode: 0o644 });
  const readable = softraiddExits(['--http', '0.0.0.0:0', '--http-auth', credentials]);
  assert.equal(readable.status, 1);
  assert.match(readable.stderr, /http-auth: mode 0644 lets others read it; chmod 600 it/);

  writeFileSync(credentials, 'admin:correct-horse-battery\n', { mode: 0o600 });
  chmodSync(credentials, 0o600);
  const daemon = await startSoftraidd(space, ['--http', '0.0.0.0:0', '--http-auth', credentials]);
  try {
    const port = Number(/HTTP 0\.0\.0\.0:(\d+)/.exec(daemon.log())?.[1]);
    assert.ok(port > 0, daemon.log());
    const basic = `Basic ${Buffer.from('admin:correct-horse-battery').toString('base64')}`;
    for (const path of ['/', '/status.json', '/metrics']) {
      assert.equal(await get(port, path, {}), 401, `${path} without credentials`);
      assert.equal(await get(port, path, { authorization: `Basic ${Buffer.from('admin:wrong-password').toString('base64')}` }), 401, `${path} with a wrong password`);
      assert.equal(await get(port, path, { authorization: basic, host: 'storage.example:9797' }), 200, `${path} with basic auth`);
      assert.equal(await get(port, path, { authorization: 'Bearer correct-horse-battery' }), 200, `${path} with the bearer token`);
    }
    assert.ok(!daemon.log().includes('correct-horse-battery'), 'the password is never logged');
  } finally {
    await daemon.stop();
  }

  const loopback = await startSoftraidd(space);
  try {
    const port = Number(/HTTP 127\.0\.0\.1:(\d+)/.exec(loopback.log())?.[1]);
    assert.equal(await get(port, '/status.json', { host: `127.0.0.1:${port}` }), 200);
    assert.equal(await get(port, '/status.json', { host: `localhost:${port}` }), 200);
    assert.equal(await get(port, '/status.json', { host: `rebound.example:${port}` }), 403);
  } finally {
    await loopback.stop();
  }
});
