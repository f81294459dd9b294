// bcrypt_pbkdf known answers: OpenBSD's regress test
// (regress/lib/libutil/bcrypt_pbkdf/bcrypt_pbkdf_test.c), as republished in
// RustCrypto's password-hashes, bcrypt-pbkdf/tests/test_vectors.rs
// ("test_openbsd_vectors"). Passphrases and salts with NUL bytes, outputs of
// 16, 32 and 64 bytes (stride 1 and 2), 4 to 42 rounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bcryptPbkdf, keyBytesMax, saltBytesMax } from './bcrypt-pbkdf.js';

const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'latin1'));
const lorem = 'Lorem ipsum dolor sit amet, consectetur adipisicing elit, '
  + 'sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. '
  + 'Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris '
  + 'nisi ut aliquip ex ea commodo consequat. '
  + 'Duis aute irure dolor in reprehenderit in voluptate velit esse cillum '
  + 'dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non '
  + 'proident, sunt in culpa qui officia deserunt mollit anim id est laborum.';

const vectors: { passphrase: string; salt: string; rounds: number; key: string }[] = [
  {
    passphrase: 'password', salt: 'salt', rounds: 4,
    key: '5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9',
  },
  { passphrase: 'password', salt: '\x00', rounds: 4, key: 'c12b566235eee04c212598970a579a67' },
  { passphrase: '\x00', salt: 'salt', rounds: 4, key: '6051be18c2f4f82cbf0efee5471b4bb9' },
  {
    passphrase: 'password\x00', salt: 'salt\x00', rounds: 4,
    key: '7410e44cf4fa07bfaac8a928b1727fac001375e7bf7384370f48efd121743050',
  },
  { passphrase: 'pass\x00wor', salt: 'sa\x00l', rounds: 4, key: 'c2bffd9db38f6569efef4372f4de83c0' },
  { passphrase: 'pass\x00word', salt: 'sa\x00lt', rounds: 4, key: '4ba4ac3925c0e8d7f0cdb6bb1684a56f' },
  {
    passphrase: 'password', salt: 'salt', rounds: 8,
    key: 'e1367ec5151a33faac4cc1c144cd23fa15d5548493ecc99b9b5d9c0d3b27bec7'
      + '6227ea66088b849b20ab7aa478010246e74bba51723fefa9f9474d6508845e8d',
  },
  { passphrase: 'password', salt: 'salt', rounds: 42, key: '833cf0dcf56db65608e8f0dc0ce882bd' },
  { passphrase: lorem, salt: 'salis\x00', rounds: 8, key: '10978b07253df57f71a162eb0e8ad30a' },
];

for (const [index, { passphrase, salt, rounds, key }] of vectors.entries()) {
  test(`bcrypt-pbkdf: OpenBSD regress vector ${index + 1} (${rounds} rounds, ${key.length / 2} bytes)`, () => {
    const pass = bytes(passphrase);
    const saltBytes = bytes(salt);
    const passBefore = Uint8Array.from(pass);
    assert.equal(Buffer.from(bcryptPbkdf(pass, saltBytes, rounds, key.length / 2)).toString('hex'), key);
    assert.deepEqual(pass, passBefore, 'the passphrase is not changed');
  });
}

test('bcrypt-pbkdf: a 64-byte key interleaves two blocks by stride 2: its even bytes are the 32-byte key', () => {
  const long = bcryptPbkdf(bytes('password'), bytes('salt'), 4, 64);
  const short = bcryptPbkdf(bytes('password'), bytes('salt'), 4, 32);
  // Stride 2 at 64 bytes: block 1 fills the even bytes; 32 bytes is block 1 alone.
  assert.deepEqual(long.filter((_b, i) => i % 2 === 0), short);
});

test('bcrypt-pbkdf: the passphrase is its bytes as given: UTF-8 and Latin-1 of the same text differ', () => {
  const text = 'pässwörd';
  const utf8 = new TextEncoder().encode(text);
  const latin1 = bytes(text);
  assert.notEqual(utf8.length, latin1.length);
  const salt = bytes('salt');
  assert.notDeepEqual(bcryptPbkdf(utf8, salt, 1, 32), bcryptPbkdf(latin1, salt, 1, 32));
  assert.deepEqual(bcryptPbkdf(utf8, salt, 1, 32), bcryptPbkdf(Uint8Array.from(utf8), salt, 1, 32));
});

test('bcrypt-pbkdf: rounds, key length, salt length and an empty passphrase are asserted', () => {
  const pass = bytes('password');
  const salt = bytes('salt');
  assert.throws(() => bcryptPbkdf(pass, salt, 0, 32), /0 rounds/);
  assert.throws(() => bcryptPbkdf(pass, salt, 1.5, 32), /rounds/);
  assert.throws(() => bcryptPbkdf(pass, salt, 1, 0), /0 key bytes/);
  assert.throws(() => bcryptPbkdf(pass, salt, 1, keyBytesMax + 1), /key bytes/);
  assert.throws(() => bcryptPbkdf(pass, new Uint8Array(0), 1, 32), /salt of 0 bytes/);
  assert.throws(() => bcryptPbkdf(pass, new Uint8Array(saltBytesMax + 1), 1, 32), /salt of/);
  assert.throws(() => bcryptPbkdf(new Uint8Array(0), salt, 1, 32), /empty passphrase/);
  assert.equal(bcryptPbkdf(pass, salt, 1, keyBytesMax).length, keyBytesMax);
});
