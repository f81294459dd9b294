// The vault softraidd runs: its cipher against OpenSSL's own aes-256-xts one
// sector at a time (with the key slot each sector number selects, across a
// 512 GiB boundary), and the key scheme's round trip through the KeyVault
// interface, the KDF on its worker thread included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { xtsSector } from '../engine/crypto/test-vault.test-helper.js';
import { nodeKeyVault } from './key-vault.js';
import { VolumeCipher } from './volume-cipher.js';

test('VolumeCipher: equals OpenSSL sector by sector, across a data key boundary, in place or not', () => {
  const dataKeys = randomFillSync(new Uint8Array(2048));
  const cipher = new VolumeCipher(dataKeys);
  for (const firstSector of [0, 7, 2 ** 30 - 3, 5 * 2 ** 30 + 11, 32 * 2 ** 30 - 4]) {
    const sectors = 4;
    const plain = randomFillSync(new Uint8Array(sectors * 512));
    const sealed = new Uint8Array(plain.length);
    cipher.encryptSectors(firstSector, plain, sealed);
    for (let i = 0; i < sectors; i++) {
      const expected = xtsSector(dataKeys, firstSector + i, plain.subarray(i * 512, (i + 1) * 512), false);
      assert.deepEqual(Buffer.from(sealed.subarray(i * 512, (i + 1) * 512)), Buffer.from(expected), `sector ${firstSector + i}`);
    }
    const opened = sealed.slice();
    cipher.decryptSectors(firstSector, opened, opened);
    assert.deepEqual(Buffer.from(opened), Buffer.from(plain));
  }
  cipher.destroy();
  assert.throws(() => cipher.encryptSectors(0, new Uint8Array(512), new Uint8Array(512)), /after destroy/);
});

test('nodeKeyVault: keys masked under a bcrypt_pbkdf mask key open with the same passphrase only', async () => {
  const vault = nodeKeyVault();
  const salt = new Uint8Array(128);
  vault.randomBytes(salt);
  const passphrase = new TextEncoder().encode('correct horse');
  const maskKey = await vault.deriveMaskKey(passphrase, salt, 16);
  assert.equal(maskKey.length, 32);
  const dataKeys = vault.newDataKeys();
  const { maskedKeys, checkMac } = vault.maskDataKeys(dataKeys, maskKey);
  assert.deepEqual(vault.unmaskDataKeys(maskedKeys, checkMac, maskKey), dataKeys);
  const wrong = await vault.deriveMaskKey(new TextEncoder().encode('correct horsf'), salt, 16);
  assert.equal(vault.unmaskDataKeys(maskedKeys, checkMac, wrong), null);
  // Tuned off the event loop: about a second's worth here, never below 16 (a loaded machine gives fewer).
  const rounds = await vault.autoRounds();
  assert.ok(rounds >= 16 && rounds < 5000, `${rounds} rounds`);
});
