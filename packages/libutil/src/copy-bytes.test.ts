import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyBytes, zeroBytes } from './copy-bytes.js';
import { AssertionError } from './assert.js';

function patterned(lengthBytes: number, shared: boolean, seed: number): Uint8Array {
  const bytes = new Uint8Array(shared ? new SharedArrayBuffer(lengthBytes) : new ArrayBuffer(lengthBytes));
  for (let index = 0; index < lengthBytes; index++) bytes[index] = (index * 7 + seed) & 0xff;
  return bytes;
}

test('copyBytes: the same bytes as TypedArray.set for every mix of shared and plain memory, offsets and lengths', () => {
  for (const targetShared of [false, true]) {
    for (const sourceShared of [false, true]) {
      for (const lengthBytes of [0, 1, 511, 512, 513, 4096, 65_536 + 3]) {
        for (const targetOffset of [0, 1, 1000]) {
          const source = patterned(lengthBytes + 20, sourceShared, 3).subarray(10, 10 + lengthBytes);
          const target = patterned(lengthBytes + 2000, targetShared, 99).subarray(5);
          const expected = Uint8Array.from(target);
          expected.set(source, targetOffset);
          copyBytes(target, source, targetOffset);
          assert.deepEqual(target, expected, `target shared ${targetShared}, source shared ${sourceShared}, ${lengthBytes} at ${targetOffset}`);
        }
      }
    }
  }
});

test('copyBytes: overlapping views of one buffer move like memmove; out of range is an assertion', () => {
  const bytes = patterned(8192, true, 1);
  const expected = Uint8Array.from(bytes);
  expected.set(expected.subarray(0, 4096), 1000);
  copyBytes(bytes, bytes.subarray(0, 4096), 1000);
  assert.deepEqual(bytes, expected);
  assert.throws(() => copyBytes(new Uint8Array(new SharedArrayBuffer(1000)), new Uint8Array(600), 500), AssertionError);
  assert.throws(() => copyBytes(new Uint8Array(1000), new Uint8Array(10), -1), AssertionError);
});

test('copyBytes: disjoint views of one shared buffer, either order, touching or apart', () => {
  for (const [sourceStart, targetStart] of [[0, 4096], [4096, 0], [0, 5000], [9000, 100]] as const) {
    const bytes = patterned(16_384, true, 5);
    const expected = Uint8Array.from(bytes);
    expected.set(expected.slice(sourceStart, sourceStart + 4096), targetStart);
    copyBytes(bytes.subarray(targetStart, targetStart + 4096), bytes.subarray(sourceStart, sourceStart + 4096));
    assert.deepEqual(bytes, expected, `${sourceStart} -> ${targetStart}`);
  }
});

test('zeroBytes: the same bytes as fill(0) on shared and plain memory, every range; out of range is an assertion', () => {
  for (const shared of [false, true]) {
    for (const [start, end] of [[0, 0], [0, 1], [3, 514], [0, 70_000], [100, 65_636], [69_999, 70_000]] as const) {
      const bytes = patterned(70_000, shared, 11);
      const expected = Uint8Array.from(bytes);
      expected.fill(0, start, end);
      zeroBytes(bytes, start, end);
      assert.deepEqual(bytes, expected, `shared ${shared}, [${start}, ${end})`);
    }
    const whole = patterned(4096, shared, 2);
    zeroBytes(whole);
    assert.ok(whole.every((byte) => byte === 0));
  }
  assert.throws(() => zeroBytes(new Uint8Array(new SharedArrayBuffer(1000)), 0, 1001), AssertionError);
  assert.throws(() => zeroBytes(new Uint8Array(1000), 10, 5), AssertionError);
});
