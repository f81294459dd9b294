// CRYPTO and RAID 1C through the controller: creation with a passphrase or a
// key disk, assembly (wrong passphrase: nothing written), the KDF hint,
// bioctl -P, key disks at scan, and RAID 1C's rebuild of ciphertext.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { MiB } from '@openbsd38/libutil/units.js';
import { fixture, waitFor } from './fixture.test-helper.js';
import { testVault, xtsSector } from '../crypto/test-vault.test-helper.js';
import { dataOffsetBytesDefault, reservedRegionsDefault } from '../metadata/layout.js';
import { readKeyArea } from '../metadata/key-area.js';
import type { CreateRequest } from '@openbsd38/bio/controller.js';
import type { MemoryChunk } from '../../chunk/memory.js';

const passphrase = (text: string): Uint8Array => new TextEncoder().encode(text);

function request(level: CreateRequest['level'], chunkNames: string[], crypto: CreateRequest['crypto']): CreateRequest {
  return { level, chunkNames, force: false, noAutoAssemble: false, ...(crypto === undefined ? {} : { crypto }) };
}

/** A pattern of repeated 16-byte marks: easy to search for on a chunk. */
function markedPattern(sizeBytes: number): Uint8Array {
  const mark = new TextEncoder().encode('PLAINTEXT-MARK!!');
  const pattern = new Uint8Array(sizeBytes);
  for (let at = 0; at < sizeBytes; at += mark.length) pattern.set(mark, at);
  return pattern;
}

function holdsMark(chunk: MemoryChunk): boolean {
  return Buffer.from(chunk.durable).includes(Buffer.from('PLAINTEXT-MARK'));
}

test('CRYPTO: a passphrase volume holds ciphertext only, reopens with its passphrase, and a wrong one writes nothing', async () => {
  const vault = testVault();
  const { controller, chunks } = fixture({ a: 8 * MiB }, { keyVault: vault });
  const created = await controller.create(request('crypto', ['a'], { passphrase: passphrase('correct horse'), kdfRounds: 16 }));
  assert.equal(created.ok, true, JSON.stringify(created.messages));
  assert.deepEqual(created.messages.at(-1), { type: 'info', text: 'CRYPTO volume attached as sd0' });
  assert.equal(created.result!.noAutoAssemble, true, 'a passphrase volume never assembles by itself');
  const volume = controller.blockDevice('sd0')!;
  assert.equal(volume.sizeBytes, 7 * MiB);
  const pattern = markedPattern(volume.sizeBytes);
  await volume.write(0, pattern, { fua: false });
  await volume.flush();
  const a = chunks.get('a')!;
  assert.equal(holdsMark(a), false, 'no plaintext anywhere on the chunk');
  // The chunk holds XTS of the volume's sector numbers: sector 5 through OpenSSL's own XTS would need the
  // data keys, which never leave the vault; it differs from the plaintext and from sector 6's ciphertext.
  const sector = (n: number): Buffer => Buffer.from(a.durable.subarray(dataOffsetBytesDefault + n * 512, dataOffsetBytesDefault + (n + 1) * 512));
  assert.notDeepEqual(sector(5), sector(6), 'the tweak differs per sector');
  assert.equal(vault.liveCiphers, 1);
  assert.equal((await controller.detach('sd0')).ok, true);
  assert.equal(vault.liveCiphers, 0, 'detach destroys the keys');

  const before = Buffer.from(a.durable);
  const wrong = await controller.create(request('crypto', ['a'], { passphrase: passphrase('wrong horse') }));
  assert.equal(wrong.ok, false);
  assert.equal(wrong.messages.at(-1)!.text, 'incorrect key or passphrase');
  assert.ok(Buffer.from(a.durable).equals(before), 'a wrong passphrase leaves every byte of the chunk as it was');
  const none = await controller.create(request('crypto', ['a'], undefined));
  assert.match(none.messages.at(-1)!.text, /CRYPTO needs a passphrase or a key disk \(-k\), none given/);

  const hint = await controller.kdfHint(['a']);
  assert.deepEqual(hint.result, { existing: true, unlock: 'passphrase', kdfRounds: 16 });

  const opened = await controller.create(request('crypto', ['a'], { passphrase: passphrase('correct horse') }));
  assert.equal(opened.ok, true, JSON.stringify(opened.messages));
  assert.equal(opened.result!.noAutoAssemble, true, 'opened by its passphrase, still never assembled by itself');
  const readBack = new Uint8Array(pattern.length);
  await controller.blockDevice('sd0')!.read(0, readBack);
  assert.ok(Buffer.from(readBack).equals(Buffer.from(pattern)), 'the data reads back through the keys');
  const unaligned = controller.blockDevice('sd0')!.read(100, new Uint8Array(512));
  await assert.rejects(unaligned, /whole 512-byte sectors/);
});

test('CRYPTO: bioctl -P re-masks the same keys: data stays readable, the old passphrase stops working', async () => {
  const vault = testVault();
  const { controller, chunks } = fixture({ a: 4 * MiB }, { keyVault: vault });
  assert.equal((await controller.create(request('crypto', ['a'], { passphrase: passphrase('old one'), kdfRounds: 20 }))).ok, true);
  const pattern = randomFillSync(new Uint8Array(MiB));
  await controller.blockDevice('sd0')!.write(0, pattern, { fua: true });
  const dataBefore = Buffer.from(chunks.get('a')!.durable.subarray(dataOffsetBytesDefault));

  const wrongOld = await controller.changePassphrase('sd0', { oldPassphrase: passphrase('not it'), newPassphrase: passphrase('new one') });
  assert.equal(wrongOld.ok, false);
  assert.equal(wrongOld.messages.at(-1)!.text, 'incorrect key or passphrase');
  const changed = await controller.changePassphrase('sd0', { oldPassphrase: passphrase('old one'), newPassphrase: passphrase('new one') });
  assert.equal(changed.ok, true, JSON.stringify(changed.messages));
  assert.ok(Buffer.from(chunks.get('a')!.durable.subarray(dataOffsetBytesDefault)).equals(dataBefore), 'no data re-encrypted');
  const hint = await controller.kdfHint(['a']);
  assert.equal(hint.result!.kdfRounds, 20, 'auto rounds never go below the old ones');
  assert.equal((await controller.detach('sd0')).ok, true);

  const old = await controller.create(request('crypto', ['a'], { passphrase: passphrase('old one') }));
  assert.equal(old.messages.at(-1)!.text, 'incorrect key or passphrase', 'no slot keeps the keys under the old passphrase');
  const reopened = await controller.create(request('crypto', ['a'], { passphrase: passphrase('new one') }));
  assert.equal(reopened.ok, true, JSON.stringify(reopened.messages));
  const readBack = new Uint8Array(pattern.length);
  await controller.blockDevice('sd0')!.read(0, readBack);
  assert.ok(Buffer.from(readBack).equals(Buffer.from(pattern)));
});

test('CRYPTO with a key disk: assembles at scan when the key disk is there, not without it, not with another volume\'s', async () => {
  const vault = testVault();
  const { controller, chunks } = fixture({ a: 4 * MiB, key: 3 * MiB, b: 4 * MiB, key2: 3 * MiB }, { keyVault: vault });
  const created = await controller.create(request('crypto', ['a'], { keyDisk: 'key' }));
  assert.equal(created.ok, true, JSON.stringify(created.messages));
  assert.equal(created.result!.noAutoAssemble, false);
  assert.deepEqual(created.result!.keyDisk, { name: 'key' });
  assert.equal(vault.derivations, 0, 'a key disk needs no KDF');
  const pattern = markedPattern(MiB);
  await controller.blockDevice('sd0')!.write(0, pattern, { fua: true });
  assert.equal(holdsMark(chunks.get('a')!), false);
  assert.equal((await controller.create(request('crypto', ['b'], { keyDisk: 'key2' }))).ok, true);
  await controller.shutdown();

  // softraidd's next start: a new controller over the same chunks.
  const { controller: next } = fixture({}, { keyVault: vault, chunks });
  const keyInList = await next.create(request('crypto', ['key'], { keyDisk: 'key2' }));
  assert.match(keyInList.messages.at(-1)!.text, /key is a key disk, not a member of a volume: name it with -k/);
  const withoutKey = await next.scan(['a']);
  assert.deepEqual(withoutKey.result, []);
  assert.match(withoutKey.messages.map((m) => m.text).join('\n'), /sd0 is a CRYPTO volume unlocked by a key disk, which is not here: assemble it with bioctl -c C -k KEYDISK -l a softraid0/);
  const otherKey = await next.create(request('crypto', ['a'], { keyDisk: 'key2' }));
  assert.equal(otherKey.ok, false);
  assert.match(otherKey.messages.at(-1)!.text, /key disk key2 belongs to another volume/);
  const passphraseInstead = await next.create(request('crypto', ['a'], { passphrase: passphrase('x') }));
  assert.match(passphraseInstead.messages.at(-1)!.text, /unlocked by a key disk: name it with -k/);

  const scanned = await next.scan(['a', 'key']);
  assert.equal(scanned.result!.length, 1, JSON.stringify(scanned.messages));
  assert.deepEqual(scanned.result![0]!.keyDisk, { name: 'key' });
  const readBack = new Uint8Array(pattern.length);
  await next.blockDevice('sd0')!.read(0, readBack);
  assert.ok(Buffer.from(readBack).equals(Buffer.from(pattern)));
});

test('RAID 1C: mirrors hold the same ciphertext; a rebuild copies it without the keys and gives the new member the key area', async () => {
  const vault = testVault();
  const { controller, chunks, events } = fixture({ a: 6 * MiB, b: 6 * MiB, c: 6 * MiB }, { keyVault: vault });
  const created = await controller.create(request('raid1c', ['a', 'b'], { passphrase: passphrase('mirror'), kdfRounds: 16 }));
  assert.equal(created.ok, true, JSON.stringify(created.messages));
  assert.deepEqual(created.messages.at(-1), { type: 'info', text: 'RAID 1C volume attached as sd0' });
  const volume = controller.blockDevice('sd0')!;
  const pattern = markedPattern(volume.sizeBytes);
  await volume.write(0, pattern, { fua: true });
  const data = (name: string): Buffer => Buffer.from(chunks.get(name)!.durable.subarray(dataOffsetBytesDefault, dataOffsetBytesDefault + volume.sizeBytes));
  assert.ok(data('a').equals(data('b')), 'both mirrors hold the same ciphertext');
  assert.equal(holdsMark(chunks.get('a')!) || holdsMark(chunks.get('b')!), false);

  const derivationsBefore = vault.derivations;
  assert.equal((await controller.setOffline('sd0', 'b')).ok, true);
  const rebuilt = await controller.rebuild('sd0', 'c');
  assert.equal(rebuilt.ok, true, JSON.stringify(rebuilt.messages));
  await waitFor(() => events.some((event) => event.name === 'RebuildFinished'), 'the rebuild');
  assert.equal(vault.derivations, derivationsBefore, 'a rebuild needs no key');
  assert.ok(data('c').equals(data('a')), 'the rebuilt member holds the ciphertext, copied');
  assert.equal((await controller.detach('sd0')).ok, true);

  // The rebuilt member alone: its key area opens the volume (RAID 1C assembles with fewer chunks).
  const alone = await controller.create(request('raid1c', ['c'], { passphrase: passphrase('mirror') }));
  assert.equal(alone.ok, true, JSON.stringify(alone.messages));
  assert.equal(alone.result!.state, 'Degraded');
  const readBack = new Uint8Array(pattern.length);
  await controller.blockDevice('sd0')!.read(0, readBack);
  assert.ok(Buffer.from(readBack).equals(Buffer.from(pattern)));
});

test('encryption parameters: refused where they do not apply, and CRYPTO takes exactly one chunk', async () => {
  const { controller } = fixture({ a: 4 * MiB, b: 4 * MiB }, { keyVault: testVault() });
  const onRaid1 = await controller.create(request('raid1', ['a', 'b'], { passphrase: passphrase('x') }));
  assert.match(onRaid1.messages.at(-1)!.text, /RAID 1 is not encrypted: -k, -p, -s and -r apply to CRYPTO and RAID 1C only/);
  const two = await controller.create(request('crypto', ['a', 'b'], { passphrase: passphrase('x') }));
  assert.equal(two.ok, false);
  const rounds = await controller.create(request('crypto', ['a'], { passphrase: passphrase('x'), kdfRounds: 15 }));
  assert.match(rounds.messages.at(-1)!.text, /number of KDF rounds is too small: 15/);
  const blank = await controller.kdfHint(['a', 'b']);
  assert.deepEqual(blank.result, { existing: false, unlock: null, kdfRounds: null });
  const { controller: noVault } = fixture({ a: 4 * MiB });
  const refused = await noVault.create(request('crypto', ['a'], { passphrase: passphrase('x') }));
  assert.match(refused.messages.at(-1)!.text, /CRYPTO is not available here/);
});

test('test vault: its XTS is OpenSSL\'s sector by sector (the reference the engine tests trust)', () => {
  const keys = randomFillSync(new Uint8Array(2048));
  const plain = randomFillSync(new Uint8Array(512));
  const sealed = xtsSector(keys, 12345, plain, false);
  assert.notDeepEqual(Buffer.from(sealed), Buffer.from(plain));
  assert.deepEqual(Buffer.from(xtsSector(keys, 12345, sealed, true)), Buffer.from(plain));
});

test('a key disk or an encrypted member put to another use (-C force) keeps no key area', async () => {
  const { controller, chunks } = fixture({ a: 4 * MiB, key: 3 * MiB }, { keyVault: testVault() });
  assert.equal((await controller.create(request('crypto', ['a'], { keyDisk: 'key' }))).ok, true);
  assert.equal((await controller.detach('sd0')).ok, true);
  const region = reservedRegionsDefault.crypto;
  const opened = (name: string): MemoryChunk => {
    const chunk = chunks.get(name)!;
    chunk.reopen();
    return chunk;
  };
  assert.equal((await readKeyArea(opened('key'), region))?.kind, 'keydisk', 'the key disk holds the mask key');
  assert.equal((await readKeyArea(opened('a'), region))?.kind, 'volume');
  const reused = await controller.create({ level: 'raid1', chunkNames: ['key', 'a'], force: true, noAutoAssemble: false });
  assert.equal(reused.ok, true, JSON.stringify(reused.messages));
  assert.equal(await readKeyArea(opened('key'), region), null, 'no mask key left in the clear on a reused key disk');
  assert.equal(await readKeyArea(opened('a'), region), null, 'no masked keys left on a reused member');
});
