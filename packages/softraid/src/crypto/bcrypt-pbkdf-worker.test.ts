// bcryptPbkdfInWorker: the same key as bcryptPbkdf, computed off the calling
// thread (the event loop keeps running during the derivation), the caller's
// passphrase untouched, from source (this test, under tsx) and from dist (a
// child process running the compiled module, as softraidd does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bcryptPbkdf } from './bcrypt-pbkdf.js';
import { bcryptPbkdfInWorker } from './bcrypt-pbkdf-worker.js';

const execFileAsync = promisify(execFile);
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
// OpenBSD's regress vector (see bcrypt-pbkdf.test.ts).
const vectorKey = '5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9';

test('bcrypt-pbkdf-worker: the known key, and the caller\'s passphrase untouched', async () => {
  const passphrase = encode('password');
  const key = await bcryptPbkdfInWorker(passphrase, encode('salt'), 4, 32);
  assert.equal(Buffer.from(key).toString('hex'), vectorKey);
  assert.deepEqual(passphrase, encode('password'));
});

test('bcrypt-pbkdf-worker: the event loop keeps running during a derivation', async () => {
  const salt = encode('a salt of some length');
  const derivation = bcryptPbkdfInWorker(encode('correct horse'), salt, 48, 32);
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 5);
  const key = await derivation;
  clearInterval(timer);
  assert.ok(ticks >= 3, `only ${ticks} timer ticks during the derivation`);
  assert.deepEqual(key, bcryptPbkdf(encode('correct horse'), salt, 48, 32));
});

test('bcrypt-pbkdf-worker: several derivations at once each get their own key', async () => {
  const keys = await Promise.all([1, 2, 3].map((n) => bcryptPbkdfInWorker(encode(`pass ${n}`), encode('salt'), 2, 16)));
  for (const [index, key] of keys.entries()) {
    assert.deepEqual(key, bcryptPbkdf(encode(`pass ${index + 1}`), encode('salt'), 2, 16));
  }
});

test('bcrypt-pbkdf-worker: bad arguments fail in the caller, before any thread starts', async () => {
  await assert.rejects(bcryptPbkdfInWorker(new Uint8Array(0), encode('salt'), 4, 32), /empty passphrase/);
  await assert.rejects(bcryptPbkdfInWorker(encode('p'), encode('salt'), 0, 32), /0 rounds/);
  await assert.rejects(bcryptPbkdfInWorker(encode('p'), encode('salt'), 4, 1025), /1025 key bytes/);
});

test('bcrypt-pbkdf-worker: the compiled module in dist/ runs its compiled thread', async () => {
  const compiled = fileURLToPath(new URL('../../dist/src/crypto/bcrypt-pbkdf-worker.js', import.meta.url));
  assert.ok(existsSync(compiled), `${compiled} is missing: run npx tsc -b first`);
  const script = `import { bcryptPbkdfInWorker } from ${JSON.stringify(compiled)};
    const encode = (text) => new TextEncoder().encode(text);
    const key = await bcryptPbkdfInWorker(encode('password'), encode('salt'), 4, 32);
    console.log(Buffer.from(key).toString('hex'));`;
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
  assert.equal(stdout.trim(), vectorKey);
});
