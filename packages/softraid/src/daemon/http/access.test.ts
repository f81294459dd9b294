import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { checkListenAccess, decideAccess, HttpAccessError, isLoopbackHost, loadCredentials, parseCredentials } from './access.js';

const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`;
const request = (headers: Record<string, string>) => ({ headers });

test('credentials: one user:password line; the password at least 8 characters', () => {
  const credentials = parseCredentials('# for Prometheus\nprometheus:correct horse battery\n', 'auth');
  assert.equal(decideAccess(request({ authorization: basic('prometheus:correct horse battery') }), credentials).allowed, true);
  assert.throws(() => parseCredentials('', 'auth'), /auth: expected one user:password line, found 0/);
  assert.throws(() => parseCredentials('a:longenough\nb:longenough\n', 'auth'), /found 2/);
  assert.throws(() => parseCredentials('nocolonhere\n', 'auth'), /auth: expected user:password/);
  assert.throws(() => parseCredentials(':nousername1\n', 'auth'), /expected user:password/);
  assert.throws(() => parseCredentials('user:short\n', 'auth'), /at least 8 characters/);
});

test('credentials file: refused unless a regular file of this user that nobody else may read', () => {
  const directory = mkdtempSync(join(tmpdir(), 'http-auth-'));
  try {
    const file = join(directory, 'auth');
    writeFileSync(file, 'admin:s3cret-enough\n', { mode: 0o600 });
    assert.equal(decideAccess(request({ authorization: 'Bearer s3cret-enough' }), loadCredentials(file)).allowed, true);
    chmodSync(file, 0o644);
    assert.throws(() => loadCredentials(file), /mode 0644 lets others read it; chmod 600 it/);
    chmodSync(file, 0o600);
    chownSync(file, 65534, 65534);
    assert.throws(() => loadCredentials(file, 0), /owned by uid 65534, not by softraidd's user \(uid 0\)/);
    assert.throws(() => loadCredentials(directory), /not a regular file/);
    assert.throws(() => loadCredentials(join(directory, 'absent')), (error: Error) => error instanceof HttpAccessError && /absent: ENOENT/.test(error.message));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('a listener on another address than loopback needs credentials', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.doesNotThrow(() => checkListenAccess(host, 9797, null));
  assert.throws(() => checkListenAccess('0.0.0.0', 9797, null), /--http 0\.0\.0\.0:9797 is not a loopback address: .*--http-auth FILE/);
  assert.throws(() => checkListenAccess('::', 0, null), /--http \[::\]:0 is not a loopback address/);
  assert.throws(() => checkListenAccess('192.168.1.5', 9797, null), /not a loopback address/);
  assert.doesNotThrow(() => checkListenAccess('0.0.0.0', 9797, parseCredentials('u:password', 'f')));
  assert.equal(isLoopbackHost('128.0.0.1'), false);
  assert.equal(isLoopbackHost('127.evil.example'), false);
});

test('without credentials: only a loopback Host header is answered (no DNS rebinding)', () => {
  for (const host of ['127.0.0.1:9797', 'localhost:9797', 'LOCALHOST', '[::1]:9797', '127.0.0.1']) {
    assert.equal(decideAccess(request({ host }), null).allowed, true, host);
  }
  for (const host of ['evil.example:9797', 'evil.example', '127.0.0.1.evil.example', '[::1].evil', '']) {
    const decision = decideAccess(request({ host }), null);
    assert.equal(decision.allowed, false, host);
    assert.equal(!decision.allowed && decision.status, 403);
  }
  assert.equal(decideAccess(request({}), null).allowed, false);
});

test('with credentials: basic auth or the password as a bearer token, anything else 401 with a challenge', () => {
  const credentials = parseCredentials('admin:s3cret-enough', 'f');
  assert.equal(decideAccess(request({ authorization: basic('admin:s3cret-enough'), host: 'nas.example' }), credentials).allowed, true);
  assert.equal(decideAccess(request({ authorization: 'bearer s3cret-enough' }), credentials).allowed, true);
  for (const authorization of [basic('admin:wrong-password'), basic('other:s3cret-enough'), 'Bearer admin:s3cret-enough', 'Bearer wrong', 'Digest x', '']) {
    const decision = decideAccess(request({ authorization }), credentials);
    assert.equal(decision.allowed, false, authorization);
    assert.equal(!decision.allowed && decision.status, 401);
    assert.match(!decision.allowed ? decision.headers['www-authenticate'] ?? '' : '', /^Basic realm="softraidd"/);
  }
});

test('fuzz: random credentials files and Authorization headers never crash (3,000 cases)', () => {
  const random = seededRandom(0x5eed);
  const alphabet = 'ab:#\n\r \t\u00e9\u0000=+/Bearer Basic';
  const text = (length: number): string => Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
  const credentials = parseCredentials('admin:s3cret-enough', 'f');
  for (let round = 0; round < 3000; round++) {
    try {
      parseCredentials(text(Math.floor(random() * 40)), 'fuzz');
    } catch (error) {
      assert.ok(error instanceof HttpAccessError, String(error));
      assert.match(error.message, /^fuzz: /);
    }
    const decision = decideAccess(request({ authorization: text(Math.floor(random() * 60)), host: text(Math.floor(random() * 20)) }), credentials);
    assert.equal(decision.allowed, false);
  }
});
