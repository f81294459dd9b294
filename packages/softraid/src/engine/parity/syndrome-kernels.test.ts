// The WebAssembly syndrome kernels — one per data strip count up to
// syndromeUnrolledStripsMax, the looping one beyond — against the bit-by-bit
// GF(2^8) reference (tests/sim/gf256-reference.ts) and the JS kernel, at
// lengths around the SIMD block and at odd byte offsets inside the arena,
// and with P and Q written over data strips (raid6Recover does that); both
// flavours (plain SIMD, and relaxed SIMD's laneselect, which the test runner
// turns on as softraidd does), and the self-test that keeps a kernel whose
// select is not x86's top-bit one from ever being used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededSource } from '@openbsd38/libutil/random.js';
import { ParityArena } from './arena.js';
import { parityKernel } from './index.js';
import { syndromeJs } from './raid6-js.js';
import {
  kernelBlockBytes, kernelFlavoursFastestFirst, parityModuleBytes, kernelsAgree, syndromeUnrolledStripsMax,
  type KernelFlavour,
} from './wasm-kernels.js';
import { gfMultiply, gfPowerOf2 } from '../../../tests/sim/gf256-reference.js';

const seed = Number(process.env.PARITY_SEED ?? Date.now() % 0x7fff_ffff);
console.log(`syndrome-kernels.test.ts seed ${seed} (PARITY_SEED=${seed} replays it)`);

const flavours: KernelFlavour[] = ['simd', 'relaxed-simd'];

function arena(flavour: KernelFlavour): ParityArena {
  const created = ParityArena.create({ capacityBytes: 64 * 1024 * 1024, flavour });
  assert.ok(created !== null, `this runtime runs the ${flavour} kernels`);
  assert.equal(created.flavour, flavour);
  return created;
}

function referenceSyndrome(data: readonly Uint8Array[], lengthBytes: number): [Uint8Array, Uint8Array] {
  const p = new Uint8Array(lengthBytes);
  const q = new Uint8Array(lengthBytes);
  data.forEach((strip, i) => {
    const coefficient = gfPowerOf2(i);
    for (let b = 0; b < lengthBytes; b++) {
      p[b]! ^= strip[b]!;
      q[b]! ^= gfMultiply(coefficient, strip[b]!);
    }
  });
  return [p, q];
}

/** A view of lengthBytes at byteOffset inside a fresh arena buffer. */
function viewAt(a: ParityArena, byteOffset: number, lengthBytes: number): Uint8Array {
  const buffer = a.alloc(byteOffset + lengthBytes);
  assert.ok(buffer !== null, 'arena has room');
  return buffer.subarray(byteOffset);
}

const lengths = [1, kernelBlockBytes - 1, kernelBlockBytes, kernelBlockBytes + 1, 3 * kernelBlockBytes + 17, 4096 + 13];
const counts = Array.from({ length: syndromeUnrolledStripsMax + 3 }, (_v, i) => i + 1);

for (const flavour of flavours) test(`${flavour} syndrome kernels: every strip count, odd lengths and offsets, equal the reference and the JS kernel`, () => {
  const random = seededSource(seed);
  const a = arena(flavour);
  for (const count of counts) {
    for (const lengthBytes of lengths) {
      const offsets = Array.from({ length: count + 2 }, () => random.below(kernelBlockBytes));
      const data = offsets.slice(0, count).map((offset) => random.fill(viewAt(a, offset, lengthBytes)));
      const p = random.fill(viewAt(a, offsets[count]!, lengthBytes));
      const q = random.fill(viewAt(a, offsets[count + 1]!, lengthBytes));
      a.syndrome(p, q, data);
      const [expectedP, expectedQ] = referenceSyndrome(data, lengthBytes);
      const context = `count ${count} length ${lengthBytes} offsets ${offsets.join(',')} seed ${seed}`;
      assert.deepEqual(p, expectedP, `P: ${context}`);
      assert.deepEqual(q, expectedQ, `Q: ${context}`);
      const [jsP, jsQ] = [new Uint8Array(lengthBytes), new Uint8Array(lengthBytes)];
      syndromeJs(jsP, jsQ, data);
      assert.deepEqual(jsQ, expectedQ, `JS Q: ${context}`);
    }
  }
});

for (const flavour of flavours) test(`${flavour} syndrome kernels: P and Q may be data strips themselves (same view)`, () => {
  const random = seededSource(seed + 1);
  const a = arena(flavour);
  for (const count of [2, 3, 5, syndromeUnrolledStripsMax, syndromeUnrolledStripsMax + 2]) {
    const lengthBytes = 2 * kernelBlockBytes + 5;
    const data = Array.from({ length: count }, () => random.fill(viewAt(a, 3, lengthBytes)));
    const [expectedP, expectedQ] = referenceSyndrome(data, lengthBytes);
    const [x, y] = [random.below(count), count - 1];
    const [p, q] = x === y ? [data[0]!, data[y]!] : [data[x]!, data[y]!];
    a.syndrome(p, q, data);
    assert.deepEqual(p, expectedP, `P over data ${x === y ? 0 : x}: count ${count} seed ${seed}`);
    assert.deepEqual(q, expectedQ, `Q over data ${y}: count ${count} seed ${seed}`);
  }
});

test('the fastest kernels that pass the self-test are chosen: relaxed SIMD on x86', () => {
  const chosen = ParityArena.create({ capacityBytes: 1024 * 1024 });
  assert.ok(chosen !== null);
  if (process.arch === 'x64') assert.equal(chosen.flavour, 'relaxed-simd');
  // The first of the flavours, fastest first, that this runtime runs correctly.
  const firstCorrect = kernelFlavoursFastestFirst.find((flavour) => ParityArena.create({ capacityBytes: 1024 * 1024, flavour }) !== null);
  assert.equal(chosen.flavour, firstCorrect);
  assert.equal(parityKernel, `wasm-${chosen.flavour}`);
});

/** `bytes` with every `from` replaced by `to` (the same length), and how many there were. */
function patched(bytes: Uint8Array, from: readonly number[], to: readonly number[]): { bytes: Uint8Array; count: number } {
  assert.equal(from.length, to.length);
  const out = Uint8Array.from(bytes);
  let count = 0;
  for (let i = 0; i + from.length <= out.length; i++) {
    if (from.every((byte, k) => out[i + k] === byte)) {
      out.set(to, i);
      count++;
    }
  }
  return { bytes: out, count };
}

test('the self-test rejects syndrome kernels whose select is bit by bit (as relaxed_laneselect on Arm)', () => {
  const memory = { minimumPages: 1, maximumPages: 16, shared: true };
  const bytes = parityModuleBytes(memory, 'relaxed-simd');
  assert.equal(kernelsAgree(new WebAssembly.Module(bytes), true), true);
  // i8x16.relaxed_laneselect (FD 89 02) → v128.bitselect (FD 52) and a nop
  // (01): the same length, and the select an Arm runtime may make of it.
  const selects = patched(bytes, [0xfd, 0x89, 0x02], [0xfd, 0x52, 0x01]);
  // One per unrolled vector in the looping kernel, and (n - 1) per vector in syndrome n.
  const perVector = 1 + Array.from({ length: syndromeUnrolledStripsMax }, (_v, n) => n).reduce((a, b) => a + b, 0);
  assert.equal(selects.count, perVector * (kernelBlockBytes / 16));
  assert.equal(WebAssembly.validate(selects.bytes), true);
  assert.equal(kernelsAgree(new WebAssembly.Module(selects.bytes), true), false);
});

test('the self-test rejects recovery kernels that compute something else', () => {
  const bytes = parityModuleBytes({ minimumPages: 1, maximumPages: 16, shared: true }, 'relaxed-simd');
  // i8x16.relaxed_swizzle (FD 80 02) → v128.xor (FD 51) and a nop: still valid, no longer c·x.
  const lookups = patched(bytes, [0xfd, 0x80, 0x02], [0xfd, 0x51, 0x01]);
  // Two per product: recover2 makes two products per vector, recover1 one.
  assert.equal(lookups.count, 2 * 3 * (kernelBlockBytes / 16));
  assert.equal(WebAssembly.validate(lookups.bytes), true);
  assert.equal(kernelsAgree(new WebAssembly.Module(lookups.bytes), true), false);
});
