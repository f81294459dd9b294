import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { componentPattern, expandChunkNames, expandGlob } from './glob.js';

test('glob: component patterns follow the shell', () => {
  assert.ok(componentPattern('loop*').test('loop12'));
  assert.ok(!componentPattern('loop*').test('xloop1'));
  assert.ok(componentPattern('disk?.img').test('disk3.img'));
  assert.ok(!componentPattern('disk?.img').test('disk33.img'));
  assert.ok(componentPattern('disk[0-2].img').test('disk2.img'));
  assert.ok(!componentPattern('disk[0-2].img').test('disk3.img'));
  assert.ok(componentPattern('disk[!0].img').test('disk1.img'));
  assert.ok(!componentPattern('disk[!0].img').test('disk0.img'));
  assert.ok(!componentPattern('*').test('.hidden'));
  assert.ok(componentPattern('a.b+c').test('a.b+c') && !componentPattern('a.b+c').test('aXb+c'));
});

test('glob: expands existing paths, sorted; keeps NBD URIs and plain names', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'softraid-glob-'));
  try {
    await mkdir(join(dir, 'shelf1'));
    await mkdir(join(dir, 'shelf2'));
    for (const path of ['shelf1/d1.img', 'shelf1/d0.img', 'shelf2/d2.img', 'shelf2/notes.txt', 'shelf1/.d9.img']) {
      await writeFile(join(dir, path), '');
    }
    assert.deepEqual(await expandGlob(join(dir, 'shelf*/d*.img')),
      ['shelf1/d0.img', 'shelf1/d1.img', 'shelf2/d2.img'].map((path) => join(dir, path)));
    assert.deepEqual(await expandGlob(join(dir, 'none*/x')), []);
    const uri = 'nbd+unix:///sd0?socket=/run/x.sock';
    assert.deepEqual(await expandChunkNames([uri, join(dir, 'shelf1/d0.img'), join(dir, 'shelf1/d?.img')]),
      [uri, join(dir, 'shelf1/d0.img'), join(dir, 'shelf1/d1.img')]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
