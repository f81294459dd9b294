// WASM == JS for the XOR kernels: random sizes and contents, odd offsets,
// buffers in the arena (in place), outside it (staged) and mixed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParityArena } from './arena.js';
import { xorInto, xorMany, allocParityBuffer, freeParityBuffer, parityArena } from './index.js';
import { seededSource as seededRandom, type RandomSource as Random } from '@openbsd38/libutil/random.js';
import { xorManyJs } from './raid6-js.js';
import { xorIntoJs } from './xor-js.js';

const seed = Number(process.env.PARITY_SEED ?? Date.now() % 0x7fff_ffff);
console.log(`xor.test.ts seed ${seed} (PARITY_SEED=${seed} replays it)`);
const MiB = 1024 * 1024;
const sizes = [0, 1, 15, 16, 17, 63, 64, 65, 127, 4095, 4096, 16 * 1024 + 3, 65536, MiB];

function arena(): ParityArena {
  const created = ParityArena.create({ capacityBytes: 64 * MiB });
  assert.ok(created !== null, 'this runtime has WebAssembly SIMD');
  return created;
}

/** A view of lengthBytes at a random (often odd) offset inside an arena slab. */
function arenaView(a: ParityArena, random: Random, lengthBytes: number): Uint8Array {
  const offset = random.below(5);
  const slab = a.alloc(lengthBytes + offset + 1);
  assert.ok(slab !== null);
  return random.fill(slab.subarray(offset, offset + lengthBytes));
}

function plainView(random: Random, lengthBytes: number): Uint8Array {
  const offset = random.below(5);
  return random.fill(new Uint8Array(lengthBytes + offset).subarray(offset));
}

test('xor: WASM xorInto in the arena equals JS for every size and offset', () => {
  const random = seededRandom(seed);
  const a = arena();
  for (const lengthBytes of [...sizes, random.below(200_000)]) {
    const target = arenaView(a, random, lengthBytes);
    const source = arenaView(a, random, lengthBytes);
    const expected = Uint8Array.from(target);
    xorIntoJs(expected, source);
    a.xorInto(target, source);
    assert.deepEqual(target, expected, `length ${lengthBytes} seed ${seed}`);
  }
});

test('xor: WASM xorMany with 1..9 sources equals JS, including target aliasing a source', () => {
  const random = seededRandom(seed + 1);
  const a = arena();
  for (const lengthBytes of [...sizes, random.below(100_000)]) {
    const count = 1 + random.below(9);
    const sources = Array.from({ length: count }, () => arenaView(a, random, lengthBytes));
    const target = arenaView(a, random, lengthBytes);
    const expected = new Uint8Array(lengthBytes);
    xorManyJs(expected, sources);
    a.xorMany(target, sources);
    assert.deepEqual(target, expected, `length ${lengthBytes} count ${count} seed ${seed}`);
    // target = target ^ others, with target listed among the sources (last).
    const others = sources.slice(1);
    const aliased = sources[0]!;
    const expectedAliased = Uint8Array.from(aliased);
    for (const other of others) xorIntoJs(expectedAliased, other);
    a.xorMany(aliased, [...others, aliased]);
    assert.deepEqual(aliased, expectedAliased, `aliased length ${lengthBytes} seed ${seed}`);
  }
});

test('xor: index API on plain, arena and mixed buffers equals JS', () => {
  const random = seededRandom(seed + 2);
  for (const lengthBytes of [...sizes, random.below(300_000)]) {
    for (const placement of ['plain', 'arena', 'mixed'] as const) {
      const make = (i: number): Uint8Array => {
        const inArena = placement === 'arena' || (placement === 'mixed' && i % 2 === 0);
        if (!inArena || parityArena === null) return plainView(random, lengthBytes);
        const buffer = allocParityBuffer(lengthBytes + 1).subarray(1);
        return random.fill(buffer);
      };
      const target = make(0);
      const source = make(1);
      const expected = Uint8Array.from(target);
      xorIntoJs(expected, source);
      xorInto(target, source);
      assert.deepEqual(target, expected, `xorInto ${placement} length ${lengthBytes} seed ${seed}`);
      const sources = [make(2), make(3), make(4)];
      const expectedMany = new Uint8Array(lengthBytes);
      xorManyJs(expectedMany, sources);
      xorMany(target, sources);
      assert.deepEqual(target, expectedMany, `xorMany ${placement} length ${lengthBytes} seed ${seed}`);
      xorMany(target, [target, ...sources]);
      assert.ok(target.every((byte) => byte === 0), `xorMany aliased ${placement} length ${lengthBytes} seed ${seed}`);
    }
  }
});

test('xor: a kernel that did nothing would fail these tests', () => {
  const random = seededRandom(seed + 3);
  const a = arena();
  const target = arenaView(a, random, 256);
  const before = Uint8Array.from(target);
  const source = arenaView(a, random, 256);
  source[100] = (target[100]! ^ 0xff) & 0xff; // guarantees a non-zero source byte
  a.xorInto(target, source);
  assert.notDeepEqual(target, before);
});

test('xor: allocParityBuffer/freeParityBuffer hand out arena buffers when WebAssembly SIMD exists', () => {
  const buffer = allocParityBuffer(4096);
  assert.equal(parityArena?.owns(buffer) ?? false, parityArena !== null);
  freeParityBuffer(buffer);
  freeParityBuffer(new Uint8Array(4)); // plain: ignored
});
